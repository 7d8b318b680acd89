"""WebSocket rows of the face table: one app, the same answers through every face.

Faces: Conduit's own server over a socket, real uvicorn and hypercorn processes
(the ASGI face), and ``TestClient.websocket_connect`` in-process. Real clients:
the ``websockets`` library, and a raw socket for handshakes no client library
will send (a wrong version, a missing or malformed key).

The one row whose answer depends on the face: a handshake an ASGI server checks
itself before the app sees it. uvicorn and hypercorn answer a version other than
13 with their own 400; where Conduit parses the handshake (its server, and the
TestClient, which drives that server in memory) the answer is RFC 6455 §4.4's
426 with ``Sec-WebSocket-Version: 13``.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conduit import LiveServer, TestClient
from conduit.testing.websocket import WebSocketRejected

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))
import _websocket_app  # noqa: E402

sys.path.remove(str(HERE))

KEY = {"x-api-key": _websocket_app.KEY}
NONCE = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's sample key: 16 bytes in base64
ASGI_SERVERS = {
    "uvicorn": lambda port: [sys.executable, "-m", "uvicorn", "_websocket_app:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
    "hypercorn": lambda port: [sys.executable, "-m", "hypercorn", "_websocket_app:app",
                               "--bind", f"127.0.0.1:{port}"],
    "granian": lambda port: [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1", "--log-level", "warning", "_websocket_app:app"],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SocketFace:
    """A face reached over a real socket at ``port``."""

    in_process = False

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
    in_process = True

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


@contextlib.contextmanager
def asgi_server(name: str):
    """``_websocket_app:app`` served by a real ASGI server process on 127.0.0.1; yields its port."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(ASGI_SERVERS[name](port), env=env, cwd=HERE)
    try:
        for _ in range(1200):  # the app warms its kernels before the server answers
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture(scope="module", params=["native", "uvicorn", "hypercorn", "granian", "testclient"])
def face(request):
    if request.param == "native":
        with LiveServer(_websocket_app.make_app()) as live:
            yield SocketFace("native", live.port)
    elif request.param == "testclient":
        with TestClient(_websocket_app.make_app()) as client:
            yield InProcessFace(client)
    else:
        with asgi_server(request.param) as port:
            yield SocketFace(request.param, port)


def test_websocket_auth_bypass_under_asgi_uvicorn_is_401_like_conduit_run():
    # The attack of issue 21: APIKeyAuth + @app.websocket under `uvicorn app:app`; a client
    # without the key connected and got the handler's data. Now: 401, as on Conduit's server.
    with asgi_server("uvicorn") as port:
        answers = SocketFace("uvicorn", port)
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
