"""``conduit.mcp.Client`` against three servers: Conduit's, the official SDK's and FastMCP 4's.

Each over stdio (a spawned command) and Streamable HTTP (a real server on 127.0.0.1), in
the 2026-07-28 era (``protocol="auto"`` negotiates it with all three) and the 2025-11-25
handshake: list, call, read, get, progress, logs, cancellation, typed errors. Sampling,
elicitation, completion, OAuth bearer tokens and the 2024-11-05 HTTP+SSE transport run
against Conduit's everything example; a hostile stdio server checks the client survives
garbage.
"""

from __future__ import annotations

import contextlib

import anyio
import pytest
from hypothesis import given, settings, strategies as st

from conduit.mcp import Context, MCPError
from conduit.mcp.client import AuthenticationError, Client, ClientTransport, RequestTimeout, TransportError
from conduit.mcp.client.stdio import StdioTransport
from conduit.mcp.protocol.jsonrpc import InternalError, InvalidParams

pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")
PEERS = ["sdk", "fastmcp"]
ERAS = ["auto", "2025-11-25"]


def _target(peers, kind: str) -> dict:
    return {"target": peers.stdio_command(kind), "env": peers.env()}


async def _exercise_peer(client: Client, modern: bool) -> None:
    assert client.modern is modern
    tools = {t["name"]: t for t in await client.list_tools()}
    assert {"add", "count", "slow"} <= set(tools)
    assert tools["add"]["inputSchema"]["properties"].keys() >= {"a", "b"}
    result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result["content"][0]["text"] == "5" and not result.get("isError")
    progress = []
    result = await client.call_tool("count", {"steps": 3}, progress=lambda p, t, m: progress.append((p, t)))
    assert result["content"][0]["text"] == "counted 3"
    assert progress == [(1, 3), (2, 3), (3, 3)]
    read = await client.read_resource("data://greeting")
    assert read["contents"][0]["text"].startswith("hello from")
    prompt = await client.get_prompt("greet", {"name": "Ada"})
    assert "Ada" in prompt["messages"][0]["content"]["text"]
    # cancellation: the awaiting task gives up, the connection carries on
    with anyio.move_on_after(0.3) as scope:
        await client.call_tool("slow", {"seconds": 30})
    assert scope.cancelled_caught
    with pytest.raises(RequestTimeout):
        await client.call_tool("slow", {"seconds": 30}, timeout=0.3)
    assert (await client.call_tool("add", {"a": 1, "b": 1}))["content"][0]["text"] == "2"


@pytest.mark.parametrize("protocol", ERAS)
@pytest.mark.parametrize("kind", PEERS)
def test_client_over_stdio_against_peer_servers(kind, protocol, peers):
    if kind == "fastmcp":
        pytest.importorskip("fastmcp", reason="fastmcp is in the test extra (./dev test installs it)")

    async def main() -> None:
        async with Client(**_target(peers, kind), protocol=protocol) as client:
            await _exercise_peer(client, protocol == "auto")
    anyio.run(main)


@pytest.mark.parametrize("protocol", ERAS)
@pytest.mark.parametrize("kind", PEERS)
def test_client_over_streamable_http_against_peer_servers(kind, protocol, peers):
    if kind == "fastmcp":
        pytest.importorskip("fastmcp", reason="fastmcp is in the test extra (./dev test installs it)")

    async def main(url: str) -> None:
        async with Client(url, protocol=protocol) as client:
            await _exercise_peer(client, protocol == "auto")
    with peers.http_server(kind) as url:
        anyio.run(main, url)


def test_client_answers_sdk_elicitation(peers):
    """Handshake era: the SDK's ``ctx.elicit`` is a server request (in 2026-07-28 the SDK's
    tools must return input_required themselves; Conduit's do, see the tests below)."""
    async def answer(params):
        assert params["message"] == "Your name?"
        return {"action": "accept", "content": {"name": "Ada"}}

    async def main() -> None:
        async with Client(**_target(peers, "sdk"), protocol="2025-11-25", elicitation=answer) as client:
            result = await client.call_tool("ask_name", {})
            assert result["content"][0]["text"] == "hello Ada"
    anyio.run(main)


# ------------------------------------------------------------------ Conduit's own server
async def _exercise_conduit(client: Client, logs: list) -> None:
    result = await client.call_tool("test_simple_text")
    assert result["content"][0]["text"] == "This is a simple text response for testing."
    progress = []
    await client.call_tool("test_tool_with_progress", {}, progress=lambda p, t, m: progress.append(p))
    assert progress == [0, 50, 100]
    await client.call_tool("test_tool_with_logging", {})
    assert any(entry.get("data") == "Tool execution completed" for entry in logs)
    assert (await client.call_tool("test_sampling", {"prompt": "Capital?"}))["content"][0]["text"] == \
        "LLM response: Paris"
    elicited = await client.call_tool("test_elicitation", {"message": "Say"})
    assert "action=accept" in elicited["content"][0]["text"] and "yes" in elicited["content"][0]["text"]
    read = await client.read_resource("test://static-text")
    assert read["contents"][0]["text"] == "This is the content of the static text resource."
    templates = await client.list_resource_templates()
    assert any(t["uriTemplate"] == "test://template/{id}/data" for t in templates)
    prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
    assert prompt["messages"][0]["content"]["text"] == "Prompt with arguments: arg1='a', arg2='b'"
    completion = await client.complete({"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "arg1", "")
    assert isinstance(completion["values"], list)
    assert await client.list_prompts() and await client.list_resources()
    with pytest.raises(InvalidParams) as info:  # unknown tool: -32602, typed
        await client.call_tool("no_such_tool", {})
    assert info.value.code == -32602 and "no_such_tool" in info.value.message
    error = await client.call_tool("test_error_handling", {})
    assert error["isError"] is True


def _conduit_client(target, protocol: str, logs: list, **options) -> Client:
    async def sample(params):
        return {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "fake"}

    async def elicit(params):
        return {"action": "accept", "content": {"response": "yes"}}

    return Client(target, protocol=protocol, sampling=sample, elicitation=elicit, on_log=logs.append,
                  log_level="debug", **options)


@pytest.mark.parametrize("protocol", ERAS)
def test_client_over_stdio_against_conduit(protocol, peers):
    async def main() -> None:
        logs: list = []
        async with _conduit_client(peers.stdio_command("conduit"), protocol, logs, env=peers.env()) as client:
            assert client.modern is (protocol == "auto")
            assert client.server_info["name"] == "mcp-conformance-test-server"
            await _exercise_conduit(client, logs)
    anyio.run(main)


@pytest.mark.parametrize("protocol", ERAS)
def test_client_over_streamable_http_against_conduit(protocol, everything):
    from conduit import Conduit
    from conduit.testing.client import LiveServer

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp)

    async def main(url: str) -> None:
        logs: list = []
        async with _conduit_client(url, protocol, logs) as client:
            assert client.protocol_version == ("2026-07-28" if protocol == "auto" else "2025-11-25")
            await _exercise_conduit(client, logs)
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


def test_client_over_legacy_sse_against_conduit(everything):
    from conduit import Conduit
    from conduit.testing.client import LiveServer

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp, legacy_sse=True)

    async def main(url: str) -> None:
        logs: list = []
        async with _conduit_client(url, "auto", logs) as client:
            assert client.modern is False  # HTTP+SSE is a handshake-era transport
            await _exercise_conduit(client, logs)
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/sse")


def test_client_under_trio_against_conduit(everything):
    """The client is written on anyio: it runs under trio as under asyncio."""
    import trio

    from conduit import Conduit
    from conduit.testing.client import LiveServer

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp)

    async def main(url: str) -> None:
        async with Client(url) as client:
            assert (await client.call_tool("test_simple_text"))["content"][0]["text"].startswith("This is")
    with LiveServer(app) as server:
        trio.run(main, server.url + "/mcp")


def test_client_bearer_token_and_refresh(everything):
    from conduit import Conduit
    from conduit.testing.client import LiveServer

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp, auth="s3cret")
    tokens = iter(["stale", "s3cret"])

    async def main(url: str) -> None:
        with pytest.raises(AuthenticationError) as info:
            async with Client(url):
                pass
        assert info.value.status == 401 and "bearer" in (info.value.www_authenticate or "").lower()
        with pytest.raises(AuthenticationError):
            async with Client(url, auth="wrong"):
                pass
        for protocol in ERAS:
            async with Client(url, auth="s3cret", protocol=protocol) as client:
                assert (await client.call_tool("test_simple_text"))["content"]
        async with Client(url, auth=lambda: next(tokens)) as client:  # a 401 asks the function again
            assert (await client.call_tool("test_simple_text"))["content"]
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


# ------------------------------------------------------------------ bad input
def test_client_rejects_bad_arguments():
    with pytest.raises(ValueError, match="protocol"):
        Client("http://127.0.0.1:1/mcp", protocol="1999-01-01")
    with pytest.raises(ValueError, match="transport"):
        Client("http://127.0.0.1:1/mcp", transport="carrier-pigeon")
    with pytest.raises(ValueError, match="command"):
        Client([])
    with pytest.raises(ValueError, match="auth"):
        Client(["python", "x.py"], auth="token")
    with pytest.raises(TypeError, match="auth"):
        Client("http://127.0.0.1:1/mcp", auth=42)


def test_client_unreachable_server_is_a_transport_error():
    async def main() -> None:
        with pytest.raises(TransportError):
            async with Client("http://127.0.0.1:1/mcp", timeout=5):
                pass
        with pytest.raises(TransportError, match="could not start"):
            async with Client(["/nonexistent/mcp-server-binary"]):
                pass
    anyio.run(main)


def test_client_survives_a_hostile_server(peers):
    """Garbage lines, an oversized line, stray ids and arrays are skipped; bad answers are typed errors."""
    async def main() -> None:
        transport = StdioTransport(peers.stdio_command("hostile"), env=peers.env(), max_message_bytes=1024 * 1024)
        async with Client(transport, timeout=20) as client:
            assert client.protocol_version == "2025-11-25"  # discover refused: fell back to initialize
            assert [t["name"] for t in await client.list_tools()] == ["fine", "fine"]  # a repeated cursor ends paging
            assert (await client.call_tool("fine"))["content"][0]["text"] == "ok"
            with pytest.raises(InternalError, match="not an object"):
                await client.call_tool("bad_result")
            with pytest.raises(MCPError) as info:
                await client.call_tool("bad_error")
            assert info.value.code == -32603
            with pytest.raises(TransportError, match="exit code 3|closed its stdout"):
                await client.call_tool("exit")
            with pytest.raises(TransportError):
                await client.call_tool("fine")
    anyio.run(main)


def test_client_callback_failure_is_an_error_for_the_server_not_a_crash(everything, peers):
    """A sampling callback that raises answers the server with an error; the client carries on."""
    async def broken(params):
        raise RuntimeError("model offline")

    async def main() -> None:
        async with Client(peers.stdio_command("conduit"), env=peers.env(), protocol="2025-11-25", sampling=broken) as client:
            result = await client.call_tool("test_sampling", {"prompt": "x"})
            assert result.get("isError") or "error" in str(result).lower()
            assert (await client.call_tool("test_simple_text"))["content"]
    anyio.run(main)


def _hostile_http_app():
    """A fake Streamable HTTP server: proper handshake, then one misbehaviour per tool name."""
    import json

    from conduit import Conduit
    from conduit.http.response import EventSourceResponse, Response

    app = Conduit()

    @app.post("/mcp")
    async def endpoint(request):
        message = json.loads(await request.body())
        method, mid = message.get("method"), message.get("id")
        if mid is None:
            return Response(b"", 202)
        if method == "server/discover":
            return Response(b"not json at all", 404, media_type="text/plain")  # a 4xx without JSON-RPC
        if method == "initialize":
            body = {"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": "2025-11-25",
                                                              "capabilities": {"tools": {}}, "serverInfo": {"name": "h"}}}
            return Response(json.dumps(body), 200, {"mcp-session-id": "s1"}, media_type="application/json")
        name = message["params"]["name"]
        if name == "plain_text":
            return Response(b"hello", 200, media_type="text/plain")
        if name == "server_error":
            return Response(b"boom", 500, media_type="text/plain")
        if name == "json_array":
            return Response(b"[1, 2]", 200, media_type="application/json")
        if name == "gone":
            return Response(b"", 404)
        answer = {"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "ok"}]}}
        events = ["not json {", json.dumps([1]), json.dumps({"jsonrpc": "2.0", "id": 424242, "result": {}}),
                  json.dumps(answer)]
        return EventSourceResponse(iter(events))

    @app.get("/mcp")
    async def no_stream():
        return Response(b"", 405)

    @app.delete("/mcp")
    async def end():
        return Response(b"", 204)

    return app


def test_client_survives_a_hostile_http_server():
    """Non-JSON answers, a 500, a JSON array, garbage SSE events: typed errors, the client carries on."""
    from conduit.mcp.client import SessionExpired
    from conduit.testing.client import LiveServer

    async def main(url: str) -> None:
        async with Client(url, timeout=20) as client:
            assert client.protocol_version == "2025-11-25"  # a 404 to discover: fell back to initialize
            assert (await client.call_tool("sse_with_garbage"))["content"][0]["text"] == "ok"
            for name, status in (("plain_text", 200), ("server_error", 500), ("json_array", 200)):
                with pytest.raises(TransportError) as info:
                    await client.call_tool(name)
                assert info.value.status == status, name
            with pytest.raises(SessionExpired):
                await client.call_tool("gone")
            assert (await client.call_tool("sse_with_garbage"))["content"][0]["text"] == "ok"
    with LiveServer(_hostile_http_app()) as server:
        anyio.run(main, server.url + "/mcp")



@pytest.mark.parametrize("tool", ["wait_forever", "wait_with_context"])
@pytest.mark.parametrize("client_kind, protocol, stateless", [
    ("conduit", "2025-11-25", False),  # the client's notifications/cancelled reaches the session
    ("conduit", "2026-07-28", False),  # no session: the client closes the POST's stream
    ("conduit", "2025-11-25", True),   # a stateless mount: no session either
    ("sdk", "2026-07-28", False),
    ("sdk", "legacy", False),
])
def test_cancelling_a_call_cancels_it_on_the_server(client_kind, protocol, stateless, tool):
    """The awaiting task is cancelled: the server's silent tool sees trio.Cancelled (not just a client that stops waiting).

    Where no session carries ``notifications/cancelled`` (2026-07-28, a stateless mount),
    the server answers a silent async tool with a stream after ``stream_silent_after``
    seconds, so the client's closed connection reaches the call's cancel scope.
    """
    import threading

    import trio

    from conduit import Conduit
    from conduit.mcp import MCPServer
    from conduit.testing.client import LiveServer

    started, cancelled = threading.Event(), threading.Event()
    server = MCPServer("cancel")

    @server.tool()
    async def wait_forever() -> str:
        started.set()
        try:
            await trio.sleep(60)
        except trio.Cancelled:
            cancelled.set()
            raise
        return "never"

    @server.tool()
    async def wait_with_context(ctx: Context) -> str:  # may send progress or logs: silent all the same
        return await wait_forever()

    @server.tool()
    async def quick() -> str:
        return "quick"

    app = Conduit()
    app.mount_mcp("/mcp", server, stateless=stateless)

    @contextlib.asynccontextmanager
    async def connected(url: str):
        if client_kind == "conduit":
            async with Client(url, protocol=protocol) as client:
                yield client.call_tool
        else:
            mcp_sdk = pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")
            async with mcp_sdk.Client(url, mode=protocol) as client:
                yield client.call_tool

    async def main(url: str) -> None:
        async with connected(url) as call_tool:
            async with anyio.create_task_group() as tg:
                async def call() -> None:
                    await call_tool(tool, {})
                tg.start_soon(call)
                with anyio.fail_after(20):
                    while not started.is_set():
                        await anyio.sleep(0.01)
                await anyio.sleep(0.5)  # past stream_silent_after: the answer is a stream by now
                tg.cancel_scope.cancel()
            with anyio.fail_after(20):
                while not cancelled.is_set():
                    await anyio.sleep(0.01)
            answer = await call_tool("quick", {})  # the server, and this client, carry on
            assert "quick" in str(answer)
    with LiveServer(app) as live:
        anyio.run(main, live.url + "/mcp")


class _RecordingTransport(ClientTransport):
    """A transport that records what the client sends (for feeding the client messages by hand)."""

    def __init__(self) -> None:
        self.sent: list = []

    async def start(self, task_group, sink) -> None:
        pass

    async def send(self, message, headers=None) -> None:
        self.sent.append(message)

    async def aclose(self) -> None:
        pass


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error", "progressToken",
                                          "progress", "x"]), inner, max_size=4), max_leaves=10)
_MESSAGE = st.fixed_dictionaries({}, optional={
    "jsonrpc": st.just("2.0"), "id": st.integers(0, 3) | st.text(max_size=3) | _JSON,
    "method": st.sampled_from(["ping", "sampling/createMessage", "roots/list", "notifications/progress",
                               "notifications/message", "elicitation/create", "x/y"]) | _JSON,
    "params": _JSON, "result": _JSON, "error": _JSON})


@settings(max_examples=150, deadline=None)
@given(st.lists(_MESSAGE | _JSON, max_size=6))
def test_arbitrary_server_messages_never_break_the_client(messages):
    """Whatever a server sends, the client answers its requests (result or error) and keeps working."""
    async def main() -> None:
        transport = _RecordingTransport()
        client = Client(transport, sampling=lambda p: {"role": "assistant", "content": {"type": "text", "text": ""}},
                        on_log=lambda p: None, on_notification=lambda m, p: None)
        async with anyio.create_task_group() as tg:
            client._task_group = tg
            for message in messages:
                await client.receive(message)
            await anyio.sleep(0)
            tg.cancel_scope.cancel()
        for reply in transport.sent:
            assert reply["jsonrpc"] == "2.0" and ("result" in reply or "error" in reply)
    anyio.run(main)


def test_legacy_sse_endpoint_on_another_origin_is_refused():
    """An HTTP+SSE server naming a POST endpoint elsewhere would receive every message: refused."""
    from conduit import Conduit
    from conduit.http.response import EventSourceResponse
    from conduit.testing.client import LiveServer

    app = Conduit()

    @app.get("/sse")
    async def stream():
        return EventSourceResponse(iter([{"event": "endpoint", "data": "http://evil.example/messages"}]))

    async def main(url: str) -> None:
        with pytest.raises(TransportError, match="another origin"):
            async with Client(url, timeout=10):
                pass
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/sse")
