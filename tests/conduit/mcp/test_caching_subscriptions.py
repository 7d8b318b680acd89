"""2026-07-28 caching hints (``ttlMs``/``cacheScope``), subscriptions in both eras, and a
fuzz of the task methods (any params, both eras: a well-formed answer, never a crash)."""

from __future__ import annotations

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit.mcp import MCPServer
from conduit.mcp.protocol.eras import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, META_SUBSCRIPTION_ID
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.tasks.records import TASKS_EXTENSION


def make_server() -> MCPServer:
    mcp = MCPServer("cache", cache_ttl_ms=5000, cache_scope="public")

    @mcp.tool(task=True)
    def echo(text: str = "") -> str:
        return text

    @mcp.resource("data://live", cache_ttl_ms=0, cache_scope="private")
    def live() -> str:
        return "changes all the time"

    @mcp.resource("data://static")
    def static() -> str:
        return "never changes"

    @mcp.resource("data://item/{id}", cache_ttl_ms=60_000)
    def item(id: str) -> str:
        return f"item {id}"

    @mcp.prompt()
    def hello() -> str:
        return "hi"

    return mcp


def modern(method, params=None, request_id=1, caps=None):
    params = dict(params or {})
    params["_meta"] = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: caps or {}}
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


async def answer(server, message):
    return await Connection(server, can_request=False).handle(message)


@pytest.mark.parametrize("method,params,definition", [
    ("tools/list", {}, "ListToolsResult"),
    ("prompts/list", {}, "ListPromptsResult"),
    ("resources/list", {}, "ListResourcesResult"),
    ("resources/templates/list", {}, "ListResourceTemplatesResult"),
    ("resources/read", {"uri": "data://static"}, "ReadResourceResult"),
    ("server/discover", {}, "DiscoverResult"),
])
def test_cacheable_results_carry_the_server_hints(method, params, definition, schema_2026):
    result = trio.run(answer, make_server(), modern(method, params))["result"]
    assert (result["ttlMs"], result["cacheScope"]) == (5000, "public")
    schema_2026.check(definition, result)


@pytest.mark.parametrize("uri,hints", [("data://live", (0, "private")), ("data://item/7", (60_000, "public"))])
def test_a_resource_overrides_the_hints_of_its_reads(uri, hints, schema_2026):
    result = trio.run(answer, make_server(), modern("resources/read", {"uri": uri}))["result"]
    assert (result["ttlMs"], result["cacheScope"]) == hints
    schema_2026.check("ReadResourceResult", result)


def test_non_cacheable_and_handshake_results_carry_no_hints():
    server = make_server()

    async def main():
        call = (await answer(server, modern("tools/call", {"name": "echo", "arguments": {"text": "x"}})))["result"]
        assert "ttlMs" not in call and "cacheScope" not in call
        connection = Connection(server)
        await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        for method, params in (("tools/list", {}), ("resources/read", {"uri": "data://live"})):
            result = (await connection.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            assert "ttlMs" not in result["result"] and "cacheScope" not in result["result"]
    trio.run(main)


@pytest.mark.parametrize("options,message", [
    ({"cache_ttl_ms": -1}, "non-negative integer"), ({"cache_ttl_ms": 1.5}, "non-negative integer"),
    ({"cache_ttl_ms": True}, "non-negative integer"), ({"cache_scope": "shared"}, "'private' or 'public'"),
])
def test_bad_caching_hints_fail_at_registration(options, message):
    with pytest.raises(ValueError, match=message):
        MCPServer("x", **options)
    with pytest.raises(ValueError, match=message):
        MCPServer("x").add_resource(lambda: "", "data://x", **options)


def test_listen_streams_only_what_the_filter_asked_for():
    server = make_server()

    async def main():
        seen = []

        async def send(message):
            seen.append(message)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(Connection(server, can_request=False).handle, modern("subscriptions/listen", {
                "notifications": {"toolsListChanged": True, "resourceSubscriptions": ["data://live"]}},
                request_id="sub-1"), send)
            with trio.fail_after(10):
                while not seen:
                    await trio.sleep(0.01)
            server.notify_resource_updated("data://static")  # not subscribed: never sent
            server.notify_resource_updated("data://live")
            server.add_prompt(lambda: "new", name="new_prompt")  # promptsListChanged not asked for
            server.add_tool(lambda: "new", name="new_tool")
            with trio.fail_after(10):
                while len(seen) < 3:
                    await trio.sleep(0.01)
            await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        ack, *rest = seen
        assert ack["method"] == "notifications/subscriptions/acknowledged"
        assert ack["params"]["notifications"] == {"toolsListChanged": True, "resourceSubscriptions": ["data://live"]}
        assert [(m["method"], m["params"].get("uri")) for m in rest] == [
            ("notifications/resources/updated", "data://live"), ("notifications/tools/list_changed", None)]
        assert all(m["params"]["_meta"][META_SUBSCRIPTION_ID] == "sub-1" for m in seen)
    trio.run(main)


def test_handshake_subscribe_and_unsubscribe():
    server = make_server()

    async def main():
        pushed = []
        connection = Connection(server, push=pushed.append)
        await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        assert server.capabilities()["resources"]["subscribe"] is True
        await connection.handle({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe",
                                 "params": {"uri": "data://live"}})
        server.notify_resource_updated("data://static")
        server.notify_resource_updated("data://live")
        await trio.sleep(0.05)
        await connection.handle({"jsonrpc": "2.0", "id": 2, "method": "resources/unsubscribe",
                                 "params": {"uri": "data://live"}})
        server.notify_resource_updated("data://live")
        await trio.sleep(0.05)
        assert [m["params"]["uri"] for m in pushed if m["method"] == "notifications/resources/updated"] == \
            ["data://live"]
        modern_only = await connection.handle({"jsonrpc": "2.0", "id": 3, "method": "subscriptions/listen",
                                               "params": {"notifications": {}}})
        assert modern_only["error"]["code"] == -32601
    trio.run(main)


# ------------------------------------------------------------------ fuzz: the task methods take anything
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                     max_size=3), max_leaves=8)
TASK_METHODS = ["tasks/get", "tasks/update", "tasks/cancel", "tasks/result", "tasks/list", "tools/call"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TASK_METHODS), st.dictionaries(st.sampled_from(["taskId", "inputResponses", "task", "name",
                                                                        "arguments", "cursor"]), json_values),
       st.booleans())
def test_task_methods_answer_any_params_in_both_eras(method, params, is_modern):
    server = make_server()

    async def main():
        if is_modern:
            message = modern(method, params, caps={"extensions": {TASKS_EXTENSION: {}}})
            response = await answer(server, message)
        else:
            connection = Connection(server)
            await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
            with trio.fail_after(10):
                response = await connection.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        assert response is not None and response["jsonrpc"] == "2.0"
        assert ("result" in response) != ("error" in response)
        if "error" in response:
            assert isinstance(response["error"]["code"], int) and response["error"]["code"] != -32603
    trio.run(main)
