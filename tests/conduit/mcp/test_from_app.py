"""``MCPServer.from_app`` and ``MCPServer.from_openapi``: routes and operations as tools.

The tools' schemas are the routes' own (from the app's OpenAPI document, i.e. the type
layer); a call goes through the app's lifecycle in-process (app and route middleware, the
API-key check, validation as 422 -> -32602 with the same entries, background tasks), or
over real HTTP with httpx for from_openapi. Clients: conduit.mcp.Client (HTTP, stdio,
both eras), the official SDK's and FastMCP's.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import anyio
import pytest
import trio
from hypothesis import HealthCheck, given, settings, strategies as st

from conduit import Conduit
from conduit.mcp import MCPServer
from conduit.mcp.client import Client
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.protocol.jsonrpc import InvalidParams
from conduit.testing.client import LiveServer

PEERS = pathlib.Path(__file__).with_name("peers")


@pytest.fixture
def shop():
    spec = importlib.util.spec_from_file_location("shop_app", PEERS / "shop_app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_tool_schemas_are_the_routes_own(shop):
    server = MCPServer.from_app(shop.build_app())
    assert set(server.tools) == {"create_item", "read_item", "delete_item", "admin_stats"}
    create = server.tools["create_item"].wire
    assert create["description"] == "Create an item in a shop.\n\nThe price is in euros."
    schema = create["inputSchema"]
    assert set(schema["properties"]) == {"shop", "dry_run", "name", "price", "tags"}
    assert schema["required"] == ["shop", "name", "price"]
    assert schema["properties"]["price"] == {"type": "number"}
    read = server.tools["read_item"].wire
    assert read["inputSchema"]["properties"]["limit"] == {"type": "integer", "default": 10}
    assert read["annotations"] == {"readOnlyHint": True, "idempotentHint": True}
    assert server.tools["delete_item"].wire["annotations"]["destructiveHint"] is True


def test_include_and_tags_choose_routes(shop):
    app = shop.build_app()
    assert set(MCPServer.from_app(app, tags=["admin"]).tools) == {"admin_stats"}
    assert set(MCPServer.from_app(app, include=["read_item", "/admin/stats"]).tools) == {"read_item", "admin_stats"}
    assert set(MCPServer.from_app(app, include=["read_item"], tags=["admin"]).tools) == {"read_item", "admin_stats"}
    with pytest.raises(ValueError, match="no_such_route"):
        MCPServer.from_app(app, include=["no_such_route"])


async def _exercise(client: Client, shop) -> None:
    result = await client.call_tool("create_item", {"shop": "north", "name": "lamp", "price": 12.5})
    assert result["structuredContent"] == {"shop": "north", "name": "lamp", "price": 12.5, "dry_run": False}
    assert "route middleware /items/north" in shop.EVENTS
    with anyio.fail_after(10):  # the background task: in-process it has run; over HTTP it runs after the send
        while "created lamp" not in shop.EVENTS:
            await anyio.sleep(0.01)
    read = await client.call_tool("read_item", {"item_id": 7, "q": "x y", "limit": 3})
    assert read["structuredContent"] == {"id": 7, "q": "x y", "limit": 3}
    with pytest.raises(InvalidParams) as info:  # the app's 422, its entries as -32602 data
        await client.call_tool("create_item", {"shop": "north", "name": "lamp", "price": "cheap"})
    assert info.value.data[0]["loc"] == ["body", "price"]
    with pytest.raises(InvalidParams, match="unknown argument"):
        await client.call_tool("read_item", {"item_id": 1, "colour": "red"})
    with pytest.raises(InvalidParams, match="missing path parameter"):
        await client.call_tool("read_item", {"q": "x"})
    missing = await client.call_tool("delete_item", {"item_id": 404})
    assert missing["isError"] is True and "HTTP 404" in missing["content"][0]["text"]


@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"])
def test_from_app_over_streamable_http_on_the_same_app(protocol, shop):
    app = shop.build_app()
    app.mount_mcp("/mcp", MCPServer.from_app(app, headers=lambda ctx: {"x-api-key": "k3y"}))
    bare = MCPServer.from_app(app, include=["admin_stats"])  # no credentials: the app's auth refuses
    app.mount_mcp("/bare", bare)

    async def main(url: str) -> None:
        async with Client(url + "/mcp", protocol=protocol) as client:
            await _exercise(client, shop)
            assert (await client.call_tool("admin_stats"))["structuredContent"] == {"items": 3}
        async with Client(url + "/bare", protocol=protocol) as client:
            refused = await client.call_tool("admin_stats")
            assert refused["isError"] is True and "HTTP 401" in refused["content"][0]["text"]
    with LiveServer(app) as server:
        anyio.run(main, server.url)


def test_from_app_over_stdio_with_three_clients(peers):
    command = peers.stdio_command("shop")

    async def conduit_client() -> None:
        async with Client(command, env=peers.env()) as client:
            result = await client.call_tool("read_item", {"item_id": 3})
            assert result["structuredContent"]["id"] == 3
            assert (await client.call_tool("admin_stats"))["structuredContent"] == {"items": 3}
    anyio.run(conduit_client)

    import mcp as mcp_sdk

    async def sdk_client() -> None:
        params = mcp_sdk.StdioServerParameters(command=command[0], args=command[1:], env=peers.env())
        async with mcp_sdk.Client(params) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert tools["create_item"].input_schema["required"] == ["shop", "name", "price"]
            result = await client.call_tool("create_item", {"shop": "s", "name": "n", "price": 1})
            assert result.structured_content["name"] == "n"
    anyio.run(sdk_client)

    fastmcp = pytest.importorskip("fastmcp", reason="fastmcp is in the test extra (./dev test installs it)")
    from fastmcp.client.transports import StdioTransport as FastStdio

    async def fastmcp_client() -> None:
        async with fastmcp.Client(FastStdio(command=command[0], args=command[1:], env=peers.env())) as client:
            result = await client.call_tool("read_item", {"item_id": 9, "limit": 2})
            assert result.structured_content == {"id": 9, "q": None, "limit": 2}
    anyio.run(fastmcp_client)


def test_from_openapi_calls_the_api_over_http(shop, peers):
    app = shop.build_app()
    spec = app.openapi()

    async def main(api: str) -> None:
        server = MCPServer.from_openapi(spec, base_url=api, headers={"x-api-key": "k3y"})
        assert server.name == "shop" and server.version == "2.0"
        front = Conduit()
        front.mount_mcp("/mcp", server)
        with LiveServer(front) as mcp_server:
            async with Client(mcp_server.url + "/mcp") as client:
                await _exercise(client, shop)
                assert (await client.call_tool("admin_stats"))["structuredContent"] == {"items": 3}
    with LiveServer(app) as api_server:
        anyio.run(main, api_server.url)


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "pets", "version": "1"},
    "components": {
        "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}},
        "schemas": {"Pet": {"type": "object", "properties": {"name": {"type": "string"},
                                                             "friend": {"$ref": "#/components/schemas/Pet"}}}},
        "requestBodies": {"Names": {"required": True, "content": {"application/json": {
            "schema": {"type": "array", "items": {"type": "string"}}}}}},
    },
    "paths": {
        "/pets": {
            "get": {"summary": "List pets.", "parameters": [{"$ref": "#/components/parameters/Limit"}]},
            "post": {"operationId": "addPets", "requestBody": {"$ref": "#/components/requestBodies/Names"}},
        },
        "/pets/{name}": {
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "put": {"operationId": "put-pet", "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Pet"}}}},
                "parameters": [{"name": "name", "in": "query", "schema": {"type": "string"}}]},
            "post": {"operationId": "upload", "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": {"type": "object"}}}}},
        },
    },
}


def test_from_openapi_document_shapes():
    """Local $refs, path-level parameters, a non-object body, a recursive schema, a form body left out."""
    server = MCPServer.from_openapi(SPEC, base_url="http://127.0.0.1:1")
    assert set(server.tools) == {"get_pets", "addPets", "put-pet"}
    assert server.tools["get_pets"].wire["inputSchema"]["properties"] == {"limit": {"type": "integer"}}
    assert server.tools["addPets"].wire["inputSchema"]["required"] == ["body"]
    put = server.tools["put-pet"].wire["inputSchema"]
    # the query "name" collides with the path "name": it gets a suffix; the body's "name" then
    # collides too, so the body is one argument, its schema's $refs as $defs
    assert set(put["properties"]) == {"name", "name_query", "body"}
    assert put["properties"]["body"] == {"$ref": "#/$defs/Pet"}
    assert put["$defs"]["Pet"]["properties"]["friend"] == {"$ref": "#/$defs/Pet"}


@pytest.mark.parametrize("spec, message", [
    ({"swagger": "2.0", "paths": {}}, "OpenAPI 3"),
    ({"openapi": "3.1.0"}, "paths"),
    ({"openapi": "3.1.0", "paths": {"/a": {"get": {"parameters": [{"$ref": "other.yaml#/x"}]}}}}, "local"),
    ({"openapi": "3.1.0", "paths": {"/a": {"get": {"parameters": [{"$ref": "#/nope"}]}}}}, "points at nothing"),
    ({"openapi": "3.1.0", "paths": {"/a": {"get": {"operationId": "x"}}, "/b": {"get": {"operationId": "x"}}}},
     "GET /a and GET /b"),
])
def test_from_openapi_refuses_bad_documents_naming_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        MCPServer.from_openapi(spec, base_url="http://127.0.0.1:1")


def test_from_openapi_unreachable_api_is_a_clear_error():
    server = MCPServer.from_openapi(SPEC, base_url="http://127.0.0.1:1")
    app = Conduit()
    app.mount_mcp("/mcp", server)

    async def main(url: str) -> None:
        async with Client(url) as client:
            from conduit.mcp.protocol.jsonrpc import InternalError
            with pytest.raises(InternalError, match="127.0.0.1:1"):
                await client.call_tool("get_pets", {"limit": 1})
    with LiveServer(app) as live:
        anyio.run(main, live.url + "/mcp")


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                  max_size=3), max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["create_item", "read_item", "delete_item", "admin_stats"]),
       st.dictionaries(st.sampled_from(["shop", "name", "price", "tags", "dry_run", "item_id", "q", "limit", "x"]),
                       _json, max_size=5))
def test_arbitrary_arguments_get_an_answer_never_a_crash(shop, tool, arguments):
    """Whatever the arguments, the answer is a result or -32602, and the server answers the next call."""
    server = MCPServer.from_app(shop.build_app(), headers={"x-api-key": "k3y"})

    async def main() -> None:
        connection = Connection(server)
        await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        reply = await connection.handle({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": tool, "arguments": arguments}})
        assert "result" in reply or reply["error"]["code"] == -32602, reply
        again = await connection.handle({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                         "params": {"name": "admin_stats", "arguments": {}}})
        assert again["result"]["structuredContent"] == {"items": 3}
    trio.run(main)


def test_from_openapi_reads_a_yaml_or_json_file(tmp_path):
    import json

    import yaml

    (tmp_path / "pets.yaml").write_text(yaml.safe_dump(SPEC))
    (tmp_path / "pets.json").write_text(json.dumps(SPEC))
    for name in ("pets.yaml", "pets.json"):
        server = MCPServer.from_openapi(tmp_path / name, base_url="http://127.0.0.1:1")
        assert set(server.tools) == {"get_pets", "addPets", "put-pet"} and server.name == "pets"


def test_a_streaming_route_is_read_whole_and_its_iterator_closed():
    from conduit.http.response import StreamingResponse

    app = Conduit()
    closed = []

    def parts():
        try:
            yield from ("one ", "two ", "three")
        finally:
            closed.append(True)

    @app.get("/story")
    def story():
        """A story told in chunks."""
        return StreamingResponse(parts(), media_type="text/plain")

    server = MCPServer.from_app(app)

    async def main() -> None:
        connection = Connection(server)
        await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        reply = await connection.handle({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": "story", "arguments": {}}})
        assert reply["result"]["content"] == [{"type": "text", "text": "one two three"}]
    trio.run(main)
    assert closed == [True]
