"""One table of HTTP cases, the same answer from every face (native, uvicorn, granian, TestClient).

Each test is one row of the table; the ``face`` fixture runs the module once per face
with a real httpx client. The attacks of issue 21 that these rows answer: no limits
and no handler timeout under ASGI, Content-Length on a 204 under ASGI, TestClient
passing a 3 MB upload and an invalid response header that the server refuses,
VectorInputError answered 500, a stream that fails mid-way ending cleanly.
"""

from __future__ import annotations

import httpx
import pytest


def _error(response: httpx.Response) -> dict:
    body = response.json()["error"]
    assert body["status"] == response.status_code
    return body


def test_auth_refused(http):
    response = http.get("/private")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "secret" not in response.text


def test_auth_accepted(http):
    assert http.get("/private", headers={"x-api-key": "reader-key"}).json() == {"secret": 42}


def test_scope_refused(http):
    response = http.get("/admin", headers={"x-api-key": "reader-key"})
    assert response.status_code == 403
    assert "admin" in _error(response)["detail"]
    assert http.get("/admin", headers={"x-api-key": "admin-key"}).json() == {"admin": True}


def test_body_over_the_route_limit(http):
    assert http.post("/small", content=b"x" * 1000).json() == {"bytes": 1000}
    response = http.post("/small", content=b"x" * 5000, headers={"x-request-id": "trace-413"})
    assert response.status_code == 413
    assert "1000" in _error(response)["detail"]
    assert _error(response)["request_id"] == "trace-413"


def test_body_over_the_route_limit_streamed_without_length(http):
    def chunks():
        for _ in range(5):
            yield b"x" * 1000
    assert http.post("/small", content=chunks()).status_code == 413


def test_body_over_the_default_limit(http):
    """A 3 MB multipart upload to a route with no limit of its own: the app's 1 MiB applies."""
    response = http.post("/upload", files={"file": ("big.bin", b"x" * 3_000_000)})
    assert response.status_code == 413
    assert http.post("/upload", files={"file": ("small.bin", b"x" * 100_000)}).json() == {"fields": ["file"]}


@pytest.mark.parametrize("size", [5_000_000, 40_000_000])
def test_large_bodies_over_the_default_limit(http, size):
    assert http.post("/echo", content=b"x" * size).status_code == 413


def test_handler_timeout(http):
    response = http.get("/slow", headers={"x-request-id": "trace-504"})
    assert response.status_code == 504
    assert _error(response)["detail"] == "the handler did not finish in time"
    assert _error(response)["request_id"] == "trace-504"


def test_sync_handler_timeout(http):
    assert http.get("/slow-sync").status_code == 504


def test_invalid_response_header(http):
    response = http.get("/bad-header", headers={"x-request-id": "trace-500"})
    assert response.status_code == 500
    assert _error(response)["request_id"] == "trace-500"
    assert "set-cookie" not in response.headers
    assert "x-injected" not in response.headers


def test_no_content_framing(http):
    response = http.get("/empty")
    assert response.status_code == 204
    assert "content-length" not in response.headers
    assert response.headers["x-kind"] == "empty"
    assert response.content == b""
    not_modified = http.get("/not-modified")
    assert not_modified.status_code == 304
    assert "content-length" not in not_modified.headers


def test_head_framing(http):
    whole = http.get("/hello")
    head = http.head("/hello")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(whole.content))


def test_a_stream_arrives_whole(http):
    assert http.get("/stream").text == "chunk 0\nchunk 1\nchunk 2\n"


def test_failing_stream(http):
    """A producer that raises mid-way: the body is cut short, never framed as complete."""
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/failing-stream")
    assert http.get("/hello").status_code == 200  # the face keeps serving


def test_error_carrying_its_status(http):
    response = http.get("/vector-error")
    assert response.status_code == 422
    assert "k must be at least 1" in _error(response)["detail"]


def test_unknown_path_and_method(http):
    assert http.get("/nope").status_code == 404
    response = http.delete("/hello")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]

