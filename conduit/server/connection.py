"""One HTTP/1.1 connection: bytes in, app responses out, with deadlines.

Owns request/response framing, keep-alive, pipelining (one task serves one
connection, so requests are answered in order), streaming bodies with
client-disconnect detection, and the head/body/idle/handler deadlines. Knows
nothing of routing.

Two framings share this loop. Simple heads (the common case: HTTP/1.1, no
chunked body, nothing unusual) are recognised by the ``http1`` Numba kernel and
framed in :mod:`.framing`; the first head that is not simple hands the
connection to h11 for good, and h11 judges it (RFC 9112 in full: chunked
bodies, ``Expect``, HTTP/1.0, every malformed input and its 4xx).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import h11
import trio

from ..exceptions import PayloadTooLarge, error_response
from ..http.datastructures import Headers
from ..http.request import ClientDisconnect, Request
from ..http.response import Response, StreamingResponse
from . import framing
from .config import ServerConfig

logger = logging.getLogger("conduit.server")

_READ_SIZE = 64 * 1024


class _Closed(Exception):
    """The peer closed the connection: stop serving it."""


# Phases of a request cycle; the one in force when the cycle's deadline passes
# decides the outcome (close quietly, 408, or 504).
_IDLE, _HEAD, _BODY, _HANDLER, _SEND = range(5)


class HTTPConnection:
    """Serves one connection.

    Each request cycle runs inside ONE cancel scope whose deadline moves with the
    phase (idle keep-alive, head, body gap, handler, send): cheaper than a scope
    per read, and a trickled byte never extends the head deadline (slowloris).
    """

    def __init__(self, stream: trio.abc.Stream, app: Any, config: ServerConfig,
                 client: tuple[str, int] | None = None):
        self.stream = stream
        self.app = app
        self.config = config
        self.client = client
        self.conn: h11.Connection | None = None  # set once the connection falls back to h11
        self._buffer = bytearray()  # unparsed bytes on the fast path
        self._scan_out = framing.new_scan_buffer()
        self._server_header = config.server_header.encode()
        self._scope: trio.CancelScope | None = None
        self._phase = _IDLE
        self._handler_deadline = math.inf
        # The stdlib socket under trio's, for non-blocking calls without trio's
        # per-call wrappers; None for other streams (then trio's stream API is used).
        self._sock = getattr(getattr(stream, "socket", None), "_sock", None)
        self._yielded = False

    # ------------------------------------------------------------------ IO

    async def _recv(self) -> bytes:
        """One read; ``b""`` at end of stream."""
        sock = self._sock
        if sock is None:
            try:
                return await self.stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return b""
        while True:
            try:
                return sock.recv(_READ_SIZE)
            except BlockingIOError:
                self._yielded = True
                await trio.lowlevel.wait_readable(sock)
            except OSError:
                return b""

    async def _send_bytes(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise _Closed from None
            return
        view = memoryview(data)
        while view:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                self._yielded = True
                await trio.lowlevel.wait_writable(sock)
                continue
            except OSError:
                raise _Closed from None
            view = view[sent:]

    def _enter(self, phase: int, timeout: float) -> None:
        self._phase = phase
        self._scope.deadline = trio.current_time() + timeout

    def _start_handler_phase(self) -> None:
        self._handler_deadline = trio.current_time() + self.config.handler_timeout
        self._phase = _HANDLER
        self._scope.deadline = self._handler_deadline

    def _start_send_phase(self) -> None:
        # Sending shares the handler's deadline unless that leaves less than
        # send_timeout (one deadline change fewer per request on the hot path).
        self._phase = _SEND
        now = trio.current_time()
        if self._handler_deadline - now < self.config.send_timeout:
            self._scope.deadline = now + self.config.send_timeout

    async def _body_read(self) -> bytes:
        """A read while a body is expected: at most body_timeout of silence,
        and never past the handler's own deadline."""
        self._phase = _BODY
        self._scope.deadline = min(self._handler_deadline, trio.current_time() + self.config.body_timeout)
        data = await self._recv()
        self._phase = _HANDLER
        self._scope.deadline = self._handler_deadline
        return data

    # --------------------------------------------------------------- cycle

    async def serve(self) -> None:
        try:
            while await self._serve_cycle():
                if not self._yielded:  # let other connections run between pipelined requests
                    await trio.lowlevel.checkpoint()
                self._yielded = False
        except _Closed:
            pass
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await self.stream.aclose()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    pass

    async def _serve_cycle(self) -> bool:
        """Serve one request; return whether the connection stays open."""
        self._phase = _IDLE
        with trio.CancelScope(deadline=trio.current_time() + self.config.keepalive_timeout) as scope:
            self._scope = scope
            if self.conn is None:
                outcome = await self._serve_simple()
                if outcome is not None:
                    return outcome
                self._fall_back_to_h11()
            return await self._serve_h11()
        # The deadline passed; what it means depends on the phase it caught.
        if self._phase == _HEAD:
            await self._send_error(408, "request head not received in time")
        elif self._phase == _BODY:
            await self._send_error(408, "request body not received in time")
        elif self._phase == _HANDLER:
            await self._send_error(504, "the handler did not finish in time")
        return False  # _IDLE: keep-alive expired; _SEND: the client stopped reading

    async def _run_app(self, request: Request) -> Response:
        self._start_handler_phase()
        response = await self.app.handle(request)
        self._start_send_phase()
        return response

    # ------------------------------------------------------------ fast path

    async def _serve_simple(self) -> bool | None:
        """One request on the fast path; None hands the connection to h11."""
        buffer = self._buffer
        out = self._scan_out
        while True:
            if buffer:
                length = framing.scan(buffer, out)
                if length > 0:
                    break
                if length < 0 or len(buffer) > self.config.max_head_size:
                    return None  # h11 decides (and answers 431 for an oversized head)
                if self._phase == _IDLE:  # a partial head: its deadline starts now
                    self._enter(_HEAD, self.config.head_timeout)
            data = await self._recv()
            if not data:
                return None if buffer else False
            buffer += data
        head = bytes(buffer[:length])
        del buffer[:length]
        if length > self.config.max_head_size:
            await self._send_error(431, f"request head exceeds {self.config.max_head_size} bytes")
            return False
        method, target, raw_headers, content_length, close = framing.split_head(head, out)
        body_left = max(content_length, 0)
        limit = self.config.max_body_size

        async def receive() -> bytes:
            nonlocal body_left
            if body_left == 0:
                return b""
            if content_length > limit:  # refused before reading any of it
                raise PayloadTooLarge(detail=f"request body of {content_length} bytes exceeds {limit} bytes")
            if not buffer:
                data = await self._body_read()
                if not data:
                    raise ClientDisconnect("connection closed before the body was complete")
                buffer.extend(data)
            take = min(body_left, len(buffer))
            data = bytes(buffer[:take])
            del buffer[:take]
            body_left -= take
            return data

        request = _make_request(method, target, Headers(raw_headers), self.client, receive, "1.1")
        response = await self._run_app(request)
        close = close or (body_left > limit)  # an unread, oversized body: do not drain it
        if isinstance(response, StreamingResponse) and method != "HEAD":
            await self._send_stream(response, close)
        else:
            streaming = isinstance(response, StreamingResponse)  # only for HEAD here
            head_only = method == "HEAD" or response.status_code in framing.NO_BODY
            try:
                data = framing.response_head(response, self._server_header, streaming=streaming,
                                             close=close, head_only=head_only)
            except framing.ResponseHeaderError as exc:
                logger.error("bad response header from %s %s: %s", method, target, exc)
                data = framing.response_head(error_response(500), self._server_header,
                                             streaming=False, close=True)
                await self._send_bytes(data + error_response(500).body)
                return False
            await self._send_bytes(data if head_only else data + response.body)
        if close:
            return False
        # Drain what the handler left unread so the next request starts cleanly.
        if body_left:
            self._enter(_SEND, self.config.body_timeout)
            while body_left:
                if not buffer and not (data := await self._recv()):
                    return False
                if not buffer:
                    buffer.extend(data)
                take = min(body_left, len(buffer))
                del buffer[:take]
                body_left -= take
        return True

    # ------------------------------------------------------------ h11 path

    def _fall_back_to_h11(self) -> None:
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.config.max_head_size)
        self.conn.receive_data(bytes(self._buffer))
        self._buffer = bytearray()

    async def _receive_into_h11(self) -> bool:
        data = await self._recv()
        self.conn.receive_data(data)
        return bool(data)

    async def _next_request(self) -> h11.Request | None:
        """The next request head, or None when the connection should just close."""
        conn = self.conn
        started = False
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event if isinstance(event, h11.Request) else None
            if not started and conn.trailing_data[0]:
                # Part of a head is here but not all of it.
                started = True
                self._enter(_HEAD, self.config.head_timeout)
            await self._receive_into_h11()

    def _h11_receive(self, limit: int):
        received = 0
        conn = self.conn

        async def receive() -> bytes:
            nonlocal received
            if conn.they_are_waiting_for_100_continue:
                await self._send_bytes(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await self._body_read())
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

    def _h11_head(self, response: Response, streaming: bool) -> h11.Response:
        headers = [(b"date", framing.http_date()), (b"server", self._server_header)]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
                    if k.lower() not in ("content-length", "transfer-encoding")]
        status = response.status_code
        if not streaming and status not in framing.NO_BODY:
            headers.append((b"content-length", b"%d" % len(response.body)))
        return h11.Response(status_code=status, headers=headers, reason=framing.REASONS.get(status, b""))

    async def _serve_h11(self) -> bool:
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
        request = _make_request(event.method.decode("ascii"), event.target, Headers(event.headers),
                                self.client, self._h11_receive(self.config.max_body_size),
                                event.http_version.decode())
        try:
            response = await self._run_app(request)
        except h11.RemoteProtocolError as exc:  # bad body framing found while reading it
            await self._send_error(exc.error_status_hint, f"malformed request: {exc}")
            return False
        conn = self.conn
        try:
            if isinstance(response, StreamingResponse) and request.method != "HEAD":
                await self._send_stream(response, close=False)
            else:
                data = conn.send(self._h11_head(response, streaming=isinstance(response, StreamingResponse)))
                if request.method != "HEAD" and response.body and response.status_code not in framing.NO_BODY:
                    data += conn.send(h11.Data(data=response.body))
                data += conn.send(h11.EndOfMessage())
                await self._send_bytes(data)
        except h11.LocalProtocolError as exc:
            logger.error("could not send the response to %r: %s", request, exc)
            return False
        return await self._finish_h11_cycle()

    async def _finish_h11_cycle(self) -> bool:
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

    # ------------------------------------------------------ shared writing

    async def _send_stream(self, response: StreamingResponse, close: bool) -> None:
        """Send a streaming body, chunked, until it ends or the client leaves.

        A stream may last for hours: the cycle deadline is lifted and each write
        gets its own send timeout instead.
        """
        conn = self.conn
        self._scope.deadline = math.inf
        timeout = self.config.send_timeout
        if conn is None:
            head = framing.response_head(response, self._server_header, streaming=True, close=close)
            def frame(data): return framing.chunk(data)
            end = framing.LAST_CHUNK
        else:
            head = conn.send(self._h11_head(response, streaming=True))
            def frame(data): return conn.send(h11.Data(data=data))
            end = None
        with trio.fail_after(timeout):
            await self._send_bytes(head)
        send, receive = trio.open_memory_channel[bytes](0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_produce, response, send)
            if conn is None or conn.their_state is h11.DONE:
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
                            await self._send_bytes(frame(chunk))
            with trio.fail_after(timeout):
                await self._send_bytes(end if end is not None else conn.send(h11.EndOfMessage()))
            nursery.cancel_scope.cancel()

    async def _watch_disconnect(self, scope: trio.CancelScope) -> None:
        """While streaming, read ahead: keep pipelined bytes, cancel on EOF."""
        while True:
            data = await self._recv()
            if not data:
                scope.cancel()
                raise _Closed
            if self.conn is None:
                self._buffer += data
            else:
                self.conn.receive_data(data)

    async def _send_error(self, status: int, detail: str) -> None:
        """An error outside a handler (bad request, timeout): send it, then close."""
        response = error_response(status, detail)
        conn = self.conn
        if conn is None:
            data = framing.response_head(response, self._server_header, streaming=False, close=True)
            data += response.body
        else:
            if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
                return
            response.headers.append(("connection", "close"))
            try:
                data = conn.send(self._h11_head(response, streaming=False))
                data += conn.send(h11.Data(data=response.body)) + conn.send(h11.EndOfMessage())
            except h11.LocalProtocolError:
                return
        with trio.move_on_after(self.config.send_timeout):
            try:
                await self._send_bytes(data)
            except _Closed:
                pass


def _make_request(method: str, target: bytes, headers: Headers, client, receive, version: str) -> Request:
    path, _, query = target.partition(b"?")
    if not path.startswith(b"/"):
        # absolute-form (RFC 9112 §3.2.2): route on its path part.
        parts = path.split(b"/", 3)
        path = b"/" + parts[3] if len(parts) == 4 else b"/"
    return Request(method, path, query, headers, client, receive, http_version=version)


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
