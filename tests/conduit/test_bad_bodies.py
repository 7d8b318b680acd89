"""One rule for bad bodies (issue 12), run through every place that parses one, over real sockets.

A body that is not JSON (or not UTF-8) is 400 ``invalid_json`` wherever it is sent:
a handler calling ``request.json()``, a typed body bound by the type layer, an ML
prediction route, the RAG example; MCP over HTTP answers the same bodies with -32700.
JSON integers arrive exactly (10**30 + 1 is not 1e30), and no body, however broken,
makes a 5xx.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit import Body, Conduit, Request
from conduit.mcp import MCPServer
from conduit.testing.client import LiveServer, TestClient

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

BIG = 10 ** 30 + 1
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
JSON = {"content-type": "application/json"}

BROKEN = {
    "not json": b"{not json",
    "truncated": b'{"question": "why", "k": [1, 2',
    "invalid utf-8": b'{"question": "caf\xe9"}',
    "lone surrogate escape": b'{"question": "\\ud800"}',
    "NaN": b'{"question": "x", "k": NaN}',
    "Infinity": b'{"question": "x", "k": -Infinity}',
    "1e999": b'{"question": "x", "k": 1e999}',
    "5000-digit integer": b'{"question": "x", "k": ' + b"7" * 5000 + b"}",
    "byte order mark": b'\xef\xbb\xbf{"question": "x"}',
}


@dataclass
class Counted:
    n: int
    label: str = ""


def _app() -> Conduit:
    app = Conduit()

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        body = await request.json()
        return {"n": body.get("n") if isinstance(body, dict) else None, "repr": repr(body)[:200]}

    @app.post("/typed")
    async def typed(payload: Counted) -> dict:
        return {"n": payload.n, "repr": repr(payload.n)}

    @app.post("/any")
    async def any_body(payload: Annotated[Any, Body()]) -> dict:
        return {"received": payload}

    X, y = load_iris(return_X_y=True)
    app.predict("/predict", LogisticRegression(max_iter=500).fit(X, y), name="iris", batching=False)

    server = MCPServer("bodies")

    @server.tool()
    async def count(n: int) -> int:
        """Echo an integer, exactly."""
        return n

    app.mount_mcp("/mcp", server)
    return app


HTTP_PLACES = ["/raw", "/typed", "/any", "/predict"]


@pytest.fixture(scope="module")
def live():
    with LiveServer(_app()) as server:
        yield server


@pytest.fixture(scope="module")
def rag_live():
    from examples.rag_app import app

    with LiveServer(app) as server:
        yield server


def _assert_invalid_json(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_json" and error["status"] == 400
    assert error["detail"].startswith("invalid JSON: ")


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_body_is_400_invalid_json_everywhere(live, rag_live, name):
    body = BROKEN[name]
    for path in HTTP_PLACES:
        _assert_invalid_json(httpx.post(live.url + path, content=body, headers=JSON))
    _assert_invalid_json(httpx.post(rag_live.url + "/ask", content=body, headers=JSON))
    mcp = httpx.post(live.url + "/mcp", content=body, headers=MCP_HEADERS)
    assert mcp.status_code == 400 and mcp.json()["error"]["code"] == -32700, mcp.text
    assert "invalid JSON: " in mcp.json()["error"]["message"]


def test_the_detail_names_the_problem_and_where(live):
    detail = httpx.post(live.url + "/raw", content=b'{"a": [1, 2', headers=JSON).json()["error"]["detail"]
    assert "unexpected end of data" in detail and "char 11" in detail
    detail = httpx.post(live.url + "/raw", content=BROKEN["5000-digit integer"], headers=JSON).json()["error"]["detail"]
    assert "5000 digits" in detail and "4300" in detail
    detail = httpx.post(live.url + "/typed", content=BROKEN["invalid utf-8"], headers=JSON).json()["error"]["detail"]
    assert "UTF-8" in detail


@pytest.mark.parametrize("path", ["/raw", "/typed"])
def test_a_big_integer_arrives_exactly(live, path):
    r = httpx.post(live.url + path, content=b'{"n": %d}' % BIG, headers=JSON)
    assert r.status_code == 200, r.text
    assert r.json()["n"] == BIG and r.json()["repr"].endswith(str(BIG) if path == "/typed" else str(BIG) + "}")


def test_a_big_integer_round_trips_through_a_response(live):
    payload = b'{"ids": [%d, -%d, 1], "deep": {"x": [%d]}}' % (BIG, BIG, 2 ** 64)
    r = httpx.post(live.url + "/any", content=payload, headers=JSON)
    assert r.status_code == 200
    assert r.json() == {"received": {"ids": [BIG, -BIG, 1], "deep": {"x": [2 ** 64]}}}
    assert str(BIG).encode() in r.content


def test_a_400_digit_integer_is_exact_and_a_model_feature_too_large_is_422(live):
    huge = 10 ** 399 + 7
    assert httpx.post(live.url + "/raw", content=b'{"n": %d}' % huge, headers=JSON).json()["n"] == huge
    r = httpx.post(live.url + "/predict", content=b'{"rows": [[1, 2, 3, %d]]}' % huge, headers=JSON)
    assert r.status_code == 422
    assert r.json()["error"]["detail"][0]["type"] == "finite_number"


def _mcp_session(url: str) -> dict[str, str]:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    r = httpx.post(url + "/mcp", json=init, headers=MCP_HEADERS)
    headers = dict(MCP_HEADERS, **{"mcp-session-id": r.headers["mcp-session-id"]})
    httpx.post(url + "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


def test_mcp_tool_arguments_exact_and_invalid_params_with_entries(live):
    headers = _mcp_session(live.url)
    call = b'{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "count", "arguments": {"n": %d}}}'
    r = httpx.post(live.url + "/mcp", content=call % BIG, headers=headers)
    result = r.json()["result"]
    assert result["structuredContent"] == {"result": BIG} and json.loads(result["content"][0]["text"]) == {"result": BIG}
    bad = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "count", "arguments": {"n": "x"}}}
    error = httpx.post(live.url + "/mcp", json=bad, headers=headers).json()["error"]
    assert error["code"] == -32602
    (entry,) = error["data"]
    assert entry["loc"] == ["arguments", "n"] and entry["msg"] and entry["type"]
    extra = dict(bad, params={"name": "count", "arguments": {"n": 1, "m": 2}})
    (entry,) = httpx.post(live.url + "/mcp", json=extra, headers=headers).json()["error"]["data"]
    assert entry["loc"] == ["arguments", "m"]


@pytest.fixture(scope="module")
def clients():
    from examples.rag_app import app as rag

    with TestClient(_app()) as client, TestClient(rag) as rag_client:
        yield client, rag_client


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                                   lambda inner: st.lists(inner, max_size=4)
                                   | st.dictionaries(st.sampled_from(["n", "rows", "row", "question", "k",
                                                                      "filter", "label", "probabilities"]),
                                                     inner, max_size=4),
                                   max_leaves=12).map(lambda v: json.dumps(v).encode())))
def test_arbitrary_bytes_never_give_a_5xx(clients, body):
    client, rag_client = clients
    for path in HTTP_PLACES:
        r = client.post(path, content=body, headers=JSON)
        assert r.status_code < 500, (path, body, r.text)
        assert r.status_code in (200, 400, 415, 422), (path, r.text)
    for path in ("/ask", "/documents", "/collections"):
        r = rag_client.post(path, content=body, headers=JSON)
        assert r.status_code < 500, (path, body, r.text)
    r = client.post("/mcp", content=body, headers=MCP_HEADERS)
    assert r.status_code < 500, (body, r.text)
