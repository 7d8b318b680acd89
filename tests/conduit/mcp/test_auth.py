"""MCP authorization as an OAuth 2.1 resource server, on the real server over 127.0.0.1.

The test is its own authorization server: it makes RSA keys, serves their JWKS over
HTTP on 127.0.0.1 and mints JWT access tokens with PyJWT. Checked: RFC 9728 metadata at
the well-known paths; 401 + ``WWW-Authenticate: Bearer resource_metadata=…`` for a
missing, forged, expired, wrong-issuer or wrong-audience token; 403 ``insufficient_scope``
for a tool's scopes; a callable verifier; the official SDK client with a bearer token.
"""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

jwt = pytest.importorskip("jwt", reason="jwt is in the test extra (./dev test installs it)")
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from conduit import Conduit  # noqa: E402
from conduit.mcp import MCPServer  # noqa: E402
from conduit.mcp.auth import AccessToken, InvalidToken, JWTVerifier, ResourceServer  # noqa: E402
from conduit.testing.client import LiveServer  # noqa: E402
from mcp_http_helpers import HEADERS, INIT, post  # noqa: E402

ISSUER = "https://auth.example.test"
RESOURCE = "https://mcp.example.test/mcp"
METADATA_URL = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp"


class Issuer:
    """Keys, a JWKS served on 127.0.0.1, and a token minter."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        body = json.dumps(self.jwks).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def mint(self, *, scope: str = "mcp", issuer: str = ISSUER, audience: str = RESOURCE, expires_in: int = 300,
             key=None, kid: str = "k1", subject: str = "user-1") -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + expires_in,
                  "scope": scope, "client_id": "test-client"}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def issuer():
    made = Issuer()
    yield made
    made.close()


def make_app(verifier, **options):
    mcp = MCPServer("guarded")

    @mcp.tool()
    def whoami() -> str:
        return "ok"

    @mcp.tool(scopes=["files:write"])
    def write_file(name: str) -> str:
        return f"wrote {name}"

    app = Conduit()
    auth = ResourceServer(RESOURCE, [ISSUER], verifier, scopes_supported=["mcp", "files:write"], **options)
    app.mount_mcp("/mcp", mcp, auth=auth)
    return app




@pytest.mark.parametrize("verifier_kind", ["jwks-url", "jwks-dict"])
def test_resource_server_with_jwt_tokens(issuer, verifier_kind):
    import httpx

    jwks = issuer.jwks_url if verifier_kind == "jwks-url" else issuer.jwks
    app = make_app(JWTVerifier(issuer=ISSUER, jwks=jwks), required_scopes=["mcp"])
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            doc = client.get(server.url + path).json()
            assert doc == {"resource": RESOURCE, "authorization_servers": [ISSUER],
                           "bearer_methods_supported": ["header"], "scopes_supported": ["mcp", "files:write"]}
        missing = post(client, url, INIT)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA_URL}", scope="mcp"'
        for bad in (issuer.mint(key=issuer.rogue), issuer.mint(expires_in=-120), issuer.mint(issuer="https://evil"),
                    issuer.mint(audience="https://other.example/mcp"), "not-a-jwt", issuer.mint(kid="unknown")):
            refused = post(client, url, INIT, bad)
            assert refused.status_code == 401, refused.text
            challenge = refused.headers["www-authenticate"]
            assert challenge.startswith(f'Bearer resource_metadata="{METADATA_URL}"')
            assert 'error="invalid_token"' in challenge
        no_mcp_scope = post(client, url, INIT, issuer.mint(scope="other"))
        assert no_mcp_scope.status_code == 403
        assert 'error="insufficient_scope"' in no_mcp_scope.headers["www-authenticate"]
        token = issuer.mint(scope="mcp")
        init = post(client, url, INIT, token)
        assert init.status_code == 200
        session = init.headers["mcp-session-id"]
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
        assert post(client, url, call, token, session).json()["result"]["content"][0]["text"] == "ok"
        write = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                 "params": {"name": "write_file", "arguments": {"name": "a.txt"}}}
        denied = post(client, url, write, token, session)
        assert denied.status_code == 403
        assert denied.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{METADATA_URL}", scope="files:write mcp", error="insufficient_scope"')
        assert denied.json()["error"]["code"] == -32600
        writer = issuer.mint(scope="mcp files:write")
        allowed = post(client, url, write, writer, session)
        assert allowed.json()["result"]["content"][0]["text"] == "wrote a.txt"


def test_callable_verifier_and_in_band_scope_check(issuer):
    import anyio
    import httpx

    async def verify(token: str) -> AccessToken | None:
        if token == "reader":
            return AccessToken(subject="r", scopes=frozenset({"mcp"}))
        if token == "writer":
            return AccessToken(subject="w", scopes=frozenset({"mcp", "files:write"}))
        if token == "explode":
            raise InvalidToken("revoked")
        return None

    app = make_app(verify)
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        assert post(client, url, INIT, "nobody").status_code == 401
        revoked = post(client, url, INIT, "explode")
        assert revoked.status_code == 401 and 'error_description="revoked"' in revoked.headers["www-authenticate"]
        meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}
        headers = {"accept": "application/json", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
                   "mcp-name": "write_file", "authorization": "Bearer reader"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "write_file", "arguments": {"name": "b"}, "_meta": meta}}
        assert client.post(url, json=body, headers=headers).status_code == 403
        headers["authorization"] = "Bearer writer"
        assert client.post(url, json=body, headers=headers).json()["result"]["content"][0]["text"] == "wrote b"
        opened = post(client, url, INIT, "reader")
        session = opened.headers["mcp-session-id"]
        ping = {"jsonrpc": "2.0", "id": 5, "method": "ping", "params": {}}
        assert post(client, url, ping, "reader", session).status_code == 200
        hijack = post(client, url, ping, "writer", session)  # another subject: the session does not exist
        assert hijack.status_code == 404 and hijack.json()["error"]["code"] == -32001

        async def sdk():
            import httpx2
            from mcp import Client
            from mcp.client.streamable_http import streamable_http_client

            http_client = httpx2.AsyncClient(headers={"authorization": "Bearer writer"}, timeout=30)
            async with http_client, Client(streamable_http_client(url, http_client=http_client),
                                            mode="legacy") as session:
                result = await session.call_tool("write_file", {"name": "sdk.txt"})
                assert result.content[0].text == "wrote sdk.txt"

        anyio.run(sdk)


def test_resource_server_refuses_bad_configuration():
    with pytest.raises(ValueError, match="absolute http"):
        ResourceServer("mcp.example/mcp", [ISSUER], lambda t: None)
    with pytest.raises(ValueError, match="authorization server"):
        ResourceServer(RESOURCE, [], lambda t: None)
    with pytest.raises(ValueError, match="JWKS"):
        JWTVerifier(issuer=ISSUER, jwks={"not": "keys"})
    with pytest.raises(ValueError, match="scopes"):
        MCPServer("x").add_tool(lambda: 1, name="t", scopes="files:write")
