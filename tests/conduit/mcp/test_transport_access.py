"""Issue 21: every MCP transport takes its caller from one gate (``transports/access.py``).

Attacks, each a test named after it, on the real server over 127.0.0.1 with real
clients (httpx, the official SDK's legacy ``sse_client`` and its stdio client):

* legacy SSE ignored tool scopes: a token with scope ``mcp`` calls a tool declared
  ``scopes=["admin"]`` over ``/messages``; now refused as over Streamable HTTP (403, the
  same body) and the SDK client gets the JSON-RPC error;
* legacy SSE sessions were not bound: another token that knows the session id posted
  into it; now 404, as on Streamable HTTP (also with a bearer-verifier function, where the
  token itself is the identity);
* legacy SSE queued without bound for a client that never reads; now it is disconnected
  and what was queued is dropped with a log line, and the server keeps serving;
* stdio had no principal: the token now comes from ``MCP_ACCESS_TOKEN`` through the same
  gate, its scopes apply, and a refused token stops the server before it reads.
"""

from __future__ import annotations

import logging
import os
import pathlib
import re
import socket
import subprocess
import sys
import time

import anyio
import httpx
import pytest

mcp_sdk = pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")

from conduit import Conduit  # noqa: E402
from conduit.mcp import MCPServer  # noqa: E402
from conduit.mcp.auth import AccessToken, ResourceServer  # noqa: E402
from conduit.testing.client import LiveServer  # noqa: E402
from mcp_http_helpers import HEADERS, INIT  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
RESOURCE = "https://mcp.example.test/mcp"
ISSUER = "https://auth.example.test"
ADMIN_CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "admin_tool", "arguments": {}}}


async def verify(token: str) -> AccessToken | None:
    """Two principals: ``reader`` (scope mcp) and ``admin`` (mcp admin)."""
    if token == "reader":
        return AccessToken(subject="reader", scopes=frozenset({"mcp"}))
    if token == "admin":
        return AccessToken(subject="admin", scopes=frozenset({"mcp", "admin"}))
    return None


def guarded_app(auth=None, **options):
    """An app whose ``admin_tool`` needs scope admin and records each run in ``app.state.ran``."""
    mcp = MCPServer("guarded")
    ran: list[str] = []

    @mcp.tool(scopes=["admin"])
    def admin_tool() -> str:
        ran.append("admin_tool")
        return "admin work done"

    @mcp.tool()
    def echo(text: str) -> str:
        return text

    @mcp.tool()
    def blob(size: int) -> str:
        return "x" * size

    app = Conduit()
    app.mount_mcp("/mcp", mcp, legacy_sse=True,
                  auth=auth if auth is not None else ResourceServer(RESOURCE, [ISSUER], verify), **options)
    app.state.ran = ran
    return app


class NotAdmitted(Exception):
    """The /sse stream was refused (its status is the argument)."""


class LegacyStream:
    """A raw legacy SSE stream over httpx: the endpoint, then the ``message`` events."""

    def __init__(self, client: httpx.Client, url: str, token: str | None) -> None:
        headers = {"accept": "text/event-stream"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._context = client.stream("GET", url + "/sse", headers=headers)
        self.response = self._context.__enter__()
        if self.response.status_code != 200:
            self.close()
            raise NotAdmitted(self.response.status_code)
        self.lines = self.response.iter_lines()
        self.endpoint = next(line for line in self.lines if line.startswith("data:"))[5:].strip()

    def next_message(self) -> dict:
        import json
        return json.loads(next(line for line in self.lines if line.startswith("data:"))[5:])

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def post_legacy(client, url, endpoint, message, token):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return client.post(url + endpoint, json=message, headers=headers)


# ------------------------------------------------------------------ scopes over legacy SSE
def test_legacy_sse_refuses_a_tool_scope_the_token_lacks_as_streamable_http_does():
    app = guarded_app()
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url
        # Streamable HTTP: the reference answer.
        init = client.post(url + "/mcp", json=INIT, headers={**HEADERS, "authorization": "Bearer reader"})
        session = init.headers["mcp-session-id"]
        modern = client.post(url + "/mcp", json=ADMIN_CALL,
                             headers={**HEADERS, "authorization": "Bearer reader", "mcp-session-id": session})
        assert modern.status_code == 403
        # Legacy SSE: the same status, challenge and body; the stream carries the same error.
        stream = LegacyStream(client, url, "reader")
        try:
            assert post_legacy(client, url, stream.endpoint, INIT, "reader").status_code == 202
            assert stream.next_message()["id"] == 1
            legacy = post_legacy(client, url, stream.endpoint, ADMIN_CALL, "reader")
            assert legacy.status_code == 403
            assert legacy.headers["www-authenticate"] == modern.headers["www-authenticate"]
            assert 'error="insufficient_scope"' in legacy.headers["www-authenticate"]
            assert legacy.json() == modern.json()
            assert legacy.json()["error"]["code"] == -32600
            assert legacy.json()["error"]["data"] == {"requiredScopes": ["admin"]}
            on_stream = stream.next_message()
            assert on_stream["id"] == 7 and on_stream["error"] == modern.json()["error"]
            # The admin token runs it, on the same transport.
            admin = LegacyStream(client, url, "admin")
            try:
                post_legacy(client, url, admin.endpoint, INIT, "admin")
                admin.next_message()
                assert post_legacy(client, url, admin.endpoint, ADMIN_CALL, "admin").status_code == 202
                assert admin.next_message()["result"]["content"][0]["text"] == "admin work done"
            finally:
                admin.close()
        finally:
            stream.close()
    assert app.state.ran == ["admin_tool"]  # once, for the admin; never for the reader


@pytest.mark.parametrize("token", ["reader", "admin"])
def test_legacy_sse_scope_refusal_reaches_the_sdk_client_as_an_error(token):
    """The official SDK's 2024-11-05 client: the reader's call raises and never runs; the admin's runs."""
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    app = guarded_app()

    async def drive(url):
        with anyio.fail_after(30):
            async with sse_client(url, headers={"authorization": f"Bearer {token}"}) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                if token == "admin":
                    assert (await session.call_tool("admin_tool", {})).content[0].text == "admin work done"
                    return
                with pytest.raises(mcp_sdk.MCPError, match="Insufficient scope for tool admin_tool"):
                    await session.call_tool("admin_tool", {})

    with LiveServer(app) as server:
        anyio.run(drive, server.url + "/sse")
    assert app.state.ran == (["admin_tool"] if token == "admin" else [])


# ------------------------------------------------------------------ session binding
@pytest.mark.parametrize("auth_kind", ["resource-server", "verifier-function"])
def test_legacy_sse_session_is_bound_to_the_token_that_opened_it(auth_kind):
    auth = None if auth_kind == "resource-server" else (lambda token: token in ("reader", "admin"))
    app = guarded_app(auth)
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url
        stream = LegacyStream(client, url, "reader")
        try:
            ping = {"jsonrpc": "2.0", "id": "p", "method": "ping"}
            hijack = post_legacy(client, url, stream.endpoint, INIT, "admin")
            assert hijack.status_code == 404 and hijack.text == "Could not find session"
            assert post_legacy(client, url, stream.endpoint, INIT, None).status_code == 401
            assert post_legacy(client, url, stream.endpoint, INIT, "reader").status_code == 202
            assert stream.next_message()["id"] == 1  # the owner's initialize; nothing from the others
            assert post_legacy(client, url, stream.endpoint, ping, "reader").status_code == 202
            assert stream.next_message() == {"jsonrpc": "2.0", "id": "p", "result": {}}
        finally:
            stream.close()


def test_streamable_http_session_is_bound_to_the_token_with_a_verifier_function():
    """Bearer tokens checked by a function have no subject: the token itself owns the session."""
    app = guarded_app(lambda token: token in ("reader", "admin"))
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        init = client.post(url, json=INIT, headers={**HEADERS, "authorization": "Bearer reader"})
        session = init.headers["mcp-session-id"]
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        own = client.post(url, json=ping, headers={**HEADERS, "authorization": "Bearer reader",
                                                   "mcp-session-id": session})
        assert own.status_code == 200
        other = client.post(url, json=ping, headers={**HEADERS, "authorization": "Bearer admin",
                                                     "mcp-session-id": session})
        assert other.status_code == 404 and other.json()["error"]["code"] == -32001
        deleted = client.delete(url, headers={**HEADERS, "authorization": "Bearer admin", "mcp-session-id": session})
        assert deleted.status_code == 404  # nor can it end the session
        assert client.post(url, json=ping, headers={**HEADERS, "authorization": "Bearer reader",
                                                     "mcp-session-id": session}).status_code == 200


# ------------------------------------------------------------------ bounded legacy queue
def test_legacy_sse_client_that_never_reads_is_disconnected_and_its_queue_dropped(caplog):
    app = guarded_app(max_message_bytes=1 << 20, legacy_sse_max_queued=4)
    caplog.set_level(logging.WARNING, logger="conduit.mcp.transports.legacy_sse")
    with LiveServer(app, send_timeout=2.0) as server, httpx.Client(timeout=30) as client:
        # A raw socket with a small receive buffer that reads the endpoint event, then never again.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /sse HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n"
                     b"authorization: Bearer reader\r\n\r\n")
        sock.settimeout(30)
        seen = b""
        while not re.search(rb"data: (\S+session_id=\w+)\r?\n", seen):
            seen += sock.recv(1024)
        endpoint = re.search(rb"data: (\S+session_id=\w+)\r?\n", seen).group(1).decode()
        assert post_legacy(client, server.url, endpoint, INIT, "reader").status_code == 202
        big = {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "blob", "arguments": {"size": 200_000}}}
        statuses = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = post_legacy(client, server.url, endpoint, {**big, "id": len(statuses)}, "reader").status_code
            statuses.append(status)
            if status == 404:
                break
            time.sleep(0.02)
        assert statuses[-1] == 404, statuses  # the session was ended for not reading
        assert set(statuses[:-1]) == {202}
        dropped = [r for r in caplog.records if "not reading" in r.getMessage()]
        assert len(dropped) == 1 and "queued messages dropped" in dropped[0].getMessage()
        # The stream is cut: reading now drains what the kernel held, then meets the end.
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        sock.close()
        # The server keeps serving other clients.
        stream = LegacyStream(client, server.url, "reader")
        try:
            assert post_legacy(client, server.url, stream.endpoint, INIT, "reader").status_code == 202
            assert stream.next_message()["result"]["serverInfo"]["name"] == "guarded"
        finally:
            stream.close()


def test_legacy_sse_streams_are_bounded_per_client_as_sessions_are():
    app = guarded_app(max_sessions_per_client=2)
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        streams = [LegacyStream(client, server.url, "reader") for _ in range(2)]
        try:
            third = client.get(server.url + "/sse", headers={"authorization": "Bearer reader",
                                                             "accept": "text/event-stream"})
            assert third.status_code == 429 and third.headers["retry-after"] == "60"
            other = LegacyStream(client, server.url, "admin")  # another caller is not locked out
            other.close()
            streams.pop().close()
            deadline = time.monotonic() + 30  # the closed stream's session ends once the server sees it go
            while len(streams) < 2 and time.monotonic() < deadline:
                try:
                    streams.append(LegacyStream(client, server.url, "reader"))
                except NotAdmitted as refused:
                    assert refused.args == (429,)
                    time.sleep(0.05)
            assert len(streams) == 2  # the slot came back
        finally:
            for stream in streams:
                stream.close()


def test_legacy_sse_max_queued_must_be_positive():
    with pytest.raises(ValueError, match="legacy_sse_max_queued"):
        guarded_app(legacy_sse_max_queued=0)


# ------------------------------------------------------------------ stdio
def _stdio(token: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    env.pop("MCP_ACCESS_TOKEN", None)
    if token is not None:
        env["MCP_ACCESS_TOKEN"] = token
    return env


def _stdio_params(token: str | None):
    from mcp import StdioServerParameters

    return StdioServerParameters(command=sys.executable, args=[str(pathlib.Path(__file__).with_name(
        "guarded_stdio_server.py"))], env=_stdio(token), cwd=str(ROOT))


def test_stdio_takes_its_principal_from_the_environment_and_enforces_scopes():
    from mcp import Client

    async def drive(token: str, may_admin: bool) -> None:
        with anyio.fail_after(60):
            async with Client(_stdio_params(token), mode="legacy") as client:
                assert (await client.call_tool("echo", {"text": "hi"})).content[0].text == "hi"
                if may_admin:
                    assert (await client.call_tool("admin_tool", {})).content[0].text == "admin work done"
                else:
                    with pytest.raises(mcp_sdk.MCPError, match="Insufficient scope for tool admin_tool"):
                        await client.call_tool("admin_tool", {})

    anyio.run(drive, "reader", False)
    anyio.run(drive, "admin", True)


def test_stdio_middleware_limits_the_principal_of_the_environment_token():
    """Issue 25's middleware over stdio: the rate limit's caller is the token's principal."""
    from mcp import Client

    async def drive() -> None:
        with anyio.fail_after(60):
            async with Client(_stdio_params("reader"), mode="legacy") as client:
                for text in ("one", "two"):
                    assert (await client.call_tool("echo", {"text": text})).content[0].text == text
                with pytest.raises(mcp_sdk.MCPError) as refused:
                    await client.call_tool("echo", {"text": "three"})
                assert refused.value.error.code == -32029 and refused.value.error.data["tool"] == "echo"

    anyio.run(drive)


@pytest.mark.parametrize("token", [None, "forged"])
def test_stdio_with_a_refused_token_stops_before_reading(token):
    script = pathlib.Path(__file__).with_name("guarded_stdio_server.py")
    done = subprocess.run([sys.executable, str(script)], input=b"", env=_stdio(token), capture_output=True,
                          timeout=60, cwd=str(ROOT))
    assert done.returncode != 0
    assert b"refused its access token (MCP_ACCESS_TOKEN)" in done.stderr
    assert done.stdout == b""  # not one protocol message
