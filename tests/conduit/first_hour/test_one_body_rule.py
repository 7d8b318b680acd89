"""Issue 26, item 2: one body rule for typed bodies, ``request.json()``, predict, RAG and MCP over HTTP.

Before: ``curl -d`` (application/x-www-form-urlencoded) was 415 on typed bodies and accepted by
``request.json()`` and ``/models/iris``: three rules for one case. After: one table of cases runs
through every surface with the same expected status.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings, strategies as st

from conduit import Conduit, Request, TestClient
from conduit.http.json_body import decode_json_body

FORM = "application/x-www-form-urlencoded"

#: (content type, body, status a JSON endpoint answers)
CASES = [
    ("application/json", b'{"q": "hi"}', 200),
    ("application/json; charset=utf-8", b'{"q": "hi"}', 200),
    ("application/vnd.api+json", b'{"q": "hi"}', 200),
    (None, b'{"q": "hi"}', 200),
    (FORM, b'{"q": "hi"}', 200),
    (FORM, b"q=hi", 415),
    ("text/plain", b'{"q": "hi"}', 415),
    ("multipart/form-data; boundary=x", b'{"q": "hi"}', 415),
    ("application/xml", b"<q>hi</q>", 415),
    ("application/json", b'{"q": ', 400),
    (None, b"q=hi", 400),
]


@dataclass
class Question:
    q: str


def _app() -> Conduit:
    app = Conduit()

    @app.post("/typed")
    async def typed(body: Question) -> dict:
        return {"q": body.q}

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        return {"q": (await request.json())["q"]}

    return app


@pytest.fixture(scope="module")
def client():
    with TestClient(_app()) as c:
        yield c


def _headers(content_type):
    return {} if content_type is None else {"content-type": content_type}


@pytest.mark.parametrize("path", ["/typed", "/raw"])
@pytest.mark.parametrize("content_type,body,status", CASES)
def test_curl_dash_d_json_is_accepted_everywhere(client, path, content_type, body, status):
    response = client.post(path, content=body, headers=_headers(content_type))
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {"q": "hi"}
    if status == 415:
        assert "JSON" in response.json()["error"]["detail"]


def test_predict_route_follows_the_same_rule():
    pytest.importorskip("sklearn", reason="app.predict needs scikit-learn (the ml extra)")
    from sklearn.linear_model import LogisticRegression

    app = Conduit()
    X = [[0.0, 1.0], [1.0, 0.0], [0.9, 0.1], [0.1, 0.9]]
    app.predict("/p", LogisticRegression().fit(X, [0, 1, 1, 0]), name="m")
    with TestClient(app) as client:
        for content_type, _, status in CASES:
            body = b'{"rows": [[0.0, 1.0]]}' if status == 200 else (b"rows=1" if status == 415 and content_type == FORM
                                                                    else b"{" if status == 400 else b'{"rows": [[0.0, 1.0]]}')
            response = client.post("/p", content=body, headers=_headers(content_type))
            assert response.status_code == status, (content_type, response.text)


def test_mcp_over_http_follows_the_same_rule():
    from conduit.mcp import MCPServer

    app = Conduit()
    app.mount_mcp("/mcp", MCPServer("t"), stateless=True, allowed_hosts=["testserver"])
    init = (b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25",'
            b' "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}')
    accept = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
    with TestClient(app) as client:
        for content_type, expected in [("application/json", 200), (FORM, 200), ("text/plain", 415)]:
            response = client.post("/mcp", content=init, headers={**accept, "content-type": content_type})
            assert response.status_code == expected, (content_type, response.text)
        form = client.post("/mcp", content=b"a=1", headers={**accept, "content-type": FORM})
        assert form.status_code == 415 and "is not JSON" in form.text


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([None, "application/json", FORM, "text/plain", "image/png"]))
def test_the_rule_answers_every_body_with_a_value_or_a_400_or_415(raw, content_type):
    from conduit._json import InvalidJSON
    from conduit.exceptions import UnsupportedMediaType

    try:
        decode_json_body(raw, content_type)
    except InvalidJSON:
        assert content_type in (None, "application/json")
    except UnsupportedMediaType as exc:
        assert exc.status_code == 415 and content_type not in (None, "application/json")
