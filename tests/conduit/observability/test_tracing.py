"""OpenTelemetry spans, caught by the SDK's in-memory exporter, over real sockets."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

pytest.importorskip("opentelemetry.sdk", reason="tracing is the optional extra conduit[otel]")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from conduit import Conduit, LiveServer  # noqa: E402
from conduit.mcp import MCPServer  # noqa: E402
from conduit.observability.tracing import install_tracing  # noqa: E402

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture
def traced():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))

    app = Conduit()

    @app.get("/users/{id:int}")
    async def user(id: int):
        return {"id": id}

    @app.get("/boom")
    async def boom():
        raise RuntimeError("hidden")

    app.predict("/predict", model, name="traced-lr")
    mcp = MCPServer("traced")

    @mcp.tool()
    def add(a: int, b: int) -> int:
        return a + b

    app.mount_mcp("/mcp", mcp)
    install_tracing(app, tracer_provider=provider)
    with LiveServer(app) as server:
        yield server, exporter, X


def by_trace(exporter, trace_id: int):
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def test_server_span_continues_the_callers_trace_and_names_the_route(traced):
    server, exporter, _ = traced
    response = httpx.get(server.url + "/users/7", headers={"traceparent": PARENT})
    assert response.status_code == 200
    spans = by_trace(exporter, int(TRACE_ID, 16))
    root = next(s for s in spans if s.kind == SpanKind.SERVER)
    assert root.name == "GET /users/{id:int}"
    assert root.attributes["http.route"] == "/users/{id:int}"
    assert root.attributes["http.response.status_code"] == 200
    assert root.parent.span_id == 0x00f067aa0ba902b7  # the caller's span is the parent
    handler = next(s for s in spans if s.name == "handler")
    assert handler.parent.span_id == root.context.span_id
    # The trace context goes back out in the response headers.
    version, trace_id, span_id, flags = response.headers["traceparent"].split("-")
    assert trace_id == TRACE_ID and int(span_id, 16) == root.context.span_id


def test_a_500_marks_the_server_span_as_an_error(traced):
    server, exporter, _ = traced
    assert httpx.get(server.url + "/boom", headers={"traceparent": PARENT}).status_code == 500
    root = next(s for s in by_trace(exporter, int(TRACE_ID, 16)) if s.kind == SpanKind.SERVER)
    assert root.name == "GET /boom" and not root.status.is_ok


def test_prediction_has_batch_wait_and_inference_children(traced):
    server, exporter, X = traced
    assert httpx.post(server.url + "/predict", json={"rows": X[:3].tolist()},
                      headers={"traceparent": PARENT}).status_code == 200
    spans = {s.name: s for s in by_trace(exporter, int(TRACE_ID, 16))}
    handler = spans["handler"]
    for name in ("batch wait", "inference"):
        assert spans[name].parent.span_id == handler.context.span_id
    assert spans["batch wait"].end_time <= spans["inference"].start_time
    assert spans["inference"].attributes["batch_rows"] == 3


def test_each_mcp_tool_call_is_a_span(traced):
    server, exporter, _ = traced
    with httpx.Client(base_url=server.url, headers=MCP_HEADERS) as client:
        init = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        session = {"mcp-session-id": init.headers["mcp-session-id"], "traceparent": PARENT}
        client.post("/mcp", headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        reply = client.post("/mcp", headers=session, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                           "params": {"name": "add", "arguments": {"a": 2, "b": 3}}})
    assert reply.json()["result"]["structuredContent"] == {"result": 5}
    spans = by_trace(exporter, int(TRACE_ID, 16))
    tool = next(s for s in spans if s.name == "tools/call add")
    assert tool.attributes["mcp.tool.name"] == "add"
    assert tool.context.trace_id == int(TRACE_ID, 16)
