"""One HTTP/1.1 connection: h11 events in, app responses out, with deadlines.

Owns the per-connection state machine (via h11), request/response framing,
keep-alive, pipelining (requests are answered in order because one task serves
one connection), streaming bodies with client-disconnect detection, and the
head/body/idle deadlines. Knows nothing of routing.
"""

from __future__ import annotations

import logging
import math
import time
from email.utils import formatdate
from typing import Any

import h11
import trio

from ..exceptions import HTTPError, PayloadTooLarge, RequestTimeout, error_response
from ..http.datastructures import Headers
from ..http.request import ClientDisconnect, Request
from ..http.response import Response, StreamingResponse
from .config import ServerConfig

logger = logging.getLogger("conduit.server")

_READ_SIZE = 64 * 1024
_date_cache = [0, b""]


def http_date() -> bytes:
    """The ``Date`` header value, formatted once per second (RFC 9110 §6.6.1)."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True).encode()
    return _date_cache[1]


class _Closed(Exception):
    """The peer closed the connection (or a deadline passed): stop serving it."""


class HTTPConnection:
    def __init__(self, stream: trio.abc.Stream, app: Any, config: ServerConfig,
                 client: tuple[str, int] | None = None):
        self.stream = stream
        self.app = app
        self.config = config
        self.client = client
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=config.max_head_size)
        self._server_header = config.server_header.encode()

    # ------------------------------------------------------------- reading

    async def _receive_into_h11(self, deadline: float) -> None:
        with trio.move_on_at(deadline):
            try:
                data = await self.stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            self.conn.receive_data(data)
            return
        raise TimeoutError

    async def _next_request(self) -> h11.Request | None:
        """The next request head, or None when the connection should just close."""
        idle_deadline = trio.current_time() + self.config.keepalive_timeout
        head_deadline = math.inf
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                if isinstance(event, h11.Request):
                    return event
                return None  # ConnectionClosed, or PAUSED after a close
            if self.conn.trailing_data[0]:
                # Part of a head has arrived: the head deadline runs from its first
                # byte and is not extended by later bytes (slowloris).
                if head_deadline == math.inf:
                    head_deadline = trio.current_time() + self.config.head_timeout
                deadline = head_deadline
            else:
                deadline = idle_deadline
            try:
                await self._receive_into_h11(deadline)
            except TimeoutError:
                if head_deadline != math.inf:
                    raise RequestTimeout(detail="request head not received in time") from None
                return None

    def _make_receive(self, limit: int):
        received = 0
        conn = self.conn

        async def receive() -> bytes:
            nonlocal received
            if conn.they_are_waiting_for_100_continue:
                await self._send_bytes(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    try:
                        await self._receive_into_h11(trio.current_time() + self.config.body_timeout)
                    except TimeoutError:
                        raise RequestTimeout(detail="request body not received in time") from None
                    continue
                if isinstance(event, h11.Data):
                    received += len(event.data)
                    if received > limit:
                        raise PayloadTooLarge(detail=f"request body exceeds {limit} bytes")
                    return bytes(event.data)
                if isinstance(event, h11.EndOfMessage):
                    return b""
                raise ClientDisconnect("connection closed before the body was complete")

        return receive

    # ------------------------------------------------------------- writing

    async def _send_bytes(self, data: bytes) -> None:
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise _Closed from None

    def _head(self, response: Response, streaming: bool) -> h11.Response:
        headers = [(b"date", http_date()), (b"server", self._server_header)]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if not streaming:
            headers.append((b"content-length", str(len(response.body)).encode()))
        return h11.Response(status_code=response.status_code, headers=headers)

    async def _send_response(self, request: Request, response: Response) -> None:
        conn = self.conn
        if isinstance(response, StreamingResponse) and request.method != "HEAD":
            await self._send_stream(response)
            return
        data = conn.send(self._head(response, streaming=False))
        if request.method != "HEAD" and response.body:
            data += conn.send(h11.Data(data=response.body))
        data += conn.send(h11.EndOfMessage())
        await self._send_bytes(data)

    async def _send_stream(self, response: StreamingResponse) -> None:
        await self._send_bytes(self.conn.send(self._head(response, streaming=True)))
        send, receive = trio.open_memory_channel[bytes](0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_produce, response, send)
            if self.conn.their_state is h11.DONE:
                nursery.start_soon(self._watch_disconnect, nursery.cancel_scope)
            interval = response.ping_interval or math.inf
            async with receive:
                while True:
                    with trio.move_on_after(interval) as idle:
                        try:
                            chunk = await receive.receive()
                        except trio.EndOfChannel:
                            break
                    if idle.cancelled_caught:
                        chunk = response.ping_bytes
                    if chunk:
                        await self._send_bytes(self.conn.send(h11.Data(data=chunk)))
            await self._send_bytes(self.conn.send(h11.EndOfMessage()))
            nursery.cancel_scope.cancel()

    async def _watch_disconnect(self, scope: trio.CancelScope) -> None:
        """While streaming, read ahead: buffer pipelined bytes, cancel on EOF."""
        while True:
            try:
                data = await self.stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                scope.cancel()
                raise _Closed
            self.conn.receive_data(data)

    async def _send_error(self, status: int, detail: str) -> None:
        """An error before or outside a handler (bad request, timeout): then close."""
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        response = error_response(status, detail)
        response.headers.append(("connection", "close"))
        try:
            data = self.conn.send(self._head(response, streaming=False))
            data += self.conn.send(h11.Data(data=response.body)) + self.conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            return
        try:
            await self._send_bytes(data)
        except _Closed:
            pass

    # --------------------------------------------------------------- cycle

    async def serve(self) -> None:
        try:
            while await self._serve_one():
                pass
        except _Closed:
            pass
        finally:
            with trio.CancelScope(shield=True):
                await self._close()

    async def _serve_one(self) -> bool:
        """Serve one request; return whether the connection stays open."""
        try:
            event = await self._next_request()
        except h11.RemoteProtocolError as exc:
            await self._send_error(exc.error_status_hint, f"malformed request: {exc}")
            return False
        except HTTPError as exc:
            await self._send_error(exc.status_code, str(exc.detail))
            return False
        if event is None:
            return False
        request = self._build_request(event)
        if request is None:
            return False
        try:
            with trio.move_on_after(self.config.handler_timeout) as scope:
                response = await self.app.handle(request)
            if scope.cancelled_caught:
                response = error_response(504, "the handler did not finish in time")
        except h11.RemoteProtocolError as exc:  # a bad body framing found while reading it
            await self._send_error(exc.error_status_hint, f"malformed request: {exc}")
            return False
        try:
            await self._send_response(request, response)
        except h11.LocalProtocolError as exc:
            logger.error("could not send the response to %r: %s", request, exc)
            return False
        return await self._finish_cycle()

    def _build_request(self, event: h11.Request) -> Request | None:
        target = event.target
        path, _, query = target.partition(b"?")
        if not path.startswith(b"/"):
            # absolute-form (RFC 9112 §3.2.2) or asterisk-form: route on the path part.
            if path.startswith((b"http://", b"https://")):
                path = b"/" + path.split(b"/", 3)[3] if path.count(b"/") >= 3 else b"/"
        headers = Headers(event.headers)
        limit = self.config.max_body_size
        return Request(event.method.decode("ascii"), path, query, headers, self.client,
                       self._make_receive(limit), http_version=event.http_version.decode())

    async def _finish_cycle(self) -> bool:
        conn = self.conn
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            return False
        # Unread body: drain a little so the connection can be reused, else close.
        drained = 0
        while conn.their_state is h11.SEND_BODY:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if drained > self.config.max_body_size:
                    return False
                try:
                    await self._receive_into_h11(trio.current_time() + self.config.body_timeout)
                except TimeoutError:
                    return False
            elif isinstance(event, h11.Data):
                drained += len(event.data)
            elif isinstance(event, h11.ConnectionClosed):
                return False
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            return True
        return False

    async def _close(self) -> None:
        try:
            await self.stream.aclose()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass


async def _produce(response: StreamingResponse, send: trio.MemorySendChannel) -> None:
    """Pull chunks from the response's iterator into ``send``; close it on cancel."""
    iterable = response.iterable
    async with send:
        if hasattr(iterable, "__aiter__"):
            iterator = iterable.__aiter__()
            try:
                async for item in iterator:
                    await send.send(response.encode_chunk(item))
            finally:
                if hasattr(iterator, "aclose"):
                    with trio.CancelScope(shield=True), trio.move_on_after(5):
                        await iterator.aclose()
        else:
            iterator = iter(iterable)
            done = object()
            try:
                while (item := await trio.to_thread.run_sync(next, iterator, done)) is not done:
                    await send.send(response.encode_chunk(item))
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    with trio.CancelScope(shield=True), trio.move_on_after(5):
                        await trio.to_thread.run_sync(close)
