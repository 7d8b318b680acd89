"""WebSockets over real sockets with the `websockets` client library (and raw frames)."""

from __future__ import annotations

import logging
import socket
import struct

import pytest
import trio
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conduit import Conduit, Depends, Forbidden, Header, LiveServer, WebSocket, WebSocketDisconnect
from conduit.middleware.auth import APIKeyAuth
from conduit.middleware.cors import CORS
from conduit.middleware.request_id import RequestID
from conduit.middleware.trusted_hosts import TrustedHosts

QUEUE = 4
FLOOD = 200

seen: list = []


def make_app() -> Conduit:
    app = Conduit()

    @app.websocket("/ws/{room}")
    async def room(websocket: WebSocket, room: str, name: str = "anon"):
        await websocket.accept()
        await websocket.send_json({"room": room, "name": name})
        async for message in websocket:
            if message == "bye":
                await websocket.close(code=4000, reason="bye")
                return
            if isinstance(message, bytes):
                await websocket.send_bytes(message[::-1])
            else:
                await websocket.send_text(f"{room}:{message}")
        seen.append("client closed")

    @app.websocket("/proto")
    async def proto(websocket: WebSocket):
        await websocket.accept(subprotocol="chat.v1", headers=[("x-extra", "1")])
        await websocket.send_text(websocket.headers.get("sec-websocket-protocol", ""))

    @app.websocket("/boom")
    async def boom(websocket: WebSocket):
        await websocket.accept()
        await websocket.receive_text()
        raise RuntimeError("handler exploded")

    @app.websocket("/refuse")
    async def refuse(websocket: WebSocket):
        return  # never accepted: 403

    def token(x_token: str = Header("")):
        if x_token != "ok":
            raise Forbidden(detail="no")

    @app.websocket("/private", dependencies=[Depends(token)])
    async def private(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("welcome")

    @app.websocket("/disconnect")
    async def disconnect(websocket: WebSocket):
        await websocket.accept()
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as exc:
            seen.append(("disconnect", exc.code))

    @app.websocket("/later")
    async def later(websocket: WebSocket):
        await websocket.accept()
        await trio.sleep(websocket.ping_interval * 4)  # several pings answered by the client meanwhile
        await websocket.send_text("still open")

    @app.websocket("/slow")
    async def slow(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("ready")
        with trio.fail_after(20):  # bounded wait: the reader fills the queue
            while websocket.queued < websocket.queue_size:
                await trio.sleep(0.01)
        await trio.sleep(0.2)  # give a reader that ignored the bound time to overrun it
        peak = websocket.queued
        count = 0
        while count < FLOOD:
            await websocket.receive_text()
            count += 1
            peak = max(peak, websocket.queued)
        await websocket.send_json({"peak": peak, "count": count})

    @app.get("/ws/{room}/info")
    async def info(room: str):
        return {"room": room}

    return app


@pytest.fixture(scope="module")
def server():
    with LiveServer(make_app(), websocket_max_message_size=1000) as live:
        yield live


def url(server, path):
    return f"ws://127.0.0.1:{server.port}{path}"


def test_echo_text_bytes_and_path_params(server):
    with connect(url(server, "/ws/lobby?name=ada")) as ws:
        assert ws.recv() == '{"room":"lobby","name":"ada"}'
        ws.send("hi")
        assert ws.recv() == "lobby:hi"
        ws.send(b"\x01\x02\x03")
        assert ws.recv() == b"\x03\x02\x01"
        ws.send("bye")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv()
    assert info.value.rcvd.code == 4000 and info.value.rcvd.reason == "bye"


def test_fragmented_message_with_ping_between(server):
    with connect(url(server, "/ws/frag")) as ws:
        ws.recv()
        ws.send(["he", "ll", "o"])  # a fragmented text message
        assert ws.recv() == "frag:hello"
        ws.ping().wait(5)  # pings are answered
        ws.send([b"ab", b"cd"])
        assert ws.recv() == b"dcba"


def test_oversized_message_closes_1009(server):
    with connect(url(server, "/ws/big"), max_size=None) as ws:
        ws.recv()
        ws.send("x" * 2000)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv()
    assert info.value.rcvd.code == 1009


def test_subprotocol_and_headers(server):
    with connect(url(server, "/proto"), subprotocols=["chat.v1"]) as ws:
        assert ws.subprotocol == "chat.v1"
        assert ws.response.headers["x-extra"] == "1"
        assert ws.recv() == "chat.v1"


def test_handler_exception_closes_1011_and_is_logged(server, caplog):
    with caplog.at_level(logging.ERROR, logger="conduit.websocket"):
        with connect(url(server, "/boom")) as ws:
            ws.send("go")
            with pytest.raises(ConnectionClosed) as info:
                ws.recv()
    assert info.value.rcvd.code == 1011
    assert any("handler exploded" in (r.exc_text or "") for r in caplog.records)


def test_refused_handshakes_are_http_403(server):
    for path, headers in (("/refuse", {}), ("/private", {"x-token": "bad"})):
        with pytest.raises(InvalidStatus) as info:
            connect(url(server, path), additional_headers=headers)
        assert info.value.response.status_code == 403
    with connect(url(server, "/private"), additional_headers={"x-token": "ok"}) as ws:
        assert ws.recv() == "welcome"


def test_http_routes_still_served(server):
    import httpx

    assert httpx.get(f"http://127.0.0.1:{server.port}/ws/x/info").json() == {"room": "x"}


def _raw_handshake(server, path: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET " + path + b" HTTP/1.1\r\nhost: t\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                 b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    assert data.startswith(b"HTTP/1.1 101")
    return sock


def _frame(opcode: int, payload: bytes, mask: bool = True, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    key = b"\x01\x02\x03\x04"
    length = len(payload)
    head += bytes([(0x80 if mask else 0) | length]) if length < 126 else bytes([(0x80 if mask else 0) | 126]) + struct.pack("!H", length)
    if mask:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return head + key + payload
    return head + payload


def _close_code(sock: socket.socket) -> int:
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    # skip the server's first text frame(s) until the close frame (opcode 8)
    i = 0
    while i < len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        if opcode == 8:
            return struct.unpack("!H", data[i + 2:i + 4])[0]
        i += 2 + length
    raise AssertionError(f"no close frame in {data!r}")


def test_invalid_utf8_closes_1007(server):
    sock = _raw_handshake(server, b"/ws/raw")
    sock.sendall(_frame(0x1, b"\xff\xfe"))
    assert _close_code(sock) == 1007
    sock.close()


def test_unmasked_client_frame_closes_1002(server):
    sock = _raw_handshake(server, b"/ws/raw")
    sock.sendall(_frame(0x1, b"hi", mask=False))
    assert _close_code(sock) == 1002
    sock.close()


def test_abrupt_disconnect_surfaces_as_websocket_disconnect(server):
    sock = _raw_handshake(server, b"/disconnect")
    sock.close()
    with connect(url(server, "/ws/after")) as ws:  # the server keeps serving
        assert "after" in ws.recv()
    for _ in range(100):
        if ("disconnect", 1006) in seen:
            break
        import time
        time.sleep(0.05)
    assert ("disconnect", 1006) in seen


def test_testclient_websocket_connect():
    from conduit import TestClient
    from conduit.testing.websocket import WebSocketRejected

    with TestClient(make_app()) as client:
        with client.websocket_connect("/ws/lobby?name=bo") as ws:
            assert ws.receive_json() == {"room": "lobby", "name": "bo"}
            ws.send_text("hi")
            assert ws.receive_text() == "lobby:hi"
            ws.send_bytes(b"ab")
            assert ws.receive_bytes() == b"ba"
            ws.send_text("bye")
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive()
            assert info.value.code == 4000
        with client.websocket_connect("/proto", subprotocols=["chat.v1"]) as ws:
            assert ws.subprotocol == "chat.v1"
            assert ws.receive_text() == "chat.v1"
        with pytest.raises(WebSocketRejected) as refused:
            client.websocket_connect("/refuse").__enter__()
        assert refused.value.status_code == 403
        with client.websocket_connect("/boom") as ws:
            ws.send_text("go")
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive()
            assert info.value.code == 1011


def test_graceful_shutdown_closes_open_websockets_with_1001():
    import trio

    from conduit.server import serve

    app = Conduit()

    @app.websocket("/forever")
    async def forever(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("ready")
        async for _ in websocket:
            pass

    codes: list[int] = []

    def client(port: int, ready: trio.Event, token) -> None:
        with connect(f"ws://127.0.0.1:{port}/forever") as ws:
            assert ws.recv() == "ready"
            trio.from_thread.run_sync(ready.set, trio_token=token)
            with pytest.raises(ConnectionClosed) as info:
                ws.recv()
            codes.append(info.value.rcvd.code)

    async def main():
        stop, ready = trio.Event(), trio.Event()
        async with trio.open_nursery() as nursery:
            port = await nursery.start(lambda task_status: serve(app, "127.0.0.1", 0, shutdown_trigger=stop,
                                                                 grace_period=10, task_status=task_status))
            nursery.start_soon(trio.to_thread.run_sync, client, port, ready, trio.lowlevel.current_trio_token())
            await ready.wait()
            stop.set()

    trio.run(main)
    assert codes == [1001]


def test_plain_http_to_a_websocket_path_is_426(server):
    import httpx

    response = httpx.get(f"http://127.0.0.1:{server.port}/proto")
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"
    # a path with both: the WebSocket pseudo-method is not advertised in Allow
    assert "WEBSOCKET" not in httpx.post(f"http://127.0.0.1:{server.port}/ws/x/info").headers["allow"]


# ------------------------------------------- keepalive pings and the bounded receive queue


@pytest.fixture(scope="module")
def pinging():
    with LiveServer(make_app(), websocket_ping_interval=0.2, websocket_ping_timeout=0.5,
                    websocket_queue_size=QUEUE, websocket_max_message_size=1000) as live:
        yield live


def _frames(sock: socket.socket) -> list[tuple[int, bytes]]:
    """Every frame the server sends until it closes the socket (server frames are unmasked)."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    frames, i = [], 0
    while i < len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        frames.append((opcode, data[i + 2:i + 2 + length]))
        i += 2 + length
    return frames


def test_a_client_that_never_answers_pings_is_closed_1011(pinging):
    sock = _raw_handshake(pinging, b"/ws/quiet")
    sock.settimeout(10)
    frames = _frames(sock)  # we answer nothing; the server pings, waits, gives up
    sock.close()
    opcodes = [opcode for opcode, _ in frames]
    assert 0x9 in opcodes  # a ping came
    close = [payload for opcode, payload in frames if opcode == 0x8]
    assert close and struct.unpack("!H", close[0][:2])[0] == 1011
    assert close[0][2:] == b"keepalive ping timeout"


def test_a_client_that_answers_pings_stays_open(pinging):
    with connect(f"ws://127.0.0.1:{pinging.port}/later", ping_interval=None) as ws:  # it still answers pings
        assert ws.recv(timeout=20) == "still open"


def test_the_receive_queue_is_bounded_while_the_handler_does_not_read(pinging):
    with connect(f"ws://127.0.0.1:{pinging.port}/slow") as ws:
        assert ws.recv(timeout=20) == "ready"
        for i in range(FLOOD):
            ws.send(f"message {i}")
        result = ws.recv(timeout=30)
    import json

    assert json.loads(result) == {"peak": QUEUE, "count": FLOOD}


def test_frames_after_the_handler_closed_do_not_break_the_server(pinging):
    sock = _raw_handshake(pinging, b"/ws/late")
    sock.settimeout(10)
    sock.sendall(_frame(0x1, b"bye") + _frame(0x9, b"p") + _frame(0x1, b"more"))  # the handler closes on "bye"
    assert _close_code(sock) == 4000
    sock.close()
    with connect(f"ws://127.0.0.1:{pinging.port}/ws/next") as ws:  # the server keeps serving
        assert "next" in ws.recv(timeout=10)


def test_ping_options_are_validated():
    from conduit.server.config import ServerConfig

    for options in ({"websocket_ping_interval": 0}, {"websocket_ping_timeout": -1}, {"websocket_queue_size": 0}):
        with pytest.raises(ValueError, match=next(iter(options))):
            ServerConfig.from_options(**options)
    assert ServerConfig.from_options(websocket_ping_interval=None).websocket_ping_interval is None


# ---------------------------------------------------------------- middleware


reached: list[str] = []


def guarded_app() -> Conduit:
    app = Conduit()
    app.add_middleware(TrustedHosts, allowed_hosts=["127.0.0.1"])
    app.add_middleware(APIKeyAuth, keys=["sekret"])
    app.add_middleware(RequestID)
    app.add_middleware(CORS, allow_origins=["https://app.example"])

    @app.websocket("/guarded")
    async def guarded(websocket: WebSocket):
        reached.append("handler")
        await websocket.accept()
        await websocket.send_text(websocket.state.request_id)

    return app


@pytest.fixture(scope="module")
def guarded():
    with LiveServer(guarded_app()) as live:
        yield live


def test_handshake_refused_by_middleware_never_reaches_the_handler(guarded):
    url = f"ws://127.0.0.1:{guarded.port}/guarded"
    refusals = (({}, 401), ({"x-api-key": "wrong"}, 401),
                # cross-site WebSocket hijacking: a page on another origin, with the key (a cookie)
                ({"x-api-key": "sekret", "origin": "https://evil.example"}, 403))
    for headers, status in refusals:
        with pytest.raises(InvalidStatus) as info:
            connect(url, additional_headers=headers)
        assert info.value.response.status_code == status
    # a Host we do not trust (the websockets client sends the URL's host, so go raw)
    sock = socket.create_connection(("127.0.0.1", guarded.port), timeout=10)
    sock.sendall(b"GET /guarded HTTP/1.1\r\nhost: evil.example\r\nx-api-key: sekret\r\nupgrade: websocket\r\n"
                 b"connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"sec-websocket-version: 13\r\n\r\n")
    answer = sock.recv(4096)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400")
    assert reached == []


def test_handshake_through_middleware_reaches_the_handler(guarded):
    url = f"ws://127.0.0.1:{guarded.port}/guarded"
    with connect(url, additional_headers={"x-api-key": "sekret", "x-request-id": "abc123"},
                 origin="https://app.example") as ws:
        assert ws.recv(timeout=20) == "abc123"
    assert reached == ["handler"]


def test_a_flooding_websocket_does_not_starve_http_on_the_same_server(server):
    """The reader hands messages to the handler without a scheduler pass while the queue has
    room; the socket reads still yield, so a client streaming messages as fast as it can
    (64 in flight at a time) never keeps another client's request from being answered."""
    import threading

    import httpx

    stop = threading.Event()
    sent = []

    def flood():
        with connect(f"ws://127.0.0.1:{server.port}/ws/flood") as ws:
            ws.recv(timeout=10)
            count = 0
            while not stop.is_set() and count < 200_000:  # bounded: stopped below, or at this count
                for _ in range(64):
                    ws.send(b"x" * 512)
                for _ in range(64):
                    assert ws.recv(timeout=10) == b"x" * 512
                count += 64
            sent.append(count)

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        answers = [httpx.get(f"http://127.0.0.1:{server.port}/ws/r{i}/info", timeout=10).json() for i in range(20)]
    finally:
        stop.set()
        thread.join(30)
    assert answers == [{"room": f"r{i}"} for i in range(20)]
    assert sent and sent[0] > 0
