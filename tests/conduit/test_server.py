"""The trio + h11 server over real sockets on 127.0.0.1, driven by httpx and raw sockets."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest
import trio

from conduit import Conduit, EventSourceResponse, LiveServer, Request, StreamingResponse

closed_streams: list[str] = []


def make_app() -> Conduit:
    app = Conduit()

    @app.get("/")
    async def hello():
        return "hello"

    @app.get("/users/{id:int}")
    async def user(id: int):
        return {"id": id}

    @app.post("/upload")
    async def upload(request: Request):
        chunks = [len(chunk) async for chunk in request.stream()]
        return {"bytes": sum(chunks)}

    @app.post("/json")
    async def echo_json(request: Request):
        return {"got": await request.json()}

    @app.get("/download")
    async def download():
        async def parts():
            for i in range(5):
                yield f"part-{i};"
        return StreamingResponse(parts(), media_type="text/plain")

    @app.get("/sync-stream")
    def sync_stream():
        return StreamingResponse((f"{i}\n" for i in range(3)), media_type="text/plain")

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    @app.get("/events")
    async def events():
        async def gen():
            yield {"event": "greeting", "data": "hi", "id": "1"}
            yield {"data": {"n": 2}}
            yield "multi\nline"
        return EventSourceResponse(gen())

    @app.get("/forever")
    async def forever():
        async def gen():
            try:
                n = 0
                while True:
                    yield {"data": n}
                    n += 1
                    await trio.sleep(0.01)
            finally:
                closed_streams.append("forever")
        return EventSourceResponse(gen())

    @app.post("/ignore-body")
    async def ignore_body():
        return "ignored"

    @app.get("/empty")
    async def empty():
        return None

    @app.get("/inject")
    async def inject():
        from conduit import Response
        return Response("x", headers={"x-evil": "a\r\nset-cookie: pwned=1"})

    @app.get("/quiet")
    async def quiet():
        async def gen():
            await trio.sleep(0.35)
            yield "late"
        return EventSourceResponse(gen(), ping_interval=0.1)

    return app


@pytest.fixture(scope="module")
def server():
    with LiveServer(make_app(), max_body_size=64 * 1024, head_timeout=0.5) as live:
        yield live


def raw_exchange(server, data: bytes, *, timeout: float = 5.0, read_until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if not read_until_close:
                    break
        except socket.timeout:
            pass
        return b"".join(chunks)


def still_serving(server) -> bool:
    return httpx.get(server.url + "/users/1").json() == {"id": 1}


def test_hello_with_date_and_server_headers(server):
    response = httpx.get(server.url + "/")
    assert response.status_code == 200
    assert response.text == "hello"
    assert response.headers["server"] == "conduit"
    assert response.headers["date"].endswith("GMT")


def test_keep_alive_serves_many_requests_on_one_connection(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        for i in range(3):
            s.sendall(f"GET /users/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            data = b""
            while not data.endswith(f'{{"id":{i}}}'.encode()):
                data += s.recv(4096)
            assert data.startswith(b"HTTP/1.1 200")


def test_pipelined_requests_are_answered_in_order(server):
    requests = b"".join(f"GET /users/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(5))
    data = raw_exchange(server, requests + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    bodies = [part for part in data.split(b"\r\n\r\n")[1::1] if part.startswith((b'{"id"', b"hello"))]
    assert [b.split(b"HTTP/1.1")[0] for b in bodies] == [f'{{"id":{i}}}'.encode() for i in range(5)] + [b"hello"]


def test_chunked_upload(server):
    def body():
        for _ in range(10):
            yield b"x" * 1000
    response = httpx.post(server.url + "/upload", content=body())
    assert response.json() == {"bytes": 10000}


def test_chunked_upload_raw_with_extensions(server):
    request = (b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    data = raw_exchange(server, request)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"bytes":11}')


def test_content_length_upload_and_json(server):
    response = httpx.post(server.url + "/json", json={"a": [1, 2, 3]})
    assert response.json() == {"got": {"a": [1, 2, 3]}}


def test_chunked_download(server):
    with httpx.stream("GET", server.url + "/download") as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        assert response.read() == b"".join(f"part-{i};".encode() for i in range(5))
    assert httpx.get(server.url + "/sync-stream").text == "0\n1\n2\n"


def test_server_sent_events(server):
    with httpx.stream("GET", server.url + "/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        text = response.read().decode()
    assert text == ('event: greeting\nid: 1\ndata: hi\n\n'
                    'data: {"n":2}\n\n'
                    'data: multi\ndata: line\n\n')


def test_sse_keepalive_pings_while_idle(server):
    text = httpx.get(server.url + "/quiet", timeout=5).text
    assert text.count(": ping\n\n") >= 2
    assert text.endswith("data: late\n\n")


def test_sse_ends_cleanly_when_client_disconnects(server):
    closed_streams.clear()
    with httpx.stream("GET", server.url + "/forever") as response:
        seen = 0
        for line in response.iter_lines():
            if line.startswith("data:"):
                seen += 1
            if seen == 3:
                break
    deadline = time.monotonic() + 5
    while not closed_streams and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closed_streams == ["forever"]
    assert still_serving(server)


def test_handler_exception_is_generic_500_and_logged(server, caplog):
    with caplog.at_level(logging.ERROR, logger="conduit.error"):
        response = httpx.get(server.url + "/boom")
    assert response.status_code == 500
    assert response.json()["error"]["detail"] == "Internal Server Error"
    assert "secret internals" not in response.text
    assert any("secret internals" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert still_serving(server)


@pytest.mark.parametrize("request_bytes,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: b\r\n" * 4000 + b"\r\n", 431),
], ids=["garbage", "space-in-name", "conflicting-length", "version", "big-header", "many-headers"])
def test_malformed_request_gets_4xx_and_server_keeps_serving(server, request_bytes, status):
    data = raw_exchange(server, request_bytes)
    assert data.startswith(f"HTTP/1.1 {status}".encode()), data[:80]
    assert b'"error"' in data
    assert still_serving(server)


def test_oversized_body_is_413(server):
    response = httpx.post(server.url + "/json", content=b"x" * 100_000)
    assert response.status_code == 413
    assert still_serving(server)


def test_oversized_chunked_body_is_413(server):
    response = httpx.post(server.url + "/upload", content=iter([b"y" * 40_000] * 3))
    assert response.status_code == 413
    assert still_serving(server)


def test_head_timeout_closes_slow_client_with_408(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHo")
        started = time.monotonic()
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 3
    assert still_serving(server)


def test_expect_100_continue(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 100")
        s.sendall(b"abc")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")


def test_head_over_socket_has_no_body(server):
    data = raw_exchange(server, b"HEAD /users/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: 8" in head.lower()
    assert body == b""


def test_concurrent_clients(server):
    results = []

    def worker(n):
        with httpx.Client(base_url=server.url) as client:
            results.extend(client.get(f"/users/{n * 100 + i}").json()["id"] for i in range(20))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(n * 100 + i for n in range(8) for i in range(20))


def read_responses(sock, count: int) -> list[bytes]:
    data = b""
    while data.count(b"HTTP/1.1 ") < count or not data.endswith((b"}", b"hello", b"ignored", b"\r\n\r\n")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return [b"HTTP/1.1 " + part for part in data.split(b"HTTP/1.1 ")[1:]]


def test_connection_close_is_honoured(server):
    data = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and b"connection: close" in data.lower()


def test_simple_then_chunked_request_on_one_connection(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(s, 1)[0].endswith(b'{"id":1}')
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        assert read_responses(s, 1)[0].endswith(b'{"bytes":3}')
        s.sendall(b"GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(s, 1)[0].endswith(b'{"id":2}')


def test_unread_body_is_drained_before_the_next_request(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nHELLO"
                  b"GET /users/3 HTTP/1.1\r\nHost: x\r\n\r\n")
        responses = read_responses(s, 2)
        assert responses[0].endswith(b"ignored") and responses[1].endswith(b'{"id":3}')


def test_204_has_no_body_framing(server):
    data = raw_exchange(server, b"GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 204 No Content")
    assert b"content-length" not in data.lower() and data.endswith(b"\r\n\r\n")


def test_header_injection_is_refused_with_500(server):
    response = httpx.get(server.url + "/inject")
    assert response.status_code == 500
    assert "set-cookie" not in response.headers
    assert still_serving(server)


def test_http_1_0_request_is_served_and_closed(server):
    data = raw_exchange(server, b"GET /users/4 HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"id":4}')
