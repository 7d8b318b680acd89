"""``mcp.add_model_tool``: a served model as a tool, batched together with its HTTP route.

A scikit-learn classifier, compiled and served by ``app.predict``; the tool's schema is the
route's row schema; rows the model refuses are -32602 with the route's entries; and an
HTTP request and an MCP call sent together land in one batch of the one batcher.
"""

from __future__ import annotations

import anyio
import httpx
import numpy as np
import pytest

from conduit import Conduit
from conduit.mcp import MCPServer
from conduit.mcp.client import Client
from conduit.mcp.protocol.jsonrpc import InvalidParams
from conduit.testing.client import LiveServer

sklearn = pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")


@pytest.fixture(scope="module")
def classifier():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def test_model_tool_schema_lists_the_features(classifier):
    from conduit.ml.serve.registry import ModelRegistry

    model, _ = classifier
    registry = ModelRegistry()
    registry.register("clf", model)
    mcp = MCPServer("models")
    tool = mcp.add_model_tool(registry, "clf")
    schema = tool.wire["inputSchema"]
    assert tool.name == "predict_clf" and schema["required"] == ["rows"]
    named, positional = schema["properties"]["rows"]["items"]["anyOf"]  # the route's row schema
    assert named["required"] == ["x0", "x1", "x2", "x3"]  # the model's four features, by name
    assert positional["minItems"] == positional["maxItems"] == 4
    assert schema["properties"]["probabilities"] == {"type": "boolean", "description": "also return class probabilities"}
    assert "features x0, x1, x2, x3" in tool.wire["description"]
    with pytest.raises(ValueError, match="no model named 'nope'"):
        mcp.add_model_tool(registry, "nope")


@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"])
def test_http_and_mcp_callers_share_one_batch(classifier, protocol):
    model, X = classifier
    app = Conduit()
    # max_batch_size=2 rows: the batch flushes the moment both callers' rows are in
    registry = app.predict("/predict", model, name="clf", max_batch_size=2, max_wait=30.0)
    mcp = MCPServer("models")
    mcp.add_model_tool(registry, "clf", app=app, max_batch_size=2, max_wait=30.0)
    app.mount_mcp("/mcp", mcp)
    expected = model.predict(X[:2]).tolist()

    async def main(url: str) -> None:
        answers: dict[str, object] = {}
        async with Client(url + "/mcp", protocol=protocol) as client, httpx.AsyncClient() as http:
            async def over_http() -> None:
                response = await http.post(url + "/predict", json={"rows": [X[0].tolist()]}, timeout=60)
                answers["http"] = response.json()["predictions"]

            async def over_mcp() -> None:
                result = await client.call_tool("predict_clf", {"rows": [X[1].tolist()]}, timeout=60)
                answers["mcp"] = result["structuredContent"]["predictions"]
            async with anyio.create_task_group() as tg:
                tg.start_soon(over_http)
                tg.start_soon(over_mcp)
        assert answers == {"http": expected[:1], "mcp": expected[1:]}
    with LiveServer(app) as server:
        anyio.run(main, server.url)
    ((_, batcher),) = app.state.ml_batchers["/predict"].items()  # one batcher: the route's, used by both
    stats = batcher.statistics()
    assert stats.requests == 2 and stats.batch_sizes == {2: 1}


def test_model_tool_answers_and_refusals(classifier):
    model, X = classifier
    app = Conduit()
    registry = app.predict("/predict", model, name="clf")
    mcp = MCPServer("models")
    mcp.add_model_tool(registry, "clf", app=app, path="/predict")
    app.mount_mcp("/mcp", mcp)

    async def main(url: str) -> None:
        async with Client(url) as client:
            result = await client.call_tool("predict_clf", {"rows": X[:3].tolist(), "probabilities": True})
            body = result["structuredContent"]
            assert body["predictions"] == model.predict(X[:3]).tolist() and body["classes"] == [0, 1]
            assert np.allclose(body["probabilities"], model.predict_proba(X[:3]), atol=1e-6)
            with pytest.raises(InvalidParams) as info:  # three features instead of four
                await client.call_tool("predict_clf", {"rows": [[1.0, 2.0, 3.0]]})
            assert info.value.data[0]["loc"][0] == "arguments" and info.value.data[0]["type"]
            with pytest.raises(InvalidParams) as info:
                await client.call_tool("predict_clf", {"rows": [["a", 1, 2, 3]]})
            assert info.value.data[0]["loc"][:3] == ["arguments", "rows", 0]  # row 0, as the route says
            with pytest.raises(InvalidParams, match="version"):
                await client.call_tool("predict_clf", {"rows": X[:1].tolist(), "version": "9"})
            with pytest.raises(InvalidParams) as info:
                await client.call_tool("predict_clf", {"rows": X[:1].tolist(), "colour": 1, "probabilities": "yes"})
            assert {tuple(e["loc"]) for e in info.value.data} == {("arguments", "colour"),
                                                                  ("arguments", "probabilities")}
            with pytest.raises(InvalidParams) as info:
                await client.call_tool("predict_clf", {})
            assert info.value.data == [{"loc": ["arguments", "rows"], "msg": "field required", "type": "missing"}]
    with LiveServer(app) as server:
        anyio.run(main, server.url + "/mcp")


def test_model_tool_with_the_sdk_and_fastmcp_clients(classifier):
    import mcp as mcp_sdk

    from conduit.ml.serve.registry import ModelRegistry

    model, X = classifier
    registry = ModelRegistry()
    registry.register("clf", model)
    server = MCPServer("models")
    server.add_model_tool(registry, "clf")
    app = Conduit()
    app.mount_mcp("/mcp", server)

    async def sdk(url: str) -> None:
        async with mcp_sdk.Client(url) as client:
            result = await client.call_tool("predict_clf", {"rows": X[:2].tolist()})
            assert result.structured_content["predictions"] == model.predict(X[:2]).tolist()

    async def fast(url: str) -> None:
        fastmcp = pytest.importorskip("fastmcp", reason="fastmcp is in the test extra (./dev test installs it)")
        async with fastmcp.Client(url) as client:
            result = await client.call_tool("predict_clf", {"rows": X[:1].tolist()})
            assert result.structured_content["predictions"] == model.predict(X[:1]).tolist()
    with LiveServer(app) as live:
        anyio.run(sdk, live.url + "/mcp")
        anyio.run(fast, live.url + "/mcp")


def test_model_tool_path_must_name_a_predict_route(classifier):
    model, _ = classifier
    app = Conduit()
    registry = app.predict("/a", model, name="clf")
    app.predict("/b", model, name="clf2")
    mcp = MCPServer("models")
    with pytest.raises(ValueError, match="path="):
        mcp.add_model_tool(registry, "clf", app=app)
    with pytest.raises(ValueError, match="'/c' is not a batched predict route"):
        mcp.add_model_tool(registry, "clf", app=app, path="/c")


def test_model_tool_over_stdio_with_conduit_and_sdk_clients(classifier, peers):
    import mcp as mcp_sdk

    model, X = classifier  # the same seeded fit as peers/model_server.py
    command = peers.stdio_command("model")

    async def conduit_client() -> None:
        async with Client(command, env=peers.env()) as client:
            result = await client.call_tool("predict_clf", {"rows": X[:3].tolist()})
            assert result["structuredContent"]["predictions"] == model.predict(X[:3]).tolist()
            with pytest.raises(InvalidParams):
                await client.call_tool("predict_clf", {"rows": [[1.0]]})

    async def sdk_client() -> None:
        params = mcp_sdk.StdioServerParameters(command=command[0], args=command[1:], env=peers.env())
        async with mcp_sdk.Client(params) as client:
            result = await client.call_tool("predict_clf", {"rows": X[:2].tolist(), "probabilities": True})
            assert result.structured_content["predictions"] == model.predict(X[:2]).tolist()
    anyio.run(conduit_client)
    anyio.run(sdk_client)


@pytest.mark.parametrize("client_kind", ["conduit", "sdk"])
def test_lazily_registered_model_loads_on_the_first_call_then_lists_its_features(classifier, tmp_path, client_kind):
    """``register(name, path, lazy=True)``: nothing loads at add_model_tool; the first call resolves
    (loads) the model, and the tool is advertised again with its four features (list_changed)."""
    import joblib
    import mcp as mcp_sdk

    from conduit.ml.serve.registry import ModelRegistry

    model, X = classifier
    joblib.dump(model, tmp_path / "clf.joblib")
    registry = ModelRegistry()
    registry.register("clf", str(tmp_path / "clf.joblib"), lazy=True)
    server = MCPServer("models")
    server.add_model_tool(registry, "clf")
    assert registry.get("clf").model is None  # still not loaded
    app = Conduit()
    app.mount_mcp("/mcp", server)
    notified: list[str] = []

    async def conduit_client(url: str) -> None:
        async with Client(url, protocol="2025-11-25", on_notification=lambda m, p: notified.append(m)) as client:
            before = {t["name"]: t for t in await client.list_tools()}["predict_clf"]["inputSchema"]
            assert "minItems" not in before["properties"]["rows"]["items"].get("anyOf", [{}])[-1]
            result = await client.call_tool("predict_clf", {"rows": X[:3].tolist()})
            assert result["structuredContent"]["predictions"] == model.predict(X[:3]).tolist()
            with anyio.fail_after(10):
                while "notifications/tools/list_changed" not in notified:
                    await anyio.sleep(0.01)
            after = {t["name"]: t for t in await client.list_tools()}["predict_clf"]
            named, positional = after["inputSchema"]["properties"]["rows"]["items"]["anyOf"]
            assert named["required"] == ["x0", "x1", "x2", "x3"] and positional["maxItems"] == 4
            assert "features x0, x1, x2, x3" in after["description"]
            with pytest.raises(InvalidParams):
                await client.call_tool("predict_clf", {"rows": [[1.0]]})

    async def sdk_client(url: str) -> None:
        changed = anyio.Event()

        async def on_message(message) -> None:
            if getattr(getattr(message, "root", message), "method", None) == "notifications/tools/list_changed":
                changed.set()
        async with mcp_sdk.Client(url, mode="legacy", message_handler=on_message) as client:
            result = await client.call_tool("predict_clf", {"rows": X[:2].tolist(), "probabilities": True})
            assert result.structured_content["predictions"] == model.predict(X[:2]).tolist()
            with anyio.fail_after(10):
                await changed.wait()
            tool = next(t for t in (await client.list_tools()).tools if t.name == "predict_clf")
            assert tool.input_schema["properties"]["rows"]["items"]["anyOf"][0]["required"] == ["x0", "x1", "x2", "x3"]
    with LiveServer(app) as live:
        anyio.run(conduit_client if client_kind == "conduit" else sdk_client, live.url + "/mcp")
    assert registry.get("clf").model is not None


def test_a_lazy_model_that_fails_to_load_is_a_tool_error_and_the_schema_stays(tmp_path):
    """A broken model file: the call is a tool error naming the model (503 advice), the server keeps serving."""
    import trio

    from conduit.mcp.protocol.dispatcher import Connection
    from conduit.ml.serve.registry import ModelRegistry

    (tmp_path / "broken.joblib").write_bytes(b"not a model")
    registry = ModelRegistry()
    registry.register("broken", str(tmp_path / "broken.joblib"), lazy=True)
    server = MCPServer("models")
    tool = server.add_model_tool(registry, "broken")

    async def main() -> None:
        connection = Connection(server)
        await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        answer = await connection.handle({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "predict_broken", "arguments": {"rows": [[1.0, 2.0]]}}})
        assert answer["result"]["isError"] is True
        text = answer["result"]["content"][0]["text"]
        assert "'broken'" in text and "failed to load" in text and "retry after" in text, text
        assert (await connection.handle({"jsonrpc": "2.0", "id": 2, "method": "ping"}))["result"] == {}
    trio.run(main)
    assert server.tools["predict_broken"] is tool


def test_a_new_current_version_with_other_features_is_advertised(classifier):
    """A hot swap to a model of another width: the tool's schema follows it (and list_changed is sent)."""
    from sklearn.linear_model import LogisticRegression

    from conduit.ml.serve.registry import ModelRegistry

    model, X = classifier
    registry = ModelRegistry()
    registry.register("clf", model)
    server = MCPServer("models")
    server.add_model_tool(registry, "clf")
    sent: list[str] = []
    server.add_listener(lambda method, params: sent.append(method))
    narrower = LogisticRegression().fit(X[:, :3], (X[:, 0] > 0).astype(int))
    registry.swap("clf", narrower, version="2")
    rows = server.tools["predict_clf"].wire["inputSchema"]["properties"]["rows"]["items"]["anyOf"]
    assert rows[0]["required"] == ["x0", "x1", "x2"] and rows[1]["maxItems"] == 3
    assert sent == ["notifications/tools/list_changed"]
    registry.swap("clf", narrower, version="3")  # the same features again: nothing to announce
    assert sent == ["notifications/tools/list_changed"]
