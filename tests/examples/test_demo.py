"""The demo server: each capability answers over a real socket, bad input gets 4xx."""

from __future__ import annotations

import httpx
import pytest

from conduit import LiveServer


@pytest.fixture(scope="module")
def server():
    from examples.demo import app

    with LiveServer(app) as live:
        yield live


def test_hello_and_typed_routes(server):
    assert httpx.get(server.url + "/").text == "Hello, world!"
    assert httpx.get(server.url + "/users/7").json() == {"id": 7, "name": "user-7"}
    assert httpx.post(server.url + "/echo", json={"a": 1}).json() == {"received": {"a": 1}}


def test_model_endpoint(server):
    response = httpx.post(server.url + "/models/iris", json={"rows": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})
    body = response.json()
    assert response.status_code == 200 and body["model"] == "iris"
    assert body["predictions"] == [0, 2]
    assert len(body["probabilities"]) == 2
    bad = httpx.post(server.url + "/models/iris", json={"rows": [[1.0, 2.0]]})
    assert bad.status_code == 422 and bad.json()["error"]["detail"][0]["loc"] == ["body", "rows", 0]


def test_search_and_ask(server):
    hits = httpx.get(server.url + "/search", params={"q": "vector store scan"}).json()["hits"]
    assert hits[0]["id"] == "doc-4"
    answer = httpx.post(server.url + "/ask", json={"question": "How are routes matched?"}).json()
    assert answer["sources"][0]["id"] == "doc-1" and answer["answer"]
    assert httpx.get(server.url + "/search").status_code == 422
    assert httpx.get(server.url + "/search", params={"q": "x", "k": 0}).status_code == 422


def test_mcp_tool_over_http(server):
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2025-11-25"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        init = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        assert init.status_code == 200
        session = init.headers["mcp-session-id"]
        client.headers["mcp-session-id"] = session
        client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        call = client.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "classify_iris",
            "arguments": {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}}})
        result = call.json()["result"]
        assert not result.get("isError") and "virginica" in result["content"][0]["text"]


def test_operations_endpoints(server):
    assert httpx.get(server.url + "/health").status_code == 200
    assert httpx.get(server.url + "/ready").status_code == 200
    metrics = httpx.get(server.url + "/metrics").text
    assert "conduit_requests_total" in metrics or "conduit_http_requests_total" in metrics
    assert httpx.get(server.url + "/openapi.json").json()["info"]["title"] == "Conduit demo"
