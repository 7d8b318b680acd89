"""Streamable HTTP transport edge cases, in process (TestClient)."""

from __future__ import annotations

import orjson
import pytest

from conduit import Conduit
from conduit.mcp import MCPServer
from conduit.testing.client import TestClient

H = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def make_client(**options):
    server = MCPServer("t")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    app = Conduit()
    endpoint = app.mount_mcp("/mcp", server, **options)
    return TestClient(app, base_url="http://localhost"), endpoint


def modern_headers(method, name=None, version="2026-07-28"):
    headers = dict(H, **{"mcp-protocol-version": version, "mcp-method": method})
    if name:
        headers["mcp-name"] = name
    return headers


def test_session_lifecycle():
    client, endpoint = make_client()
    with client:
        r = client.post("/mcp", headers=H, json=INIT)
        sid = r.headers["mcp-session-id"]
        h = dict(H, **{"mcp-session-id": sid})
        assert client.post("/mcp", headers=h, json={"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202
        r = client.post("/mcp", headers=h, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                  "params": {"name": "echo", "arguments": {"text": "hi"}}})
        assert r.json()["result"]["content"][0]["text"] == "hi"
        assert client.post("/mcp", headers=H, json={"jsonrpc": "2.0", "id": 3, "method": "ping"}).status_code == 400
        assert client.post("/mcp", headers=dict(H, **{"mcp-session-id": "nope"}),
                           json={"jsonrpc": "2.0", "id": 3, "method": "ping"}).status_code == 404
        assert client.delete("/mcp", headers=h).status_code == 200
        assert client.post("/mcp", headers=h, json={"jsonrpc": "2.0", "id": 4, "method": "ping"}).status_code == 404
        assert not endpoint.sessions.sessions


@pytest.mark.parametrize("body, status", [
    (b"{not json", 400),
    (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', 400),
    (b'{"jsonrpc":"1.0","id":1,"method":"initialize"}', 400),
])
def test_bad_bodies_are_refused_without_a_session(body, status):
    client, endpoint = make_client()
    with client:
        r = client.post("/mcp", headers=H, content=body)
        assert r.status_code == status
        assert r.json()["error"]["code"] in (-32700, -32600)
        assert not endpoint.sessions.sessions
        assert client.post("/mcp", headers=H, json=INIT).status_code == 200  # still serving


def test_huge_message_is_refused():
    client, _ = make_client(max_message_bytes=1000)
    with client:
        r = client.post("/mcp", headers=H, content=b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' +
                        b"a" * 5000 + b'"}}')
        assert r.status_code == 413


@pytest.mark.parametrize("headers, status", [
    ({"host": "evil.example"}, 421),
    ({"origin": "http://evil.example"}, 403),
    ({"origin": "http://localhost:3000"}, 200),
])
def test_dns_rebinding_protection(headers, status):
    client, _ = make_client()
    with client:
        assert client.post("/mcp", headers=dict(H, **headers), json=INIT).status_code == status


def test_allowed_hosts_behind_a_proxy():
    client, _ = make_client(allowed_hosts=["mcp.example.com"])
    with client:
        assert client.post("/mcp", headers=dict(H, host="mcp.example.com"), json=INIT).status_code == 200


def test_bearer_auth():
    client, endpoint = make_client(auth="s3cret")
    with client:
        r = client.post("/mcp", headers=H, json=INIT)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = client.post("/mcp", headers=dict(H, authorization="Bearer wrong"), json=INIT)
        assert r.status_code == 401 and not endpoint.sessions.sessions
        assert client.post("/mcp", headers=dict(H, authorization="Bearer s3cret"), json=INIT).status_code == 200


def test_modern_envelope_errors():
    client, _ = make_client()
    with client:
        ok = client.post("/mcp", headers=modern_headers("tools/call", "echo"), json={
            "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": META, "name": "echo",
                                                                         "arguments": {"text": "x"}}})
        assert ok.status_code == 200 and ok.json()["result"]["resultType"] == "complete"
        mismatch = client.post("/mcp", headers=modern_headers("tools/call", "other"), json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"_meta": META, "name": "echo"}})
        assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
        version = client.post("/mcp", headers=modern_headers("server/discover", version="2099-01-01"), json={
            "jsonrpc": "2.0", "id": 3, "method": "server/discover",
            "params": {"_meta": dict(META, **{"io.modelcontextprotocol/protocolVersion": "2099-01-01"})}})
        assert version.status_code == 400 and version.json()["error"]["code"] == -32022
        unknown = client.post("/mcp", headers=modern_headers("ping"), json={
            "jsonrpc": "2.0", "id": 4, "method": "ping", "params": {"_meta": META}})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == -32601


def test_stateless_mode_has_no_sessions_and_no_get():
    client, endpoint = make_client(stateless=True)
    with client:
        r = client.post("/mcp", headers=H, json=INIT)
        assert r.status_code == 200 and "mcp-session-id" not in r.headers
        r = client.post("/mcp", headers=H, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert r.json()["result"]["tools"][0]["name"] == "echo"
        assert client.get("/mcp", headers={"accept": "text/event-stream"}).status_code == 405
        assert not endpoint.sessions.sessions


BIG = 10**30 + 1


def test_integers_beyond_64_bits_survive_a_session_and_a_call():
    """The body parser keeps big integers exact, so everything that re-encodes a client's
    values (the session record, the requestState digest, the result) must write them."""
    server = MCPServer("t")

    @server.tool()
    async def double(n: int) -> int:
        return 2 * n

    app = Conduit()
    app.mount_mcp("/mcp", server)
    init = {**INIT, "params": {**INIT["params"], "clientInfo": {"name": "t", "version": "1", "build": BIG}}}
    with TestClient(app, base_url="http://localhost") as client:
        r = client.post("/mcp", headers=H, json=init)
        assert r.status_code == 200, r.text
        h = dict(H, **{"mcp-session-id": r.headers["mcp-session-id"]})
        r = client.post("/mcp", headers=h, content=b'{"jsonrpc": "2.0", "id": 2, "method": "tools/call", '
                        b'"params": {"name": "double", "arguments": {"n": %d}}}' % BIG)
        assert r.status_code == 200, r.text
        assert f'"result":{2 * BIG}' in r.text.replace(" ", "")  # exact, not 2e30
        modern = dict(H, **{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "double"})
        r = client.post("/mcp", headers=modern, content=b'{"jsonrpc": "2.0", "id": 3, "method": "tools/call", '
                        b'"params": {"name": "double", "arguments": {"n": %d}, "_meta": %s}}'
                        % (BIG, orjson.dumps(META)))
        assert r.status_code == 200, r.text
        assert str(2 * BIG) in r.text


def _modern_call(name, arguments, accept):
    headers = dict(modern_headers("tools/call", name), accept=accept)
    return headers, {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                     "params": {"name": name, "arguments": arguments, "_meta": META}}


def test_a_silent_call_without_a_session_is_json_when_quick_and_a_stream_when_slow():
    """2026-07-28: an async tool answered within stream_silent_after is JSON; one still silent after it
    is an SSE stream carrying the one response (so that closing it could cancel the tool)."""
    import trio

    server = MCPServer("t")

    @server.tool()
    async def nap(seconds: float) -> str:
        await trio.sleep(seconds)
        return f"slept {seconds}"

    app = Conduit()
    app.mount_mcp("/mcp", server, stream_silent_after=0.2)
    with TestClient(app, base_url="http://localhost") as client:
        headers, body = _modern_call("nap", {"seconds": 0.0}, H["accept"])
        quick = client.post("/mcp", headers=headers, json=body)
        assert quick.headers["content-type"].startswith("application/json")
        assert quick.json()["result"]["content"][0]["text"] == "slept 0.0"
        headers, body = _modern_call("nap", {"seconds": 0.6}, H["accept"])
        slow = client.post("/mcp", headers=headers, json=body)
        assert slow.headers["content-type"].startswith("text/event-stream")
        events = [orjson.loads(line[5:]) for line in slow.text.splitlines() if line.startswith("data:")]
        assert [e["result"]["content"][0]["text"] for e in events] == ["slept 0.6"] and events[0]["id"] == 7
        headers, body = _modern_call("nap", {"seconds": 0.6}, "application/json")  # a JSON-only client: JSON
        json_only = client.post("/mcp", headers=headers, json=body)
        assert json_only.headers["content-type"].startswith("application/json")
        assert json_only.json()["result"]["content"][0]["text"] == "slept 0.6"


@pytest.mark.parametrize("value", [-1, "1", None, True, float("nan")])
def test_stream_silent_after_refuses_what_is_not_a_number_of_seconds(value):
    with pytest.raises(ValueError, match="stream_silent_after"):
        Conduit().mount_mcp("/mcp", MCPServer("t"), stream_silent_after=value)
