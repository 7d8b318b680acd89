"""Sessions beyond one process: two real server processes on one real redis-server.

Both run ``conduit mcp examples.mcp.everything:mcp --http --session-store redis://...``
(the ``two_servers`` fixture; the official SDK client alternating between them is in
``test_sdk_client.py``). Here: a stream started in one process is resumed with
``Last-Event-ID`` in the other, a session ended in one is gone in both, and the store
interface behaves the same on memory and on Redis.
"""

from __future__ import annotations

import os

import anyio
import httpx
import pytest

from conduit.mcp.transports.store import MemorySessionStore, RedisSessionStore

H = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def test_resume_a_stream_in_the_other_process_and_delete_everywhere(two_servers):
    a, b = (u + "/mcp" for u in two_servers)
    with httpx.Client(timeout=30) as client:
        r = client.post(a, headers=H, json=INIT)
        headers = dict(H, **{"mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"})
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "p"}}}
        stream = client.post(b, headers=headers, json=call)  # the session made in a, used in b
        events = [line[4:].strip() for line in stream.text.splitlines() if line.startswith("id:")]
        assert len(events) == 4  # three progress notifications, then the result
        with client.stream("GET", a, headers=dict(headers, **{"accept": "text/event-stream",
                                                              "last-event-id": events[0]})) as replay:
            replayed = []
            for line in replay.iter_lines():
                if line.startswith("id:"):
                    replayed.append(line[3:].strip())
                if len(replayed) == 3:
                    break
        assert replayed == events[1:]
        assert client.delete(b, headers=headers).status_code == 200
        ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
        assert client.post(a, headers=headers, json=ping).status_code == 404
        assert client.post(b, headers=headers, json=ping).status_code == 404


# ------------------------------------------------------------------ the store interface, both implementations
@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemorySessionStore()
    client = request.getfixturevalue("redis_client")
    return RedisSessionStore(client, prefix=f"t-{os.getpid()}-{id(request)}:")


def test_store_key_value_with_ttl(store):
    async def go():
        assert await store.get("k") is None
        await store.set("k", b"v", ttl=60)
        assert await store.get("k", refresh_ttl=60) == b"v"
        assert not await store.add("k", b"other")
        assert await store.add("fresh", b"x", ttl=60)
        assert await store.get("fresh") == b"x"
        await store.set("short", b"s", ttl=0.05)
        await anyio.sleep(0.2)
        assert await store.get("short") is None
        for i in range(5):
            await store.append("log", str(i).encode(), max_items=3, ttl=60)
        assert await store.items("log") == [b"2", b"3", b"4"]
        assert await store.delete("k") and not await store.delete("k")
        assert await store.items("nothing") == []
    import trio
    trio.run(go)
