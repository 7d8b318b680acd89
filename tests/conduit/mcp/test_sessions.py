"""No client can lock the others out of sessions (issue 13).

A flooding client (its own peer address, 127.0.0.2, over a real socket) gets 429 past its
bound while another client still gets sessions, and ``/metrics`` counts the refusals; a
full table evicts never-used sessions first, then idle ones, never busy ones.
"""

from __future__ import annotations

import re

import httpx
import pytest
import trio

from conduit import Conduit
from conduit.mcp import MCPServer
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.transports.sessions import SessionRefused, SessionTable
from conduit.observability import install
from conduit.testing.client import LiveServer

H = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def _server() -> MCPServer:
    server = MCPServer("t")

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b
    return server


def _refusals(metrics_text: str, reason: str) -> float:
    match = re.search(rf'^conduit_mcp_session_refusals_total{{reason="{reason}"}} (\S+)$', metrics_text, re.M)
    return float(match.group(1)) if match else 0.0


def test_a_flooding_client_gets_429_while_others_get_sessions():
    app = Conduit()
    install(app, health_path=None, ready_path=None, middleware=False)
    app.mount_mcp("/mcp", _server(), max_sessions=40, max_sessions_per_client=8)
    with LiveServer(app) as live:
        url = live.url + "/mcp"
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10) as flooder, \
                httpx.Client(timeout=10) as other:
            before = _refusals(other.get(live.url + "/metrics").text, "per_client")
            statuses = [flooder.post(url, headers=H, json=INIT).status_code for _ in range(100)]
            assert statuses == [200] * 8 + [429] * 92
            refused = flooder.post(url, headers=H, json=INIT)
            assert refused.json()["error"]["code"] == -32600 and refused.headers["retry-after"]
            for _ in range(5):  # the other client is not affected
                r = other.post(url, headers=H, json=INIT)
                assert r.status_code == 200
                session = {"mcp-session-id": r.headers["mcp-session-id"]}
                call = other.post(url, headers=dict(H, **session), json={
                    "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add",
                                                                                 "arguments": {"a": 1, "b": 2}}})
                assert call.json()["result"]["structuredContent"] == {"result": 3}
            after = _refusals(other.get(live.url + "/metrics").text, "per_client")
            assert after - before == 93
            # Ending a session frees the flooder's slot.
            assert other.delete(url, headers=dict(H, **session)).status_code == 200


def _connection(server: MCPServer) -> Connection:
    connection = Connection(server)
    connection.initialized = True
    return connection


def test_a_full_table_evicts_never_used_then_idle_sessions_and_never_busy_ones():
    server = _server()

    async def go():
        table = SessionTable(max_sessions=3, max_per_client=None, evict_idle_after=0.0)
        a = await table.create(_connection(server), "addr:a")
        b = await table.create(_connection(server), "addr:b")
        c = await table.create(_connection(server), "addr:c")
        await table.mark_used(a)
        await table.mark_used(c)
        await table.admit("addr:d")  # b was never used: it goes first
        assert set(table.sessions) == {a.id, c.id}
        d = await table.create(_connection(server), "addr:d")
        await table.mark_used(d)
        a.last_seen -= 10  # a idle longest
        c.standalone = object()  # c is busy (an open GET stream): never evicted
        await table.admit("addr:e")
        assert set(table.sessions) == {c.id, d.id}
        e = await table.create(_connection(server), "addr:e")
        e.standalone = d.standalone = object()
        with pytest.raises(SessionRefused) as refusal:
            await table.admit("addr:f")  # every session is busy
        assert refusal.value.status == 503
        assert set(table.sessions) == {c.id, d.id, e.id}
    trio.run(go)


def test_the_per_client_bound_counts_per_client_and_frees_on_removal():
    server = _server()

    async def go():
        table = SessionTable(max_sessions=100, max_per_client=2)
        first = await table.create(_connection(server), "principal:alice")
        await table.create(_connection(server), "principal:alice")
        with pytest.raises(SessionRefused) as refusal:
            await table.admit("principal:alice")
        assert refusal.value.status == 429
        await table.admit("principal:bob")
        assert await table.remove(first.id)
        await table.admit("principal:alice")
    trio.run(go)


def test_bad_bound_is_refused_at_mount():
    with pytest.raises(ValueError, match="max_sessions_per_client"):
        Conduit().mount_mcp("/mcp", _server(), max_sessions_per_client=0)
