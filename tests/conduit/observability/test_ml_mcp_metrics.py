"""Per-model and per-tool Prometheus families, read back from the registry after real traffic."""

from __future__ import annotations

import numpy as np
import pytest
import trio
from prometheus_client import REGISTRY
from sklearn.linear_model import LogisticRegression

from conduit import Conduit, LiveServer
from conduit.mcp import MCPServer
from conduit.mcp.protocol.dispatcher import Connection
from conduit.testing.client import TestClient


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
def iris_like():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def test_predict_route_records_requests_rows_latency_batches_errors_and_path(iris_like):
    model, X = iris_like
    app = Conduit()
    app.predict("/predict", model, name="metrics-lr", version=3, max_queue=16)
    labels = {"model": "metrics-lr", "version": "3"}
    before = {n: value(n, **labels) for n in ("conduit_model_requests_total", "conduit_model_rows_total",
                                              "conduit_model_request_duration_seconds_count",
                                              "conduit_model_batch_size_count",
                                              "conduit_model_queue_wait_seconds_count")}
    with TestClient(app) as client:
        assert client.post("/predict", json={"rows": X[:5].tolist()}).status_code == 200
        assert client.post("/predict", json={"rows": X[:2].tolist()}).status_code == 200
        assert client.post("/predict", json={"rows": [[1, 2]]}).status_code == 422
        assert client.post("/predict", json={"rows": X[:17].tolist()}).status_code == 413
    assert value("conduit_model_requests_total", **labels) - before["conduit_model_requests_total"] == 4
    assert value("conduit_model_rows_total", **labels) - before["conduit_model_rows_total"] == 5 + 2 + 17
    assert value("conduit_model_request_duration_seconds_count", **labels) - \
        before["conduit_model_request_duration_seconds_count"] == 4
    assert value("conduit_model_batch_size_count", **labels) - before["conduit_model_batch_size_count"] == 2
    assert value("conduit_model_queue_wait_seconds_count", **labels) - \
        before["conduit_model_queue_wait_seconds_count"] == 2
    assert value("conduit_model_errors_total", type="ValidationError", **labels) >= 1
    assert value("conduit_model_errors_total", type="PayloadTooLarge", **labels) >= 1
    assert value("conduit_model_info", path="compiled", **labels) == 1.0


def test_more_rows_than_the_queue_can_ever_hold_is_413_naming_the_limit_over_a_socket(iris_like):
    import httpx

    model, X = iris_like
    app = Conduit()
    app.predict("/predict", model, name="limit-lr", max_queue=8)
    with LiveServer(app) as server:
        too_many = httpx.post(server.url + "/predict", json={"rows": X[:9].tolist()})
        fits = httpx.post(server.url + "/predict", json={"rows": X[:8].tolist()})
    assert too_many.status_code == 413
    assert "retry-after" not in too_many.headers
    detail = too_many.json()["error"]["detail"]
    assert "max_queue=8" in detail and "9 rows" in detail
    assert fits.status_code == 200 and len(fits.json()["predictions"]) == 8


def test_mcp_tool_calls_errors_and_latency_per_tool():
    mcp = MCPServer("metrics")

    @mcp.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @mcp.tool()
    def explode() -> str:
        raise RuntimeError("tool failure")

    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    before_add = value("conduit_mcp_tool_calls_total", tool="add")
    before_err = value("conduit_mcp_tool_errors_total", tool="explode", type="RuntimeError")

    async def main():
        connection = Connection(mcp)

        async def send(message):
            pass

        await connection.handle(init, send)
        replies = []
        for i, (name, args) in enumerate([("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4}),
                                          ("explode", {})], start=1):
            replies.append(await connection.handle(
                {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": args}},
                send))
        return replies

    replies = trio.run(main)
    assert replies[2]["result"]["isError"] is True
    assert value("conduit_mcp_tool_calls_total", tool="add") - before_add == 2
    assert value("conduit_mcp_tool_errors_total", tool="explode", type="RuntimeError") - before_err == 1
    assert value("conduit_mcp_tool_duration_seconds_count", tool="add") >= 2
