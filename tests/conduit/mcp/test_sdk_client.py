"""The official Python SDK client (``mcp`` 2.x) drives the everything example.

Over stdio (a subprocess) and Streamable HTTP (the real server, ``LiveServer``), in
the handshake era (``mode="legacy"``), the 2026-07-28 era, and ``auto`` negotiation:
list and call tools, read resources, get prompts, receive progress and logs, and
answer a sampling request.
"""

from __future__ import annotations

import os
import pathlib
import sys

import anyio
import pytest

mcp_sdk = pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp_types import CreateMessageResult, TextContent  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]


async def _sampling(context, params) -> CreateMessageResult:
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="Paris"), model="fake")


async def _drive(target, mode: str, can_sample: bool | None = True) -> None:
    """The everything example's checks; ``can_sample`` None leaves sampling out."""
    logs, progress = [], []

    async def on_log(params) -> None:
        logs.append(params.data)

    async def on_progress(value, total, message) -> None:
        progress.append(value)

    async with Client(target, mode=mode, sampling_callback=_sampling, logging_callback=on_log,
                      log_level="info") as client:
        tools = await client.list_tools()
        assert "test_simple_text" in {t.name for t in tools.tools}
        result = await client.call_tool("test_simple_text", {})
        assert result.content[0].text == "This is a simple text response for testing."
        result = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        assert progress == [0, 50, 100]
        await client.call_tool("test_tool_with_logging", {})
        assert "Tool execution completed" in logs
        resource = await client.read_resource("test://static-text")
        assert resource.contents[0].text == "This is the content of the static text resource."
        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
        assert prompt.messages[0].content.text == "Prompt with arguments: arg1='a', arg2='b'"
        if can_sample is None:
            pass
        elif can_sample:
            result = await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
            assert result.content[0].text == "LLM response: Paris"
        else:  # stateless handshake era: no back-channel, so no server-to-client requests
            with pytest.raises(mcp_sdk.MCPError):
                await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
        error = await client.call_tool("test_error_handling", {})
        assert error.is_error


def _stdio_target() -> StdioServerParameters:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    return StdioServerParameters(command=sys.executable, args=[str(ROOT / "examples" / "mcp" / "everything.py")],
                                 env=env, cwd=str(ROOT))


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
def test_sdk_client_over_stdio(mode):
    anyio.run(_drive, _stdio_target(), mode)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
@pytest.mark.parametrize("stateless", [False, True])
def test_sdk_client_over_streamable_http(mode, stateless, everything):
    from conduit import Conduit
    from conduit.testing.client import LiveServer

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp, stateless=stateless)
    with LiveServer(app) as server:
        anyio.run(_drive, server.url + "/mcp", mode, not (stateless and mode == "legacy"))


def test_sdk_legacy_sse_client(everything):
    """An old (2024-11-05 HTTP+SSE) client through the SDK's sse_client."""
    from conduit import Conduit
    from conduit.testing.client import LiveServer
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp, legacy_sse=True)

    async def drive(url):
        async with sse_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("test_simple_text", {})
            assert result.content[0].text == "This is a simple text response for testing."

    with LiveServer(app) as server:
        anyio.run(drive, server.url + "/sse")


def _alternating_client(urls: list[str], seen: list[int]):
    """An httpx2 client (the SDK's) whose transport sends each request to the next server in turn."""
    import httpx2

    ports = [httpx2.URL(u).port for u in urls]

    class Alternate(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.AsyncHTTPTransport()

        async def handle_async_request(self, request):
            port = ports[len(seen) % len(ports)]
            seen.append(port)
            request.url = request.url.copy_with(port=port)
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    return httpx2.AsyncClient(transport=Alternate(), timeout=30)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_client_alternating_between_two_processes(two_servers, mode):
    """Two processes on one Redis serve one client, every request going to the other process.

    Handshake era: the session initialize made in one process carries on in the other.
    2026-07-28: sampling's input_required round trip has its requestState signed in one
    process and verified in the other. (Handshake-era sampling needs the client's answer
    to reach the process that asked, so it is left out there.)
    """
    from mcp.client.streamable_http import streamable_http_client

    seen: list[int] = []

    async def drive() -> None:
        async with _alternating_client(two_servers, seen) as http_client:
            transport = streamable_http_client(two_servers[0] + "/mcp", http_client=http_client)
            await _drive(transport, mode, True if mode == "2026-07-28" else None)
    anyio.run(drive)
    assert len(set(seen)) == 2 and len(seen) >= 8
