"""Decorators written without their parentheses: a clear TypeError, or (MCP tools and
prompts, whose one argument is optional) a real registration. Never a silent no-op."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from conduit import APIRouter, Conduit, TestClient
from conduit.mcp import MCPServer
from conduit.mcp.protocol.dispatcher import Connection

HTTP_DECORATORS = ["get", "post", "put", "patch", "delete", "head", "options", "route"]


@pytest.mark.parametrize("method", HTTP_DECORATORS)
def test_bare_app_route_decorator_is_a_type_error_naming_the_fix(method):
    app = Conduit(openapi_url=None, docs_url=None)
    with pytest.raises(TypeError, match=rf"@app\.{method}\('/path'\) above hello\(\)"):
        @getattr(app, method)
        async def hello():
            return "hi"
    assert app.router.routes == []


@pytest.mark.parametrize("method", HTTP_DECORATORS)
def test_bare_router_decorator_is_a_type_error(method):
    router = APIRouter(prefix="/api")
    with pytest.raises(TypeError, match=rf"@router\.{method}\('/path'\)"):
        @getattr(router, method)
        def hello():
            return "hi"
    assert router.registrations == []


def test_bare_websocket_and_exception_handler_are_type_errors():
    app = Conduit(openapi_url=None, docs_url=None)
    with pytest.raises(TypeError, match=r"@app\.websocket\('/path'\)"):
        @app.websocket
        async def chat(ws):
            pass
    with pytest.raises(TypeError, match="exception class or a status code"):
        @app.exception_handler
        def on_error(request, exc):
            return "x"
    assert app.router.routes == [] and app.exception_handlers == {}


def test_called_decorators_still_register():
    app = Conduit(openapi_url=None, docs_url=None)

    @app.get("/hello")
    def hello():
        return "hi"

    router = APIRouter(prefix="/api")

    @router.post("/items")
    def create():
        return {"ok": True}

    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/hello").text == "hi"
        assert client.post("/api/items").json() == {"ok": True}


async def _call(server: MCPServer, *messages: dict[str, Any]) -> list[Any]:
    connection = Connection(server)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}

    async def send(message: dict[str, Any]) -> None:
        pass

    return [await connection.handle(m, send) for m in (init, *messages)][1:]


def test_bare_mcp_tool_and_prompt_register_under_the_function_name():
    mcp = MCPServer("bare")

    @mcp.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @mcp.prompt
    def greet(name: str) -> str:
        return f"Hello {name}"

    assert add(2, 3) == 5 and greet("x") == "Hello x"  # the functions themselves come back
    listed, called, prompted = trio.run(
        _call, mcp,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}},
        {"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": "greet", "arguments": {"name": "Ada"}}},
    )
    assert [t["name"] for t in listed["result"]["tools"]] == ["add"]
    assert listed["result"]["tools"][0]["description"] == "Add two integers."
    assert called["result"]["structuredContent"] == {"result": 5}
    assert prompted["result"]["messages"][0]["content"]["text"] == "Hello Ada"


def test_bare_mcp_tool_is_the_same_as_called_with_no_arguments():
    bare, called = MCPServer("a"), MCPServer("b")

    def echo(text: str) -> str:
        return text

    bare.tool(echo)
    called.tool()(echo)
    assert bare.tools["echo"].wire == called.tools["echo"].wire


def test_bare_mcp_resource_and_completion_are_type_errors():
    mcp = MCPServer("bare")
    with pytest.raises(TypeError, match=r"@mcp\.resource needs a URI: write @mcp\.resource\('data://items'\)"):
        @mcp.resource
        def items() -> str:
            return "x"
    with pytest.raises(TypeError, match="argument"):  # two required arguments: Python refuses it already
        @mcp.completion
        def complete(value, context):
            return []
    assert mcp.resources == {} and mcp.templates == {} and mcp.completers == {}
