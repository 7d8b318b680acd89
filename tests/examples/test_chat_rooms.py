"""The chat-rooms example: two real `websockets` clients in one room see each other's messages."""

from __future__ import annotations

import json

import httpx
from websockets.sync.client import connect

from conduit import LiveServer


def test_broadcast_between_two_clients():
    from examples.chat_rooms import app

    with LiveServer(app) as server:
        base = f"ws://127.0.0.1:{server.port}/ws/lobby"
        with connect(base + "?name=ada") as ada:
            assert json.loads(ada.recv()) == {"event": "joined", "name": "ada", "members": 1}
            with connect(base + "?name=bob") as bob:
                assert json.loads(bob.recv())["name"] == "bob"
                assert json.loads(ada.recv()) == {"event": "joined", "name": "bob", "members": 2}
                assert httpx.get(server.url + "/rooms").json() == {"lobby": 2}
                bob.send("hello ada")
                expected = {"event": "message", "name": "bob", "text": "hello ada"}
                assert json.loads(ada.recv()) == expected
                assert json.loads(bob.recv()) == expected
            assert json.loads(ada.recv()) == {"event": "left", "name": "bob"}
