"""Sessions beyond one process: two real server processes on one real redis-server.

Both run ``conduit mcp examples.mcp.everything:mcp --http --session-store redis://...``.
The official SDK client talks to them through an HTTP transport that sends each request
to the other process in turn, in the handshake era (the session made by ``initialize`` in
one process is used in the other) and in the 2026-07-28 era (a ``requestState`` signed by
one process is verified by the other). A stream started in one process is resumed with
``Last-Event-ID`` in the other, and a session ended in one is gone in both.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys

import anyio
import httpx
import pytest

from conduit.mcp.store import MemorySessionStore, RedisSessionStore

ROOT = pathlib.Path(__file__).resolve().parents[3]
H = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def two_servers(redis_client):
    """Two server processes sharing the test's redis-server; yields their base URLs."""
    redis_port = redis_client.connection_pool.connection_kwargs["port"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    procs, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "conduit.mcp.cli", "examples.mcp.everything:mcp", "--http", "--port", str(port),
                 "--session-store", f"redis://127.0.0.1:{redis_port}/0"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}")
        for proc, url in zip(procs, urls):
            for _ in range(1200):
                try:
                    httpx.get(url + "/none", timeout=1)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, "server process exited during startup"
                    anyio.run(anyio.sleep, 0.05)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _alternating_client(urls: list[str], seen: list[int]):
    """An httpx2 client (the SDK's) whose transport sends each request to the next server in turn."""
    import httpx2

    ports = [httpx2.URL(u).port for u in urls]

    class Alternate(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.AsyncHTTPTransport()
            self.count = 0

        async def handle_async_request(self, request):
            port = ports[self.count % len(ports)]
            self.count += 1
            seen.append(port)
            request.url = request.url.copy_with(port=port)
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    return httpx2.AsyncClient(transport=Alternate(), timeout=30)


async def _drive(urls: list[str], mode: str, seen: list[int]) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp_types import CreateMessageResult, TextContent

    logs, progress = [], []

    async def on_log(params) -> None:
        logs.append(params.data)

    async def on_progress(value, total, message) -> None:
        progress.append(value)

    async def sampling(context, params) -> CreateMessageResult:
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text="Paris"), model="fake")

    async with _alternating_client(urls, seen) as http_client:
        transport = streamable_http_client(urls[0] + "/mcp", http_client=http_client)
        async with Client(transport, mode=mode, logging_callback=on_log, log_level="info",
                          sampling_callback=sampling) as client:
            for _ in range(3):  # each round reaches both processes
                tools = await client.list_tools()
                assert "test_simple_text" in {t.name for t in tools.tools}
                result = await client.call_tool("test_simple_text", {})
                assert result.content[0].text == "This is a simple text response for testing."
            await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            assert progress == [0, 50, 100]
            await client.call_tool("test_tool_with_logging", {})
            assert "Tool execution completed" in logs
            resource = await client.read_resource("test://static-text")
            assert resource.contents[0].text == "This is the content of the static text resource."
            prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
            assert prompt.messages[0].content.text == "Prompt with arguments: arg1='a', arg2='b'"
            if mode == "2026-07-28":  # input_required round trips: state signed in one, checked in the other
                result = await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
                assert result.content[0].text == "LLM response: Paris"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_client_alternating_between_two_processes(two_servers, mode):
    seen: list[int] = []
    anyio.run(_drive, two_servers, mode, seen)
    assert len(set(seen)) == 2 and len(seen) >= 10


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
