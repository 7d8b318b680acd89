"""The sans-IO dispatcher, in memory: both eras, error cases, schema validity of every reply."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from conduit.mcp import Context, MCPServer
from conduit.mcp.protocol.dispatcher import Connection

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
                   "clientInfo": {"name": "t", "version": "1"}}}
MODERN_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": {}}


def run(coro_fn, *args):
    return trio.run(coro_fn, *args)


async def _exchange(server: MCPServer, messages: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    connection = Connection(server)
    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    replies = [await connection.handle(m, send) for m in messages]
    return replies, sent


def request(i: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        message["params"] = params
    return message


def test_handshake_era_messages_validate(everything, schema_2025):
    server = everything.mcp
    replies, sent = run(_exchange, server, [
        INIT,
        request(1, "tools/list"),
        request(2, "tools/call", {"name": "test_simple_text", "arguments": {}}),
        request(3, "tools/call", {"name": "test_tool_with_progress", "_meta": {"progressToken": "t"}}),
        request(4, "resources/list"), request(5, "resources/templates/list"),
        request(6, "resources/read", {"uri": "test://static-binary"}),
        request(7, "prompts/list"), request(8, "prompts/get", {"name": "test_prompt_with_image"}),
        request(9, "completion/complete", {"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                                           "argument": {"name": "arg1", "value": "pa"}}),
        request(10, "logging/setLevel", {"level": "warning"}),
        request(11, "ping"),
    ])
    definitions = ["InitializeResult", "ListToolsResult", "CallToolResult", "CallToolResult", "ListResourcesResult",
                   "ListResourceTemplatesResult", "ReadResourceResult", "ListPromptsResult", "GetPromptResult",
                   "CompleteResult", "EmptyResult", "EmptyResult"]
    for reply, definition in zip(replies, definitions):
        assert "result" in reply, reply
        schema_2025.check("JSONRPCResultResponse", reply)
        schema_2025.check(definition, reply["result"])
    assert replies[9]["result"]["completion"]["values"] == ["paris", "park", "party"]
    assert [m["params"]["progress"] for m in sent] == [0, 50, 100]
    for message in sent:
        schema_2025.check("ProgressNotification", message)


def test_modern_era_messages_validate(everything, schema_2026):
    server = everything.mcp
    meta = dict(MODERN_META)
    replies, _ = run(_exchange, server, [
        request(1, "server/discover", {"_meta": meta}),
        request(2, "tools/list", {"_meta": meta}),
        request(3, "tools/call", {"_meta": meta, "name": "test_simple_text", "arguments": {}}),
        request(4, "resources/read", {"_meta": meta, "uri": "test://static-text"}),
        request(5, "prompts/get", {"_meta": meta, "name": "test_simple_prompt"}),
        request(6, "tools/call", {"_meta": {**meta, "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}},
                                  "name": "test_input_required_result_elicitation", "arguments": {}}),
    ])
    for reply, definition in zip(replies, ["DiscoverResultResponse", "ListToolsResultResponse",
                                           "CallToolResultResponse", "ReadResourceResultResponse",
                                           "GetPromptResultResponse", "CallToolResultResponse"]):
        schema_2026.check(definition, reply)
    assert replies[5]["result"]["resultType"] == "input_required"
    assert "requestState" in replies[5]["result"]


def test_modern_multi_round_with_signed_state(everything):
    server = everything.mcp
    caps = {**MODERN_META, "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    base = {"_meta": caps, "name": "test_input_required_result_multi_round", "arguments": {}}

    async def scenario():
        connection = Connection(server)
        first = (await connection.handle(request(1, "tools/call", base)))["result"]
        answer = {"action": "accept", "content": {"name": "Ada"}}
        second = (await connection.handle(request(2, "tools/call", {
            **base, "inputResponses": {"step1": answer}, "requestState": first["requestState"]})))["result"]
        assert list(second["inputRequests"]) == ["step2"]
        third = (await connection.handle(request(3, "tools/call", {
            **base, "inputResponses": {"step2": {"action": "accept", "content": {"color": "red"}}},
            "requestState": second["requestState"]})))["result"]
        assert third["content"][0]["text"] == "Completed: name=Ada, color=red"
        tampered = await connection.handle(request(4, "tools/call", {
            **base, "inputResponses": {"step2": answer}, "requestState": second["requestState"] + "x"}))
        assert tampered["error"]["code"] == -32602
        other = await connection.handle(request(5, "tools/call", {
            **base, "name": "test_input_required_result_tampered_state", "requestState": first["requestState"]}))
        assert other["error"]["code"] == -32602  # bound to another request

    run(scenario)


@pytest.mark.parametrize("message, code", [
    ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, -32600),
    ([{"jsonrpc": "2.0", "id": 1, "method": "ping"}], -32600),
    ({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, -32600),  # before initialize
    ({"jsonrpc": "2.0", "id": None, "method": "ping"}, -32600),
    ({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}, -32600),
])
def test_invalid_messages_get_errors(message, code):
    server = MCPServer("t")
    replies, _ = run(_exchange, server, [message, INIT, request(9, "ping")])
    assert replies[0]["error"]["code"] == code
    assert replies[2]["result"] == {}  # and the connection keeps serving


def test_tool_validation_and_errors():
    server = MCPServer("t", sync_in_thread=False)

    @server.tool()
    def add(a: int, b: int = 2) -> int:
        return a + b

    @server.tool()
    def boom() -> str:
        raise ValueError("bad thing")

    replies, _ = run(_exchange, server, [
        INIT,
        request(1, "tools/call", {"name": "add", "arguments": {"a": 1}}),
        request(2, "tools/call", {"name": "add", "arguments": {"a": "x"}}),
        request(3, "tools/call", {"name": "add", "arguments": {}}),
        request(4, "tools/call", {"name": "nope", "arguments": {}}),
        request(5, "tools/call", {"name": "boom"}),
        request(6, "unknown/method"),
        request(7, "tools/list", {"cursor": "garbage!"}),
    ])
    assert replies[1]["result"]["structuredContent"] == {"result": 3}
    assert replies[1]["result"]["content"][0]["text"] == '{"result":3}'
    assert [replies[i]["error"]["code"] for i in (2, 3, 4)] == [-32602] * 3
    assert replies[5]["result"] == {"content": [{"type": "text", "text": "bad thing"}], "isError": True}
    assert replies[6]["error"]["code"] == -32601
    assert replies[7]["error"]["code"] == -32602


def test_pagination_cursor_is_opaque_and_complete():
    server = MCPServer("t", page_size=3)
    for i in range(7):
        server.add_tool(lambda: "x", name=f"t{i}")

    async def scenario():
        connection = Connection(server)
        await connection.handle(INIT)
        names, cursor = [], None
        while True:
            params = {"cursor": cursor} if cursor else {}
            result = (await connection.handle(request(1, "tools/list", params)))["result"]
            names += [t["name"] for t in result["tools"]]
            cursor = result.get("nextCursor")
            if cursor is None:
                return names

    assert run(scenario) == [f"t{i}" for i in range(7)]


def test_cancellation_stops_the_tool_and_sends_no_response():
    server = MCPServer("t")
    started = trio.Event()

    @server.tool()
    async def slow(ctx: Context) -> str:
        started.set()
        await trio.sleep(10)
        return "done"

    async def scenario():
        connection = Connection(server)
        await connection.handle(INIT)
        replies = []

        async def call():
            replies.append(await connection.handle(request(1, "tools/call", {"name": "slow"})))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(call)
            await started.wait()
            await connection.handle({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                     "params": {"requestId": 1}})
        return replies

    assert run(scenario) == [None]


def test_server_to_client_sampling_in_handshake_era(everything):
    server = everything.mcp

    async def scenario():
        connection = Connection(server)
        await connection.handle(INIT)

        async def send(message):  # the "client" answers the sampling request at once
            if message.get("method") == "sampling/createMessage":
                nursery.start_soon(connection.handle, {"jsonrpc": "2.0", "id": message["id"], "result": {
                    "role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"}})

        async with trio.open_nursery() as nursery:
            return await connection.handle(request(1, "tools/call", {"name": "test_sampling",
                                                                     "arguments": {"prompt": "hi"}}), send)

    reply = run(scenario)
    assert reply["result"]["content"][0]["text"] == "LLM response: Paris"
