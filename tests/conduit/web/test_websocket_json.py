"""WebSocket.receive_json: the body parser's rule for messages (exact integers, 1007 naming the problem)."""

from __future__ import annotations

import json

import pytest

from conduit import Conduit, TestClient, WebSocket, WebSocketDisconnect
from conduit.http.request import InvalidJSON

causes: list = []


def make_app() -> Conduit:
    app = Conduit()

    @app.websocket("/json")
    async def echo(ws: WebSocket):
        await ws.accept()
        while True:
            try:
                value = await ws.receive_json()
            except WebSocketDisconnect as exc:
                causes.append(exc.__cause__)
                return
            await ws.send_json({"got": value})

    return app


def test_a_big_integer_arrives_and_returns_exactly():
    with TestClient(make_app()) as client, client.websocket_connect("/json") as ws:
        ws.send_text('{"n": %d}' % (10 ** 30 + 1))
        assert json.loads(ws.receive_text()) == {"got": {"n": 10 ** 30 + 1}}


@pytest.mark.parametrize(("message", "says"), [("{nope", "expected"), ('{"n": 1e999}', "infinity"),
                                               ('["\\ud800"]', "surrogate"), ("7" * 5000, "5000 digits")])
def test_a_message_that_is_not_json_closes_1007_naming_the_problem(message, says):
    causes.clear()
    with TestClient(make_app()) as client, client.websocket_connect("/json") as ws:
        ws.send_text(message)
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
    assert info.value.code == 1007
    assert info.value.reason.startswith("invalid JSON: ") and says in info.value.reason
    assert len(info.value.reason.encode()) <= 123  # RFC 6455 §5.5: a close payload fits 125 bytes
    assert isinstance(causes[0], InvalidJSON)
