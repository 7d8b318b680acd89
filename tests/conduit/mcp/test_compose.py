"""``MCPServer.mount``: another server's tools, prompts, resources and templates under a prefix.

Driven by conduit.mcp.Client, the official SDK's client and FastMCP's, over Streamable HTTP
(a real server on 127.0.0.1) and stdio (a subprocess); both eras. Plus the registry-level
rules: collisions named at mount, unmount at run time announces list_changed, the child's
later changes and resource updates reach the parent's clients with URIs rewritten.
"""

from __future__ import annotations

import importlib.util
import pathlib
import time

import anyio
import pytest
from hypothesis import given, strategies as st

from conduit import Conduit
from conduit.mcp import MCPServer
from conduit.mcp.client import Client
from conduit.mcp.compose import child_uri, parent_uri
from conduit.mcp.protocol.jsonrpc import InvalidParams
from conduit.testing.client import LiveServer

PEERS = pathlib.Path(__file__).with_name("peers")


def _composed():
    spec = importlib.util.spec_from_file_location("composed_server", PEERS / "composed_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _exercise(client: Client) -> None:
    tools = {t["name"]: t for t in await client.list_tools()}
    assert {"hello", "weather_forecast", "weather_station_link"} <= set(tools)
    assert tools["weather_forecast"]["description"] == "Tomorrow's weather for a city."
    assert tools["weather_forecast"]["inputSchema"]["required"] == ["city"]
    progress = []
    result = await client.call_tool("weather_forecast", {"city": "Oslo"}, progress=lambda p, t, m: progress.append(p))
    assert result["content"][0]["text"] == "sunny in Oslo" and progress == [1, 2]
    links = (await client.call_tool("weather_station_link", {"station": 7}))["content"]
    assert [link["uri"] for link in links] == ["weather://data/stations/7", "https://example.org/x"]
    read = await client.read_resource(links[0]["uri"])
    assert [(c["uri"], c["text"]) for c in read["contents"]] == [("weather://data/stations/7", "station 7")]
    assert {r["uri"] for r in await client.list_resources()} == {"weather://data/stations"}
    assert [t["uriTemplate"] for t in await client.list_resource_templates()] == ["weather://data/stations/{station_id}"]
    prompt = await client.get_prompt("weather_brief", {"city": "Oslo"})
    assert prompt["messages"][0]["content"]["text"] == "Brief me on Oslo"
    completion = await client.complete({"type": "ref/resource", "uri": "weather://data/stations/{station_id}"},
                                       "station_id", "")
    assert completion["values"] == ["1", "2", "7"]
    with pytest.raises(InvalidParams):  # the child's own name is not served by the parent
        await client.call_tool("forecast", {"city": "Oslo"})
    with pytest.raises(InvalidParams):
        await client.read_resource("data://stations/7")


@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"])
def test_mounted_server_over_streamable_http_with_conduit_client(protocol):
    parent, _ = _composed().composed()
    app = Conduit()
    app.mount_mcp("/mcp", parent)

    async def main(url: str) -> None:
        logs: list = []
        async with Client(url, protocol=protocol, on_log=logs.append, log_level="debug") as client:
            await _exercise(client)
        assert any(entry.get("data") == "forecasting Oslo" for entry in logs)  # the mounted tool's log
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"])
def test_mounted_server_over_stdio_with_conduit_client(protocol, peers):
    async def main() -> None:
        async with Client(peers.stdio_command("composed"), env=peers.env(), protocol=protocol) as client:
            await _exercise(client)
    anyio.run(main)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_mounted_server_with_the_official_sdk_client(mode, peers):
    mcp_sdk = pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")
    parent, _ = _composed().composed()
    app = Conduit()
    app.mount_mcp("/mcp", parent)

    async def drive(target) -> None:
        progress = []

        async def on_progress(value, total, message) -> None:
            progress.append(value)
        async with mcp_sdk.Client(target, mode=mode) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"hello", "weather_forecast"} <= names
            result = await client.call_tool("weather_forecast", {"city": "Rome"}, progress_callback=on_progress)
            assert result.content[0].text == "sunny in Rome" and progress == [1, 2]
            read = await client.read_resource("weather://data/stations/2")
            assert read.contents[0].text == "station 2"
            prompt = await client.get_prompt("weather_brief", {"city": "Rome"})
            assert prompt.messages[0].content.text == "Brief me on Rome"
    with LiveServer(app) as server:
        anyio.run(drive, server.url + "/mcp")
    params = mcp_sdk.StdioServerParameters(command=peers.stdio_command("composed")[0],
                                           args=peers.stdio_command("composed")[1:], env=peers.env())
    anyio.run(drive, params)


def test_mounted_server_with_the_fastmcp_client(peers):
    fastmcp = pytest.importorskip("fastmcp", reason="fastmcp is in the test extra (./dev test installs it)")
    parent, _ = _composed().composed()
    app = Conduit()
    app.mount_mcp("/mcp", parent)

    async def drive(target) -> None:
        async with fastmcp.Client(target) as client:
            names = {t.name for t in await client.list_tools()}
            assert {"hello", "weather_forecast"} <= names
            result = await client.call_tool("weather_forecast", {"city": "Lima"})
            assert result.content[0].text == "sunny in Lima"
            contents = await client.read_resource("weather://data/stations/1")
            assert contents[0].text == "station 1"
    with LiveServer(app) as server:
        anyio.run(drive, server.url + "/mcp")
    from fastmcp.client.transports import StdioTransport as FastStdio
    command = peers.stdio_command("composed")
    anyio.run(drive, FastStdio(command=command[0], args=command[1:], env=peers.env()))


def test_unmount_and_child_changes_reach_a_connected_client():
    """Runtime changes: the child's new tool, its resource update, then unmount — each announced."""
    parent, weather = _composed().composed()
    app = Conduit()
    app.mount_mcp("/mcp", parent)
    seen: list[tuple[str, dict]] = []

    async def wait_for(method: str) -> dict:
        with anyio.fail_after(10):
            while True:
                for got, params in seen:
                    if got == method:
                        seen.remove((got, params))
                        return params
                await anyio.sleep(0.02)

    async def main(url: str) -> None:
        async with Client(url, protocol="2025-11-25", on_notification=lambda m, p: seen.append((m, p))) as client:
            await client.subscribe_resource("weather://data/stations")
            await anyio.sleep(0.2)  # the GET stream is open before the changes below
            weather.add_tool(lambda: "rain", name="radar")
            await wait_for("notifications/tools/list_changed")
            assert "weather_radar" in {t["name"] for t in await client.list_tools()}
            assert (await client.call_tool("weather_radar"))["content"][0]["text"] == "rain"
            weather.notify_resource_updated("data://stations")
            assert (await wait_for("notifications/resources/updated"))["uri"] == "weather://data/stations"
            parent.unmount("weather")
            await wait_for("notifications/tools/list_changed")
            assert {t["name"] for t in await client.list_tools()} == {"hello"}
            with pytest.raises(InvalidParams):
                await client.call_tool("weather_forecast", {"city": "Oslo"})
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


# ------------------------------------------------------------------ registration errors
def test_mount_name_collision_is_an_error_naming_both():
    composed = _composed()
    parent = MCPServer("parent")

    @parent.tool(name="weather_forecast")
    def mine() -> str:
        return "mine"

    with pytest.raises(ValueError) as info:
        parent.mount(composed.weather_server(), prefix="weather")
    message = str(info.value)
    assert "'weather_forecast'" in message and "'weather'" in message and "'parent'" in message
    assert set(parent.tools) == {"weather_forecast"} and parent.tools["weather_forecast"].fn is mine  # nothing installed
    assert parent.mounts == {}


def test_mount_twice_at_one_prefix_is_an_error_and_the_first_stays():
    composed = _composed()
    outer = MCPServer("outer")
    outer.mount(composed.weather_server(), prefix="weather")
    first = outer.tools["weather_forecast"]
    with pytest.raises(ValueError, match="already mounted"):
        outer.mount(composed.weather_server(), prefix="weather")
    assert outer.tools["weather_forecast"] is first


def test_nested_mounts_compose_names_and_uris():
    composed = _composed()
    middle = MCPServer("middle")
    middle.mount(composed.weather_server(), prefix="weather")
    top = MCPServer("top")
    top.mount(middle, prefix="eu")
    assert "eu_weather_forecast" in top.tools
    assert "eu://weather/data/stations/{station_id}" in top.templates


@pytest.mark.parametrize("prefix", ["", "1abc", "we ather", "a_b", "x://", None, 3])
def test_mount_refuses_a_bad_prefix(prefix):
    parent = MCPServer("parent")
    with pytest.raises(ValueError, match="prefix"):
        parent.mount(MCPServer("child"), prefix=prefix)


def test_mount_on_itself_and_unknown_unmount_are_errors():
    parent = MCPServer("parent")
    with pytest.raises(ValueError, match="itself"):
        parent.mount(parent, prefix="me")
    with pytest.raises(KeyError, match="nope"):
        parent.unmount("nope")


def test_a_later_child_tool_that_collides_is_skipped_and_the_parent_keeps_its_own(caplog):
    parent = MCPServer("parent")
    parent.add_tool(lambda: "parent's", name="w_later")
    child = MCPServer("child")
    parent.mount(child, prefix="w")
    child.add_tool(lambda: "child's", name="later")
    assert parent.tools["w_later"].fn() == "parent's"
    assert "collides" in caplog.text and "w_later" in caplog.text


@given(st.text(min_size=0, max_size=40))
def test_uri_rewriting_round_trips(uri):
    assert child_uri("weather", parent_uri("weather", uri)) == uri
    assert child_uri("weather", "other://" + uri) is None


def test_mounted_tools_are_found_by_the_parents_tool_search():
    """A parent with tool_search=True indexes what it mounts: search finds weather_forecast, which then runs."""
    import trio

    from conduit.mcp.protocol.dispatcher import Connection

    parent = MCPServer("assistant", tool_search=True, pinned=[])
    parent.mount(_composed().weather_server(), prefix="weather")

    async def main() -> None:
        connection = Connection(parent)
        await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        listed = await connection.handle({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
        assert [t["name"] for t in listed["result"]["tools"]] == ["search_tools"]
        found = await connection.handle({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "search_tools", "arguments": {"query": "tomorrow's weather for a city"}}})
        assert found["result"]["structuredContent"]["tools"][0]["name"] == "weather_forecast"
        called = await connection.handle({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "weather_forecast", "arguments": {"city": "Oslo"}}})
        assert called["result"]["content"][0]["text"] == "sunny in Oslo"
    trio.run(main)
