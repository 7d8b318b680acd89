"""``MCPServer.proxy``: a remote MCP server served through Conduit, and mounted.

The headline case: the official SDK's stdio-only server, proxied, reachable over
Streamable HTTP behind Conduit's bearer auth, driven by conduit.mcp.Client (both eras),
the SDK's own client and FastMCP's. Then: a Conduit HTTP server proxied over stdio,
remote errors arriving with their own code and data, an unreachable remote named in the
error while the proxy keeps serving, and a proxy mounted under a prefix.
"""

from __future__ import annotations

import anyio
import pytest

from conduit import Conduit
from conduit.mcp import MCPServer
from conduit.mcp.client import AuthenticationError, Client
from conduit.mcp.protocol.jsonrpc import InternalError, InvalidParams
from conduit.testing.client import LiveServer

pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")


def _sdk_proxy_app(peers, **mount_options) -> Conduit:
    app = Conduit()
    app.mount_mcp("/mcp", MCPServer.proxy(peers.stdio_command("sdk"), env=peers.env()), **mount_options)
    return app


async def _exercise(client: Client) -> None:
    tools = {t["name"]: t for t in await client.list_tools()}
    assert {"add", "count", "slow", "ask_name"} <= set(tools)
    assert tools["add"]["description"] == "Add two integers."
    assert (await client.call_tool("add", {"a": 20, "b": 22}))["content"][0]["text"] == "42"
    progress = []
    result = await client.call_tool("count", {"steps": 2}, progress=lambda p, t, m: progress.append(p))
    assert result["content"][0]["text"] == "counted 2" and progress == [1, 2]
    read = await client.read_resource("data://greeting")
    assert read["contents"][0]["text"] == "hello from the SDK"
    prompt = await client.get_prompt("greet", {"name": "Ada"})
    assert "Ada" in prompt["messages"][0]["content"]["text"]
    with anyio.move_on_after(0.3):  # cancelled downstream: the proxy cancels upstream and carries on
        await client.call_tool("slow", {"seconds": 30})
    assert (await client.call_tool("add", {"a": 1, "b": 2}))["content"][0]["text"] == "3"


@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"])
def test_stdio_only_sdk_server_over_streamable_http_with_auth(protocol, peers):
    app = _sdk_proxy_app(peers, auth="s3cret")

    async def main(url: str) -> None:
        with pytest.raises(AuthenticationError):
            async with Client(url, protocol=protocol):
                pass
        async with Client(url, protocol=protocol, auth="s3cret") as client:
            assert client.modern is (protocol == "auto")
            await _exercise(client)
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


def test_proxy_with_the_official_sdk_client(peers):
    import mcp as mcp_sdk

    app = _sdk_proxy_app(peers)

    async def drive(url: str) -> None:
        for mode in ("legacy", "2026-07-28"):
            async with mcp_sdk.Client(url, mode=mode) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert {"add", "count"} <= names
                result = await client.call_tool("add", {"a": 2, "b": 2})
                assert result.content[0].text == "4"
                read = await client.read_resource("data://greeting")
                assert read.contents[0].text == "hello from the SDK"
    with LiveServer(app) as server:
        anyio.run(drive, server.url + "/mcp")


def test_proxy_with_the_fastmcp_client(peers):
    fastmcp = pytest.importorskip("fastmcp", reason="fastmcp is in the test extra (./dev test installs it)")
    app = Conduit()
    app.mount_mcp("/mcp", MCPServer.proxy(peers.stdio_command("fastmcp"), env=peers.env()))

    async def drive(url: str) -> None:
        async with fastmcp.Client(url) as client:
            assert {"add", "count", "slow"} <= {t.name for t in await client.list_tools()}
            assert (await client.call_tool("add", {"a": 5, "b": 6})).content[0].text == "11"
            assert (await client.read_resource("data://greeting"))[0].text == "hello from FastMCP"
    with LiveServer(app) as server:
        anyio.run(drive, server.url + "/mcp")


@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"])
def test_conduit_http_server_proxied_over_stdio_keeps_remote_errors(protocol, everything, peers):
    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp)

    async def main(url: str) -> None:
        command = peers.stdio_command("proxy") + [url]
        async with Client(command, env=peers.env(), protocol=protocol) as client:
            assert (await client.call_tool("test_simple_text"))["content"][0]["text"].startswith("This is a simple")
            assert (await client.call_tool("test_error_handling"))["isError"] is True
            with pytest.raises(InvalidParams) as info:  # the remote's own -32602 and data, passed through
                await client.read_resource("test://no-such-resource")
            assert info.value.data == {"uri": "test://no-such-resource"}
            templates = await client.list_resource_templates()
            assert any(t["uriTemplate"] == "test://template/{id}/data" for t in templates)
            read = await client.read_resource("test://template/42/data")
            assert "42" in read["contents"][0]["text"]
            completion = await client.complete({"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                                               "arg1", "")
            assert isinstance(completion["values"], list)
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


def test_unreachable_remote_is_a_clear_error_and_the_proxy_keeps_serving(peers):
    app = Conduit()
    app.mount_mcp("/mcp", MCPServer.proxy("http://127.0.0.1:1/mcp", timeout=5))
    ok = MCPServer("ok")
    ok.add_tool(lambda: "fine", name="ping_me")
    app.mount_mcp("/ok", ok)

    async def main(url: str) -> None:
        for _ in range(2):  # each request tries again, and says why it failed
            with pytest.raises(InternalError, match="127.0.0.1:1.*unreachable"):
                async with Client(url + "/mcp", protocol="2025-11-25"):
                    pass
        async with Client(url + "/ok") as client:
            assert (await client.call_tool("ping_me"))["content"][0]["text"] == "fine"
    with LiveServer(app) as server:
        anyio.run(main, server.url)


def test_mounted_proxy(peers):
    parent = MCPServer("parent")
    parent.add_tool(lambda: "local", name="local")
    parent.mount(MCPServer.proxy(peers.stdio_command("sdk"), env=peers.env()), prefix="sdk")
    app = Conduit()
    app.mount_mcp("/mcp", parent)

    async def main(url: str) -> None:
        for protocol in ("auto", "2025-11-25"):
            async with Client(url, protocol=protocol) as client:
                names = {t["name"] for t in await client.list_tools()}
                assert {"local", "sdk_add", "sdk_count"} <= names
                assert (await client.call_tool("sdk_add", {"a": 1, "b": 2}))["content"][0]["text"] == "3"
                read = await client.read_resource("sdk://data/greeting")
                assert read["contents"][0]["text"] == "hello from the SDK"
                assert (await client.get_prompt("sdk_greet", {"name": "Bo"}))["messages"]
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


def test_proxy_refuses_a_bad_target_at_creation():
    with pytest.raises(ValueError, match="command"):
        MCPServer.proxy([])
    with pytest.raises(ValueError, match="protocol"):
        MCPServer.proxy("http://127.0.0.1:1/mcp", protocol="1999")


def test_proxy_served_over_stdio_with_the_sdk_client(everything, peers):
    """A Conduit HTTP server, proxied by a process that serves it over stdio, driven by the SDK."""
    import mcp as mcp_sdk

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp)

    async def drive(url: str) -> None:
        command = peers.stdio_command("proxy") + [url]
        params = mcp_sdk.StdioServerParameters(command=command[0], args=command[1:], env=peers.env())
        for mode in ("legacy", "2026-07-28"):
            async with mcp_sdk.Client(params, mode=mode) as client:
                result = await client.call_tool("test_simple_text", {})
                assert result.content[0].text == "This is a simple text response for testing."
                read = await client.read_resource("test://static-text")
                assert read.contents[0].text == "This is the content of the static text resource."
    with LiveServer(app) as server:
        anyio.run(drive, server.url + "/mcp")


@pytest.mark.parametrize("remote_protocol, caller_protocol", [
    ("auto", "auto"), ("auto", "2025-11-25"), ("2025-11-25", "2025-11-25")])
def test_remote_sampling_and_elicitation_are_asked_of_the_caller(remote_protocol, caller_protocol, everything):
    """The remote's tool asks for sampling / elicitation; the proxy asks its own caller, in the caller's era."""
    remote_app = Conduit()
    remote_app.mount_mcp("/mcp", everything.mcp)
    asked: list[str] = []

    async def sample(params):
        asked.append(params["messages"][0]["content"]["text"])
        return {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "stub"}

    async def elicit(params):
        asked.append(params["message"])
        return {"action": "accept", "content": {"response": "yes"}}

    async def main(url: str) -> None:
        async with Client(url, protocol=caller_protocol, sampling=sample, elicitation=elicit) as client:
            result = await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
            assert result["content"][0]["text"] == "LLM response: Paris"
            result = await client.call_tool("test_elicitation", {"message": "Agree?"})
            assert "action=accept" in result["content"][0]["text"]
        assert "Capital of France?" in asked and "Agree?" in asked

    with LiveServer(remote_app) as remote:
        proxy_app = Conduit()
        proxy_app.mount_mcp("/mcp", MCPServer.proxy(remote.url + "/mcp", protocol=remote_protocol))
        with LiveServer(proxy_app) as server:
            anyio.run(main, server.url + "/mcp")
