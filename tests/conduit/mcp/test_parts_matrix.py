"""Issue 25's "done when": every part x {conduit.mcp.Client, the official SDK's client, FastMCP 4's} x {Streamable HTTP, stdio}.

One scenario per part (peers/parts_server.py builds the servers), written once against a
small driver that each of the three clients implements; one Streamable HTTP server holds
every part (module-scoped), and stdio spawns ``parts_server.py PART`` per client. The
clients speak the handshake era here, where list-changed notifications reach them; the
2026-07-28 era of each part has its own tests beside the part's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import pathlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from conduit.testing.client import LiveServer

PEERS = pathlib.Path(__file__).with_name("peers")
_spec = importlib.util.spec_from_file_location("parts_server", PEERS / "parts_server.py")  # peers/ holds scripts
parts_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(parts_server)

mcp_sdk = pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")
fastmcp = pytest.importorskip("fastmcp", reason="fastmcp is in the test extra (./dev test installs it)")
pytest.importorskip("sklearn", reason="sklearn is in the test extra (the model part serves a classifier)")


@dataclasses.dataclass
class Outcome:
    """What a client got from ``tools/call``: its texts and structured content, or the JSON-RPC error code."""

    texts: list[str] = dataclasses.field(default_factory=list)
    structured: Any = None
    is_error: bool = False
    code: int | None = None


class Driver:
    """One connected client; ``notified`` holds the methods of the notifications it received."""

    def __init__(self) -> None:
        self.notified: list[str] = []

    def on_message(self, message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if isinstance(method, str) and method.startswith("notifications/"):
            self.notified.append(method)

    async def wait_for(self, method: str) -> None:
        with anyio.fail_after(30):
            while method not in self.notified:
                await anyio.sleep(0.01)
        self.notified.remove(method)


class ConduitDriver(Driver):
    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client

    async def tools(self) -> set[str]:
        return {t["name"] for t in await self.client.list_tools()}

    async def call(self, name: str, arguments: dict[str, Any]) -> Outcome:
        from conduit.mcp import MCPError

        try:
            result = await self.client.call_tool(name, arguments)
        except MCPError as exc:
            return Outcome(code=exc.code)
        return Outcome([c.get("text") for c in result["content"]], result.get("structuredContent"),
                       bool(result.get("isError")))

    async def read(self, uri: str) -> str:
        return (await self.client.read_resource(uri))["contents"][0]["text"]


class TypedDriver(Driver):
    """The SDK's and FastMCP's clients: typed results, errors raised with ``.error.code``."""

    def __init__(self, client: Any, call_options: dict[str, Any]) -> None:
        super().__init__()
        self.client, self.call_options = client, call_options

    async def tools(self) -> set[str]:
        listed = await self.client.list_tools()
        return {t.name for t in getattr(listed, "tools", listed)}

    async def call(self, name: str, arguments: dict[str, Any]) -> Outcome:
        try:
            result = await self.client.call_tool(name, arguments, **self.call_options)
        except Exception as exc:  # noqa: BLE001 - each client raises its own class; the code is what counts
            code = getattr(getattr(exc, "error", None), "code", None)
            if code is None:
                raise
            return Outcome(code=code)
        return Outcome([getattr(c, "text", None) for c in result.content], result.structured_content,
                       bool(result.is_error))

    async def read(self, uri: str) -> str:
        read = await self.client.read_resource(uri)
        return getattr(read, "contents", read)[0].text


@contextlib.asynccontextmanager
async def connect(kind: str, target: str | list[str]) -> AsyncIterator[Driver]:
    """``kind``'s client connected to ``target`` (a URL, or a command to spawn), handshake era."""
    env = parts_server._peer("launch").env()
    if kind == "conduit":
        from conduit.mcp.client import Client

        holder: list[Driver] = []
        async with Client(target, protocol="2025-11-25", env=env,
                          on_notification=lambda method, params: holder[0].notified.append(method)) as client:
            holder.append(ConduitDriver(client))
            yield holder[0]
        return
    stdio = isinstance(target, list)
    holder = []

    async def on_message(message: Any) -> None:
        holder[0].on_message(message)
    if kind == "sdk":
        where = mcp_sdk.StdioServerParameters(command=target[0], args=target[1:], env=env) if stdio else target
        async with mcp_sdk.Client(where, mode="legacy", message_handler=on_message) as client:
            holder.append(TypedDriver(client, {}))
            yield holder[0]
        return
    from fastmcp.client.transports import StdioTransport

    where = StdioTransport(command=target[0], args=target[1:], env=env) if stdio else target
    async with fastmcp.Client(where, mode="legacy", message_handler=on_message, cache=False) as client:
        holder.append(TypedDriver(client, {"raise_on_error": False}))
        yield holder[0]


# ------------------------------------------------------------------ one scenario per part
async def compose(client: Driver) -> None:
    assert {"hello", "weather_forecast", "weather_station_link"} <= await client.tools()
    assert (await client.call("weather_forecast", {"city": "Oslo"})).texts == ["sunny in Oslo"]
    assert await client.read("weather://data/stations/7") == "station 7"
    assert (await client.call("forecast", {"city": "Oslo"})).code == -32602  # the child's own name is not served
    assert (await client.call("unmount_weather", {})).texts == ["unmounted"]
    await client.wait_for("notifications/tools/list_changed")
    assert not any(name.startswith("weather_") for name in await client.tools())
    assert (await client.call("weather_forecast", {"city": "Oslo"})).code == -32602
    assert (await client.call("mount_weather", {})).texts == ["mounted"]
    await client.wait_for("notifications/tools/list_changed")
    assert (await client.call("weather_forecast", {"city": "Rome"})).texts == ["sunny in Rome"]


async def proxy(client: Driver) -> None:
    assert {"add", "count", "slow", "ask_name"} <= await client.tools()
    assert (await client.call("add", {"a": 20, "b": 22})).texts == ["42"]
    assert await client.read("data://greeting") == "hello from the SDK"
    refused = await client.call("add", {"a": "x", "b": 1})  # the remote's own refusal, carried back
    assert refused.is_error and "a" in refused.texts[0], refused


async def _shop(client: Driver) -> None:
    created = await client.call("create_item", {"shop": "north", "name": "lamp", "price": 12.5})
    assert created.structured == {"shop": "north", "name": "lamp", "price": 12.5, "dry_run": False}
    read = await client.call("read_item", {"item_id": 7, "q": "x y", "limit": 3})
    assert read.structured == {"id": 7, "q": "x y", "limit": 3}
    assert (await client.call("create_item", {"shop": "north", "name": "lamp", "price": "cheap"})).code == -32602
    assert (await client.call("admin_stats", {})).structured == {"items": 3}  # the API key was sent
    missing = await client.call("delete_item", {"item_id": 404})
    assert missing.is_error and "no such item" in missing.texts[0]


async def model(client: Driver) -> None:
    fitted, X = parts_server._peer("model_server").fitted()
    assert "predict_clf" in await client.tools()
    result = await client.call("predict_clf", {"rows": X[:3].tolist()})  # loads the lazy model
    assert result.structured["predictions"] == fitted.predict(X[:3]).tolist()
    assert (await client.call("predict_clf", {"rows": [[1.0, 2.0]]})).code == -32602  # two features, not four


async def middleware(client: Driver) -> None:
    first = await client.call("counter", {"key": "a"})
    assert first.texts[-1] == "signed"  # the custom middleware saw the call
    assert (await client.call("counter", {"key": "a"})).structured == first.structured  # cached: the body did not run
    other = await client.call("counter", {"key": "b"})
    assert other.structured != first.structured  # other arguments are another entry
    assert [(await client.call("limited", {})).texts[0] for _ in range(2)] == ["allowed", "allowed"]
    assert (await client.call("limited", {})).code == -32029
    records = (await client.call("request_log", {"last": 12})).structured["records"]
    calls = [(r["target"], r["outcome"], r["code"]) for r in records if r["method"] == "tools/call"]
    assert calls[-6:] == [  # this call's own record follows it; some clients list the tools in between
        ("counter", "ok", None), ("counter", "ok", None), ("counter", "ok", None), ("limited", "ok", None),
        ("limited", "ok", None), ("limited", "error", -32029)]


async def search(client: Driver) -> None:
    listed = await client.tools()
    assert listed == {"search_tools", "catalogue_help"}
    found = await client.call("search_tools", {"query": "what will the weather be in Lisbon", "limit": 3})
    tools = found.structured["tools"]
    assert len(tools) == 3 and tools[0]["name"].startswith("weather_") and "inputSchema" in tools[0]
    await client.wait_for("notifications/tools/list_changed")
    assert await client.tools() == listed | {t["name"] for t in tools}
    arguments = {name: "x" for name in tools[0]["inputSchema"].get("properties", {})}
    called = await client.call(tools[0]["name"], arguments)
    assert called.texts[0].startswith(f"called {tools[0]['name']}")


SCENARIOS = {"compose": compose, "proxy": proxy, "from_app": _shop, "from_openapi": _shop, "model": model,
             "middleware": middleware, "search": search}
assert set(SCENARIOS) == set(parts_server.PARTS)


@pytest.fixture(scope="module")
def api() -> Any:
    """The shop app over HTTP: what from_openapi calls."""
    with LiveServer(parts_server._peer("shop_app").build_app()) as live:
        yield live.url


@pytest.fixture(scope="module")
def http_parts(api: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with LiveServer(parts_server.parts_app(api, str(tmp_path_factory.mktemp("model")))) as live:
        yield live.url


@pytest.mark.parametrize("client", ["conduit", "sdk", "fastmcp"])
@pytest.mark.parametrize("part", parts_server.PARTS)
def test_part_over_streamable_http(part: str, client: str, http_parts: str) -> None:
    async def main() -> None:
        with anyio.fail_after(120):
            async with connect(client, f"{http_parts}/{part}") as driver:
                await SCENARIOS[part](driver)
    anyio.run(main)


@pytest.mark.parametrize("client", ["conduit", "sdk", "fastmcp"])
@pytest.mark.parametrize("part", parts_server.PARTS)
def test_part_over_stdio(part: str, client: str, api: str) -> None:
    async def main() -> None:
        with anyio.fail_after(120):
            async with connect(client, [sys.executable, str(PEERS / "parts_server.py"), part, api]) as driver:
                await SCENARIOS[part](driver)
    anyio.run(main)
