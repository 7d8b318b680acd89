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
from http import HTTPStatus
from typing import Any

import h11
import trio

from ..exceptions import PayloadTooLarge, error_response
from ..http.datastructures import Headers
from ..http.request import ClientDisconnect, Request
from ..http.response import Response, StreamingResponse
from .config import ServerConfig

logger = logging.getLogger("conduit.server")

_READ_SIZE = 64 * 1024
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_date_cache = [0, b""]


def http_date() -> bytes:
    """The ``Date`` header value, formatted once per second (RFC 9110 §6.6.1)."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True).encode()
    return _date_cache[1]


class _Closed(Exception):
    """The peer closed the connection: stop serving it."""


# Phases of a request cycle; the one in force when the cycle's deadline passes
# decides the outcome (close quietly, 408, or 504).
_IDLE, _HEAD, _BODY, _HANDLER, _SEND = range(5)


class HTTPConnection:
    """Serves one connection. Each request cycle runs inside ONE cancel scope whose
    deadline moves with the phase (idle keep-alive, head, body gap, handler, send):
    cheaper than a scope per read, and a trickled byte never extends the head
    deadline (slowloris)."""

    def __init__(self, stream: trio.abc.Stream, app: Any, config: ServerConfig,
                 client: tuple[str, int] | None = None):
        self.stream = stream
        self.app = app
        self.config = config
        self.client = client
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=config.max_head_size)
        self._server_header = config.server_header.encode()
        self._scope: trio.CancelScope | None = None
        self._phase = _IDLE
        self._handler_deadline = math.inf

    # ------------------------------------------------------------- reading

    async def _receive_into_h11(self) -> bool:
        """Read once into h11; False at end of stream."""
        try:
            data = await self.stream.receive_some(_READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        self.conn.receive_data(data)
        return bool(data)

    async def _next_request(self) -> h11.Request | None:
        """The next request head, or None when the connection should just close."""
        conn = self.conn
        started = bool(conn.trailing_data[0])  # pipelined bytes already buffered
        if started:
            self._enter(_HEAD, self.config.head_timeout)
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event if isinstance(event, h11.Request) else None
            if not started and conn.trailing_data[0]:
                # Part of a head is here but not all of it (the common case, a whole
                # head in one read, never gets this far).
                started = True
                self._enter(_HEAD, self.config.head_timeout)
            await self._receive_into_h11()

    def _enter(self, phase: int, timeout: float) -> None:
        self._phase = phase
        self._scope.deadline = trio.current_time() + timeout

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
                    # The body must keep flowing: at most body_timeout between reads,
                    # and never past the handler's own deadline.
                    self._phase = _BODY
                    self._scope.deadline = min(self._handler_deadline,
                                               trio.current_time() + self.config.body_timeout)
                    await self._receive_into_h11()
                    self._phase = _HANDLER
                    self._scope.deadline = self._handler_deadline
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
            headers.append((b"content-length", b"%d" % len(response.body)))
        status = response.status_code
        return h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))

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
        # A stream may last for hours: the cycle deadline is lifted and each write
        # gets its own send timeout instead.
        self._scope.deadline = math.inf
        timeout = self.config.send_timeout
        with trio.fail_after(timeout):
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
                        with trio.fail_after(timeout):
                            await self._send_bytes(self.conn.send(h11.Data(data=chunk)))
            with trio.fail_after(timeout):
                await self._send_bytes(self.conn.send(h11.EndOfMessage()))
            nursery.cancel_scope.cancel()

    async def _watch_disconnect(self, scope: trio.CancelScope) -> None:
        """While streaming, read ahead: buffer pipelined bytes, cancel on EOF."""
        while True:
            if not await self._receive_into_h11():
                scope.cancel()
                raise _Closed

    async def _send_error(self, status: int, detail: str) -> None:
        """An error outside a handler (bad request, timeout): send it, then close."""
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        response = error_response(status, detail)
        response.headers.append(("connection", "close"))
        try:
            data = self.conn.send(self._head(response, streaming=False))
            data += self.conn.send(h11.Data(data=response.body)) + self.conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            return
        with trio.move_on_after(self.config.send_timeout):
            try:
                await self._send_bytes(data)
            except _Closed:
                pass

    # --------------------------------------------------------------- cycle

    async def serve(self) -> None:
        try:
            while await self._serve_cycle():
                pass
        except _Closed:
            pass
        finally:
            with trio.CancelScope(shield=True):
                await self._close()

    async def _serve_cycle(self) -> bool:
        """Serve one request; return whether the connection stays open."""
        self._phase = _IDLE
        with trio.CancelScope(deadline=trio.current_time() + self.config.keepalive_timeout) as scope:
            self._scope = scope
            return await self._serve_one()
        # The deadline passed; what it means depends on the phase it caught.
        if self._phase == _HEAD:
            await self._send_error(408, "request head not received in time")
        elif self._phase == _BODY:
            await self._send_error(408, "request body not received in time")
        elif self._phase == _HANDLER:
            await self._send_error(504, "the handler did not finish in time")
        return False  # _IDLE: keep-alive expired; _SEND: the client stopped reading

    async def _serve_one(self) -> bool:
        try:
            event = await self._next_request()
        except h11.RemoteProtocolError as exc:
            await self._send_error(exc.error_status_hint, f"malformed request: {exc}")
            return False
        if event is None:
            return False
        # h11 enforces max_head_size only on heads that arrive in several reads.
        head_size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
        if head_size > self.config.max_head_size:
            await self._send_error(431, f"request head exceeds {self.config.max_head_size} bytes")
            return False
        if event.http_version not in (b"1.1", b"1.0"):  # RFC 9110 §15.6.6
            await self._send_error(505, f"HTTP version {event.http_version.decode()} is not supported")
            return False
        request = self._build_request(event)
        self._handler_deadline = trio.current_time() + self.config.handler_timeout
        self._phase = _HANDLER
        self._scope.deadline = self._handler_deadline
        try:
            response = await self.app.handle(request)
        except h11.RemoteProtocolError as exc:  # bad body framing found while reading it
            await self._send_error(exc.error_status_hint, f"malformed request: {exc}")
            return False
        # Sending shares the handler's deadline unless that leaves less than send_timeout
        # (one deadline change fewer per request on the hot path).
        self._phase = _SEND
        now = trio.current_time()
        if self._handler_deadline - now < self.config.send_timeout:
            self._scope.deadline = now + self.config.send_timeout
        try:
            await self._send_response(request, response)
        except h11.LocalProtocolError as exc:
            logger.error("could not send the response to %r: %s", request, exc)
            return False
        return await self._finish_cycle()

    def _build_request(self, event: h11.Request) -> Request:
        path, _, query = event.target.partition(b"?")
        if not path.startswith(b"/"):
            # absolute-form (RFC 9112 §3.2.2): route on its path part.
            parts = path.split(b"/", 3)
            path = b"/" + parts[3] if len(parts) == 4 else b"/"
        return Request(event.method.decode("ascii"), path, query, Headers(event.headers),
                       self.client, self._make_receive(self.config.max_body_size),
                       http_version=event.http_version.decode())

    async def _finish_cycle(self) -> bool:
        conn = self.conn
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            return False
        # Unread body: drain a bounded amount so the connection can be reused.
        drained = 0
        if conn.their_state is h11.SEND_BODY:
            self._enter(_SEND, self.config.body_timeout)
        while conn.their_state is h11.SEND_BODY:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if drained > self.config.max_body_size or not await self._receive_into_h11():
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
