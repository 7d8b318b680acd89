"""HTTPConnection over trio's in-memory stream pairs: the server loop without sockets or sleeps."""

from __future__ import annotations

import logging
import re

import trio
import trio.testing

from conduit import Conduit, Request
from conduit.http import EventSourceResponse, Response, StreamingResponse
from conduit.server.config import ServerConfig
from conduit.server.connection import _READ_SIZE, HTTPConnection

from _apps import echo_app

H = b"Host: t\r\n"
CLOSE = b"Connection: close\r\n"


def _app() -> Conduit:
    app = echo_app()

    @app.post("/small", max_body_size=4)
    async def small(request: Request):
        return await request.body()

    @app.get("/bad-header")
    async def bad_header():
        return Response(b"x", headers=[("x-a", "1\r\nSet-Cookie: evil=1")])

    @app.get("/events")
    async def events():
        async def gen():
            for i in range(3):
                yield {"data": str(i)}
                await trio.sleep(0)
        return EventSourceResponse(gen(), ping_interval=None)

    return app


def converse(data: bytes, app: Conduit | None = None, **config) -> tuple[bytes, HTTPConnection]:
    """Send ``data`` (then EOF) to one HTTPConnection; everything it answered until it closed."""
    client, server = trio.testing.memory_stream_pair()
    connection = HTTPConnection(server, app or _app(), ServerConfig(**config))

    async def main() -> bytes:
        received = bytearray()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connection.serve)
            await client.send_all(data)
            while chunk := await client.receive_some(65536):
                received += chunk
        return bytes(received)

    return trio.run(main), connection


def statuses(raw: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]


def test_keep_alive_and_pipelining_in_order():
    raw, _ = converse(b"GET / HTTP/1.1\r\n" + H + b"\r\n" + b"POST /echo HTTP/1.1\r\n" + H
                      + b"Content-Length: 3\r\n\r\nabc" + b"GET / HTTP/1.1\r\n" + H + CLOSE + b"\r\n")
    assert statuses(raw) == [200, 200, 200]
    assert raw.count(b"\r\n\r\nok") == 2 and b"\r\n\r\nabc" in raw


def test_chunked_upload_through_h11_head_then_simple_head():
    raw, _ = converse(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                      b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n" + b"GET / HTTP/1.1\r\n" + H + CLOSE + b"\r\n")
    assert statuses(raw) == [200, 200] and b"\r\n\r\nabcde" in raw


def test_stray_crlf_between_requests_is_ignored():
    raw, _ = converse(b"GET / HTTP/1.1\r\n" + H + b"\r\n\r\n\r\nGET / HTTP/1.1\r\n" + H + CLOSE + b"\r\n")
    assert statuses(raw) == [200, 200]


def test_route_limit_set_by_the_app_reaches_the_codec():
    raw, _ = converse(b"POST /small HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello")
    assert statuses(raw) == [413] and b"connection: close" in raw
    raw, _ = converse(b"POST /small HTTP/1.1\r\n" + H + CLOSE + b"Content-Length: 4\r\n\r\nhell")
    assert statuses(raw) == [200]


def test_bad_response_header_is_a_logged_500_never_an_injected_line(caplog):
    for extra in (b"", b"Expect: 100-continue\r\n"):  # the scanner's head, then h11's
        with caplog.at_level(logging.ERROR, logger="conduit.server"):
            raw, _ = converse(b"GET /bad-header HTTP/1.1\r\n" + H + extra + b"\r\n")
        assert statuses(raw) == [500] and b"evil" not in raw and b"connection: close" in raw
        assert any("bad response header" in r.getMessage() for r in caplog.records)
        caplog.clear()


def test_sse_then_next_request_on_the_same_connection():
    raw, _ = converse(b"GET /events HTTP/1.1\r\n" + H + b"\r\n" + b"GET / HTTP/1.1\r\n" + H + CLOSE + b"\r\n")
    assert statuses(raw) == [200, 200]
    assert b"data: 0" in raw and b"data: 2" in raw and raw.endswith(b"ok")


def test_read_ahead_is_bounded_while_a_response_streams():
    """A client that floods while an SSE stream is open: the server holds at most
    one read beyond the limit, the rest waits in the stream (TCP would push back)."""
    app = Conduit()
    held = []
    flooded = trio.Event()

    @app.get("/events")
    async def events(request: Request):
        async def gen():
            await flooded.wait()
            for _ in range(20):
                await trio.sleep(0)
                held.append(connection.codec.buffered)
                yield "x"
        return EventSourceResponse(gen(), ping_interval=None)

    client, server = trio.testing.memory_stream_pair()
    connection = HTTPConnection(server, app, ServerConfig(max_head_size=1024))

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connection.serve)
            await client.send_all(b"GET /events HTTP/1.1\r\n" + H + b"\r\n")
            for _ in range(50):
                await client.send_all(b"X" * 65536)  # junk where the next head should be
                await trio.sleep(0)
            flooded.set()
            try:
                while await client.receive_some(65536):
                    pass
            except trio.BrokenResourceError:
                pass

    trio.run(main)
    assert len(held) == 20 and max(held) <= connection.read_ahead_limit + _READ_SIZE


def test_a_stream_may_read_the_request_body_while_it_is_sent():
    """Only one task reads the connection: the disconnect watcher waits until the body is through."""
    app = Conduit()

    @app.post("/upper")
    async def upper(request: Request):
        async def gen():
            async for piece in request.stream():
                yield piece.upper()
        return StreamingResponse(gen())

    body = b"abc" * 50000
    raw, _ = converse(b"POST /upper HTTP/1.1\r\n" + H + CLOSE + b"Content-Length: %d\r\n\r\n" % len(body) + body,
                      app)
    assert statuses(raw) == [200]
    head, _, framed = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    data, rest = b"", framed
    while True:
        size, _, rest = rest.partition(b"\r\n")
        if int(size, 16) == 0:
            break
        data, rest = data + rest[:int(size, 16)], rest[int(size, 16) + 2:]
    assert data == body.upper()
