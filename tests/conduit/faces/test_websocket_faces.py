"""WebSocket rows of the face table: one app, the same answers through every face.

Faces: Conduit's own server over a socket, real uvicorn, granian and hypercorn
processes (the ASGI face), and ``TestClient.websocket_connect`` in-process (the
fixtures of :mod:`_faces`). Real clients:
the ``websockets`` library, and a raw socket for handshakes no client library
will send (a wrong version, a missing or malformed key).

The one row whose answer depends on the face: a handshake an ASGI server checks
itself before the app sees it. uvicorn, granian and hypercorn answer a version
other than 13 with their own 400; where Conduit parses the handshake (its server, and the
TestClient, which drives that server in memory) the answer is RFC 6455 §4.4's
426 with ``Sec-WebSocket-Version: 13``.
"""

from __future__ import annotations

import socket

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import _websocket_app
from _faces import ASGI_SERVERS, FACES, serve_face
from conduit import LiveServer
from conduit.testing.websocket import WebSocketRejected

FACE_APP = "_websocket_app:app"
KEY = {"x-api-key": _websocket_app.KEY}
NONCE = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's sample key: 16 bytes in base64


class SocketFace:
    """A face reached over a real socket at ``port``."""

    def __init__(self, name: str, port: int):
        self.name, self.port = name, port

    def refusal(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://127.0.0.1:{self.port}{path}", additional_headers=headers, open_timeout=30)
        response = refused.value.response
        return response.status_code, {k.lower(): v for k, v in response.headers.raw_items()}

    def raw_handshake(self, lines: list[str]) -> tuple[int, dict[str, str]]:
        head = ["GET /ws HTTP/1.1", "host: 127.0.0.1", "upgrade: websocket", "connection: Upgrade",
                f"x-api-key: {_websocket_app.KEY}", *lines]
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            data = b""
            while b"\r\n\r\n" not in data:
                piece = sock.recv(4096)
                assert piece, f"{self.name} closed without answering {lines}"
                data += piece
        status_line, *header_lines = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        headers = dict((name.strip().lower(), value.strip()) for name, _, value in
                       (line.partition(":") for line in header_lines))
        return int(status_line.split()[1]), headers

    def echo_then_oversized(self) -> tuple[str, int]:
        with connect(f"ws://127.0.0.1:{self.port}/ws", additional_headers=KEY, open_timeout=30) as ws:
            ws.send("hi")
            echoed = ws.recv(timeout=30)
            ws.send("x" * (_websocket_app.MAX_MESSAGE + 1))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
        return echoed, closed.value.rcvd.code


class InProcessFace:
    """``TestClient.websocket_connect``: the server's connection over an in-memory stream."""

    name = "testclient"
    def __init__(self, client):
        self.client = client

    def refusal(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        with pytest.raises(WebSocketRejected) as refused:
            with self.client.websocket_connect(path, headers=headers):
                pass
        return refused.value.status_code, refused.value.headers

    def raw_handshake(self, lines: list[str]) -> tuple[int, dict[str, str]]:
        headers = dict(KEY, **{"sec-websocket-key": "", "sec-websocket-version": ""})  # "": left out
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        return self.refusal("/ws", headers)

    def echo_then_oversized(self) -> tuple[str, int]:
        from conduit import WebSocketDisconnect

        with self.client.websocket_connect("/ws", headers=KEY) as ws:
            ws.send_text("hi")
            echoed = ws.receive_text()
            ws.send_text("x" * (_websocket_app.MAX_MESSAGE + 1))
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive()
        return echoed, closed.value.code


@pytest.fixture(scope="module", params=[*FACES, "hypercorn"])
def face(request):
    """The WebSocket app through one face (the table's faces, and hypercorn)."""
    with serve_face(request.param, FACE_APP) as served:
        if served.testclient is not None:
            yield InProcessFace(served.testclient)
        else:
            yield SocketFace(served.name, int(served.url.rsplit(":", 1)[1]))


def test_websocket_auth_bypass_under_asgi_uvicorn_is_401_like_conduit_run():
    # The attack of issue 21: APIKeyAuth + @app.websocket under `uvicorn app:app`; a client
    # without the key connected and got the handler's data. Now: 401, as on Conduit's server.
    with serve_face("uvicorn", FACE_APP) as served:
        answers = SocketFace("uvicorn", int(served.url.rsplit(":", 1)[1]))
        status, headers = answers.refusal("/ws", {})
        assert status == 401 and "www-authenticate" in headers
        assert answers.echo_then_oversized()[0] == "echo:hi"  # with the key the handler runs
    with LiveServer(_websocket_app.make_app()) as live:
        assert SocketFace("native", live.port).refusal("/ws", {})[0] == 401


def test_refused_handshake_without_a_key_is_401_on_every_face(face):
    status, headers = face.refusal("/ws", {})
    assert status == 401
    assert "www-authenticate" in headers


def test_refused_handshake_with_a_wrong_key_is_401_on_every_face(face):
    assert face.refusal("/ws", {"x-api-key": "wrong"})[0] == 401


def test_handler_that_never_accepts_is_403_on_every_face(face):
    assert face.refusal("/ws-refuse", KEY)[0] == 403


def test_unknown_path_is_401_without_a_key_and_404_with_one_on_every_face(face):
    assert face.refusal("/nowhere", {})[0] == 401  # the middleware first, as on HTTP: no probing
    assert face.refusal("/nowhere", KEY)[0] == 404


def test_bad_handshake_version_is_refused_on_every_face(face):
    status, headers = face.raw_handshake([f"sec-websocket-key: {NONCE}", "sec-websocket-version: 8"])
    if face.name in ASGI_SERVERS:  # the ASGI server answers before the app sees the handshake
        assert status == 400
    else:
        assert status == 426
        assert headers["sec-websocket-version"] == "13"


@pytest.mark.parametrize("lines", [["sec-websocket-version: 13"],
                                   [f"sec-websocket-key: {NONCE}"],
                                   ["sec-websocket-key: abc", "sec-websocket-version: 13"],
                                   ["sec-websocket-key: " + "A" * 23 + "=", "sec-websocket-version: 13"]],
                         ids=["missing key", "missing version", "short key", "key of 17 bytes"])
def test_missing_or_malformed_key_or_version_is_400_on_every_face(face, lines):
    assert face.raw_handshake(lines)[0] == 400


def test_websocket_max_message_size_is_the_apps_on_every_face(face):
    assert face.echo_then_oversized() == ("echo:hi", 1009)
