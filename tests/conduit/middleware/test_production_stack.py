"""The built-in middleware checked by behaviour over a real socket (LiveServer + httpx)."""

from __future__ import annotations

import gzip as gzip_module
import logging

import httpx
import orjson
import pytest

from conduit import Conduit, HTTPError, Request
from conduit.exceptions import ValidationError
from conduit.middleware import (
    CORS,
    AccessLog,
    APIKeyAuth,
    GZip,
    RateLimit,
    RequestID,
    SecurityHeaders,
    TrustedHosts,
    after_response,
    before_request,
    by_api_key,
    load_api_keys,
)
from conduit.observability import install
from conduit.testing.client import LiveServer

KEYS = {"reader-key-123": ["read"], "admin-key-456": ["read", "admin"]}


def _app() -> Conduit:
    app = Conduit()
    auth = APIKeyAuth(KEYS, exclude=("/health", "/ready", "/public", "/limited", "/big", "/boom", "/hooked"))
    app.add_middleware(RequestID())
    app.add_middleware(AccessLog())
    install(app)
    app.add_middleware(TrustedHosts(["127.0.0.1", "*.example.com"]))
    app.add_middleware(SecurityHeaders(hsts_max_age=31536000, content_security_policy="default-src 'self'"))
    app.add_middleware(CORS(["https://app.example.com"], allow_headers=["x-api-key", "content-type"],
                            allow_credentials=True, expose_headers=["x-request-id"], max_age=321))
    app.add_middleware(auth)
    app.add_middleware(GZip(minimum_size=500))

    limited = RateLimit(3, 60.0)

    @app.get("/public")
    async def public():
        return {"ok": True}

    @app.get("/limited", middleware=[limited])
    async def limited_route():
        return "fine"

    @app.get("/items")
    async def items(request: Request):
        return {"key": request.state.api_key_id, "scopes": sorted(request.state.scopes)}

    @app.delete("/items", middleware=[auth.requires("admin")])
    async def delete_items():
        return None

    @app.get("/big")
    async def big():
        return {"rows": ["x" * 50] * 100}

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    @app.get("/invalid")
    async def invalid():
        raise ValidationError([{"loc": "query.k", "msg": "must be >= 1"}])

    seen = []

    @app.get("/hooked", middleware=[before_request(lambda r: seen.append(r.path)),
                                    after_response(lambda r, resp: resp.headers.append(("x-hooked", "1")))])
    def hooked():
        return {"seen": list(seen)}

    @app.exception_handler(409)
    def conflict(request, exc):
        return {"custom": exc.detail}

    @app.get("/conflict")
    async def conflict_route():
        raise HTTPError(409, "already there")

    return app


@pytest.fixture(scope="module")
def server():
    with LiveServer(_app()) as live:
        yield live


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "type", "detail", "request_id"}
    assert body["error"]["status"] == response.status_code
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


# ------------------------------------------------------------- error shape

def test_error_shape_is_the_same_everywhere(client):
    assert _error(client.get("/nope", headers={"x-api-key": "reader-key-123"}))["type"] == "not_found"
    assert _error(client.post("/public"))["type"] == "method_not_allowed"
    err = _error(client.get("/boom"))
    assert err["type"] == "internal_server_error" and "secret" not in str(err)
    err = _error(client.get("/invalid", headers={"x-api-key": "reader-key-123"}))
    assert err["status"] == 422 and err["detail"][0]["loc"] == ["query", "k"]
    assert client.get("/conflict", headers={"x-api-key": "reader-key-123"}).json() == {"custom": "already there"}


def test_request_id_is_accepted_or_generated(client):
    assert client.get("/public", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/public", headers={"x-request-id": "bad id\twith spaces"}).headers["x-request-id"]
    assert generated != "bad id\twith spaces" and len(generated) == 32
    assert _error(client.get("/items"))["request_id"]  # the 401 carries it too


# ------------------------------------------------------------------- auth

def test_auth_missing_invalid_valid_and_scopes(client):
    missing = client.get("/items")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Bearer realm="conduit"')
    invalid = client.get("/items", headers={"x-api-key": "wrong"})
    assert invalid.status_code == 401 and 'error="invalid_token"' in invalid.headers["www-authenticate"]
    assert "wrong" not in invalid.text
    ok = client.get("/items", headers={"x-api-key": "reader-key-123"})
    assert ok.json() == {"key": "key-1", "scopes": ["read"]}
    bearer = client.get("/items", headers={"authorization": "Bearer admin-key-456"})
    assert bearer.json()["key"] == "key-2"
    forbidden = client.delete("/items", headers={"x-api-key": "reader-key-123"})
    assert forbidden.status_code == 403
    assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
    assert client.delete("/items", headers={"x-api-key": "admin-key-456"}).status_code == 204
    assert client.get("/health").status_code == 200  # excluded path


def test_keys_are_never_logged(server, caplog):
    with caplog.at_level(logging.DEBUG):
        httpx.get(server.url + "/items", headers={"x-api-key": "reader-key-123"})
        httpx.get(server.url + "/items", headers={"x-api-key": "guess-this"})
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "reader-key-123" not in text and "guess-this" not in text
    assert "reader-key-123" not in repr(APIKeyAuth(KEYS))


def test_keys_from_env_and_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CONDUIT_API_KEYS", "k1:read write, k2")
    path = tmp_path / "keys.txt"
    path.write_text("# comment\nk3:admin\n")
    keys = load_api_keys(file=path)
    assert keys == {"k1": frozenset({"read", "write"}), "k2": frozenset(), "k3": frozenset({"admin"})}
    monkeypatch.delenv("CONDUIT_API_KEYS")
    with pytest.raises(ValueError):
        APIKeyAuth()


# ------------------------------------------------------------- rate limit

def test_rate_limit_429_with_retry_after_and_headers(client):
    answers = [client.get("/limited") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "3"
    assert [a.headers["ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["ratelimit-policy"] == "3;w=60"
    refused = answers[3]
    assert int(refused.headers["retry-after"]) >= 1 and "ratelimit-reset" in refused.headers
    assert _error(refused)["type"] == "too_many_requests"
    assert client.get("/public").status_code == 200  # other routes are not limited


def test_memory_backend_stays_bounded():
    from conduit.middleware import MemoryBackend

    backend = MemoryBackend(max_keys=1000)
    for i in range(50_000):
        backend.take(f"client-{i}", 10, 1.0, now=float(i))
    assert len(backend) == 1000


def test_rate_limit_by_api_key_hashes_the_key():
    from conduit.http import Headers

    request = Request("GET", b"/", headers=Headers.from_pairs([("x-api-key", "s3cret")]), client=("1.2.3.4", 1))
    key = by_api_key()(request)
    assert key.startswith("key:") and "s3cret" not in key
    assert by_api_key()(Request("GET", b"/", client=("1.2.3.4", 1))) == "1.2.3.4"


# ------------------------------------------------------------------- CORS

def test_cors_preflight_allowed(client):
    response = client.options("/items", headers={
        "origin": "https://app.example.com", "access-control-request-method": "DELETE",
        "access-control-request-headers": "X-API-Key"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "DELETE" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "x-api-key"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "321"
    vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
    assert {"origin", "access-control-request-method", "access-control-request-headers"} <= vary


def test_cors_preflight_refused(client):
    for headers in ({"origin": "https://evil.example.org", "access-control-request-method": "GET"},
                    {"origin": "https://app.example.com", "access-control-request-method": "GET",
                     "access-control-request-headers": "x-forbidden"}):
        response = client.options("/items", headers=headers)
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers


def test_cors_simple_request_headers_and_vary(client):
    response = client.get("/public", headers={"origin": "https://app.example.com"})
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-expose-headers"] == "x-request-id"
    assert "origin" in response.headers["vary"].lower()
    other = client.get("/public", headers={"origin": "https://evil.example.org"})
    assert "access-control-allow-origin" not in other.headers and "origin" in other.headers["vary"].lower()


# ------------------------------------------------ headers, gzip, hosts, hooks

def test_security_headers(client):
    headers = client.get("/public").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert headers["content-security-policy"] == "default-src 'self'"


def test_gzip_large_compressible_bodies_only(server):
    raw = httpx.get(server.url + "/big", headers={"accept-encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip" and "accept-encoding" in raw.headers["vary"].lower()
    assert orjson.loads(raw.content)["rows"][0] == "x" * 50  # httpx decoded it
    plain = httpx.get(server.url + "/big", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    small = httpx.get(server.url + "/public", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers
    assert gzip_module.decompress(gzip_module.compress(b"x")) == b"x"


def test_trusted_hosts(server):
    ok = httpx.get(server.url + "/public", headers={"host": "api.example.com"})
    assert ok.status_code == 200
    bad = httpx.get(server.url + "/public", headers={"host": "evil.test"})
    assert bad.status_code == 400 and bad.json()["error"]["detail"] == "invalid Host header"
    apex = httpx.get(server.url + "/public", headers={"host": "example.com:8080"})
    assert apex.status_code == 400


def test_before_and_after_hooks(client):
    response = client.get("/hooked")
    assert response.headers["x-hooked"] == "1" and "/hooked" in response.json()["seen"]


def test_access_log_one_structured_line(server, caplog):
    with caplog.at_level(logging.INFO, logger="conduit.access"):
        httpx.get(server.url + "/public?token=secret", headers={"x-request-id": "log-me"})
    lines = [r for r in caplog.records if r.name == "conduit.access" and r.access["request_id"] == "log-me"]
    assert len(lines) == 1
    entry = orjson.loads(lines[0].getMessage())
    assert entry["status"] == 200 and entry["route"] == "/public" and entry["path"] == "/public"
    assert "secret" not in lines[0].getMessage()


# ---------------------------------------------------------- observability

def test_metrics_health_ready(client):
    client.get("/public")
    client.get("/definitely/not/here/12345")
    text = client.get("/metrics", headers={"x-api-key": "admin-key-456"}).text  # behind auth
    assert 'conduit_requests_total{method="GET",route="/public",status="200"}' in text
    assert 'route="<unmatched>"' in text and "/definitely/not/here" not in text
    assert "conduit_request_duration_seconds_bucket" in text and "conduit_requests_in_flight" in text
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"ready": True, "status": "ready"}
