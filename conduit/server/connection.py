"""One HTTP/1.1 connection: sockets, deadlines, flow control and streaming.

Knows bytes and time, not HTTP: every framing rule (heads, bodies and their
limits, draining, response heads, errors) is in the sans-IO
:class:`~conduit.http.h1.HTTP1Codec`; this module feeds it what the socket
reads and writes what it returns. It owns keep-alive and pipelining (one task
serves one connection, so requests are answered in order), the head/body/idle/
handler/send deadlines, streaming responses with client-disconnect detection,
bounded read-ahead (while a response streams, at most one read past
``max_head_size`` is held) and fairness (a connection whose reads never block
yields to the others every few reads).
"""

from __future__ import annotations

import logging
import math
import socket
from contextlib import aclosing
from typing import Any

import trio

from ..exceptions import HTTPError
from ..http.datastructures import Headers
from ..http.files import FileResponse
from ..http.h1 import NEED_DATA, EndOfMessage, HTTP1Codec, ProtocolError, ResponseHeaderError
from ..http.request import ClientDisconnect, Request
from ..http.response import Response, StreamingResponse
from ..lifecycle import finish_response, response_chunks
from .config import ServerConfig
from .raw_stream import RawSocketStream
from .sendfile import FileShrank, send_file
from .served_app import ServedApp
from .websocket import is_upgrade, serve_websocket

logger = logging.getLogger("conduit.server")

_READ_SIZE = 64 * 1024
#: Reads that return data without blocking, in a row, before the connection yields
#: to the others (a fast client streaming a body must not hold the loop).
_READS_PER_YIELD = 4


class _Closed(Exception):
    """The peer closed the connection: stop serving it."""


# Phases of a request cycle; the one in force when the connection's deadline passes
# decides the outcome (close quietly, 408, or 504). _STREAM has no cycle deadline:
# each write of a stream has its own.
_IDLE, _HEAD, _BODY, _HANDLER, _SEND, _STREAM = range(6)


class HTTPConnection:
    """Serves one connection.

    The connection runs inside ONE cancel scope; its deadline moves with the
    phase (idle keep-alive, head, body gap, handler, send) and a trickled byte
    never extends the head deadline (slowloris). Under a server the deadline is
    :attr:`deadline`, checked by ``ServerState.watch_deadlines``.
    """

    def __init__(self, stream: trio.abc.Stream, app: ServedApp, config: ServerConfig,
                 client: tuple[str, int] | None = None, server: Any = None):
        self.stream = stream
        #: The owning server's shared state (connection set, deadline watchdog), if any.
        self.server = server
        self.app = app
        self.config = config
        self.client = client
        self.codec = HTTP1Codec(max_head_size=config.max_head_size, max_body_size=app.max_body_size,
                                server_header=config.server_header)
        #: Most bytes held unparsed while a response streams (the next pipelined head).
        self.read_ahead_limit = config.max_head_size
        self._scope: trio.CancelScope | None = None
        self._phase = _IDLE
        self._handler_deadline = math.inf
        #: When the current phase ends (trio clock); read by the server's watchdog.
        self.deadline = math.inf
        # The stdlib socket under trio's, for non-blocking calls without trio's
        # per-call wrappers; None for other streams (then trio's stream API is used).
        self._sock = getattr(getattr(stream, "socket", None), "_sock", None)
        self._scheme = "https" if isinstance(stream, trio.SSLStream) else "http"
        self._yielded = False
        self._reads = 0
        self._request: Request | None = None
        self._receive_body = self._receive

    # ------------------------------------------------------------------ IO

    async def _recv(self) -> bytes:
        """One read; ``b""`` at end of stream."""
        if self._reads >= _READS_PER_YIELD:
            self._reads = 0
            self._yielded = True
            await trio.lowlevel.checkpoint()
        sock = self._sock
        if sock is None:
            try:
                data = await self.stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return b""
            self._reads += 1
            return data
        while True:
            try:
                data = sock.recv(_READ_SIZE)
            except BlockingIOError:
                self._yielded = True
                self._reads = 0
                await trio.lowlevel.wait_readable(sock)
                continue
            except OSError:
                return b""
            self._reads += 1
            return data

    async def _send_bytes(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise _Closed from None
            return
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            raise _Closed from None
        if sent == len(data):  # the common case: one call, no memoryview
            return
        if self._phase == _SEND:  # the client is slow to read: now the send deadline runs
            self._enter(_SEND, self.config.send_timeout)
        view = memoryview(data)[sent:]
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

    def _set_deadline(self, when: float) -> None:
        """Move the connection's deadline: a float the server's watchdog reads, or,
        without a server (in-memory tests), the cancel scope's own deadline."""
        if self.server is not None:
            self.deadline = when
        else:
            self._scope.deadline = when

    def expire(self) -> None:
        """Called by the server's watchdog once :attr:`deadline` has passed."""
        self._scope.cancel()

    def _enter(self, phase: int, timeout: float) -> None:
        self._phase = phase
        self._set_deadline(trio.current_time() + timeout)

    def _start_handler_phase(self) -> None:
        self._handler_deadline = trio.current_time() + self.app.handler_timeout
        self._phase = _HANDLER
        self._set_deadline(self._handler_deadline)

    def _start_send_phase(self) -> None:
        # No deadline change here: a response usually leaves in one send() call, and
        # the send deadline is set only if a send has to wait (see _send_bytes).
        self._phase = _SEND

    async def _body_read(self) -> bytes:
        """A read while a body is expected: at most body_timeout of silence (408),
        and never past the handler's own deadline (which stays a 504, as under
        every face: the app's deadline covers reading the body)."""
        silence = trio.current_time() + self.config.body_timeout
        if self._phase == _HANDLER and silence >= self._handler_deadline:
            return await self._recv()  # the handler's deadline comes first
        phase, deadline = self._phase, self._handler_deadline
        self._phase = _BODY
        self._set_deadline(silence)
        data = await self._recv()
        self._phase = phase
        self._set_deadline(deadline if phase == _HANDLER else math.inf)
        return data

    # --------------------------------------------------------------- cycle

    async def serve(self) -> None:
        # ONE cancel scope for the whole connection: every deadline that passes ends
        # the connection anyway, so a scope per request cycle would only cost an
        # enter and an exit each time. Under a server the deadline is a plain float
        # that the server's watchdog checks a few times a second (moving a trio
        # deadline twice per request cost more than the rest of the cycle's framing).
        with trio.CancelScope() as scope:
            self._scope = scope
            try:
                while await self._serve_cycle():
                    if not self._yielded:  # let other connections run between pipelined requests
                        await trio.lowlevel.checkpoint()
                    self._yielded = False
            except _Closed:
                pass
        try:
            if scope.cancelled_caught:
                await self._on_deadline()
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await self.stream.aclose()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    pass

    async def _on_deadline(self) -> None:
        """A deadline passed; what it means depends on the phase it caught."""
        if self._phase == _HEAD:
            await self._send_error(408, "request head not received in time")
        elif self._phase == _BODY:
            await self._send_error(408, "request body not received in time")
        elif self._phase == _HANDLER:  # the app's answer for it, request id and all
            response = await self.app.lifecycle.deadline_response(self._request)
            self.codec.close_after_response()
            try:
                with trio.move_on_after(self.config.send_timeout):
                    await self._respond(self._request, response)
            except _Closed:
                pass
            finally:
                await finish_response(response, sent=False)
        # _IDLE: keep-alive expired; _SEND, _STREAM: the client stopped reading. Just close.

    async def _serve_cycle(self) -> bool:
        """Serve one request; return whether the connection stays open."""
        self._enter(_IDLE, self.config.keepalive_timeout)
        head = await self._read_head()
        if head is None:
            return False
        if self.app.has_websockets and is_upgrade(head):
            self._enter(_STREAM, math.inf)  # the WebSocket keeps its own idle timeout
            # The raw socket path the HTTP side uses: trio's SocketStream wrappers cost
            # more than the frame work on every WebSocket message.
            stream = self.stream if self._sock is None else RawSocketStream(self.stream, self._sock)
            await serve_websocket(stream, self.app, head, self.codec, self.client, self.config)
            return False
        request = Request(head.method, head.path, head.query, Headers(head.headers), self.client,
                          self._receive_body, http_version=head.http_version, scheme=self._scheme)
        self._request = request
        self._start_handler_phase()
        # The app's lifecycle is the policy; this connection only keeps its deadline
        # (app.handler_timeout, on the watchdog's clock: see _on_deadline).
        response = await self.app.lifecycle.handle_without_deadline(request)
        self._start_send_phase()
        sent = False
        try:
            await self._respond(request, response)
            sent = True
            if response.background is not None:  # background tasks: after the response is sent
                self._enter(_STREAM, math.inf)
        finally:
            if response.background is not None or response.after_send:  # else nothing to await
                await finish_response(response, sent=sent)
        return await self._finish_cycle()

    async def _read_head(self):
        """The next request head, or None when the connection should just close."""
        codec = self.codec
        while True:
            try:
                event = codec.next_event()
            except ProtocolError as exc:
                await self._send_error(exc.status, exc.detail)
                return None
            if event is not NEED_DATA:
                return event
            if self._phase == _IDLE:
                if codec.head_started:  # a partial head: its deadline starts now
                    self._enter(_HEAD, self.config.head_timeout)
                elif self._sock is not None and not codec.buffered:
                    # Nothing pipelined: a keep-alive client sends its next request only
                    # after our response, so wait first instead of a recv() bound to fail.
                    self._yielded = True
                    self._reads = 0
                    await trio.lowlevel.wait_readable(self._sock)
            data = await self._recv()
            if not data:
                return None
            codec.receive_data(data)

    async def _receive(self) -> bytes:
        """The current request's ``receive``: body pieces from the codec, read on demand.

        One bound method per connection (a connection serves one request at a time).
        """
        codec = self.codec
        limit = self._request.max_body_size  # the lifecycle's (the app's or the route's)
        codec.body_limit = self.app.max_body_size if limit is None else limit
        while True:
            try:
                event = codec.next_event()
            except ProtocolError as exc:  # over the limit, or bad framing: the client's fault
                raise HTTPError(exc.status, exc.detail) from None
            if event is NEED_DATA:
                if continue_ := codec.continue_response():
                    await self._send_bytes(continue_)
                data = await self._body_read()
                if not data:
                    raise ClientDisconnect("connection closed before the body was complete")
                codec.receive_data(data)
            elif isinstance(event, EndOfMessage):
                return b""
            else:
                return event.data

    async def _respond(self, request: Request, response: Response) -> None:
        codec = self.codec
        # The route's limit also decides whether an unread body may be drained.
        limit = request.max_body_size
        codec.body_limit = self.app.max_body_size if limit is None else limit
        if self.app.draining:
            codec.close_after_response()
        head_only = request.method == "HEAD"
        streaming = isinstance(response, StreamingResponse)
        if streaming and not head_only:
            await self._send_stream(request, response)
            return
        try:
            if streaming:
                data = codec.send_stream_head(response, head_only=True)
            else:
                data = codec.send_response(response, head_only=head_only)
        except ResponseHeaderError as exc:
            data = self._bad_response(request, exc)
        await self._send_bytes(data)

    def _bad_response(self, request: Request, exc: ResponseHeaderError) -> bytes:
        self.codec.close_after_response()
        return self.codec.send_response(self.app.lifecycle.invalid_response(request, exc),
                                        head_only=request.method == "HEAD")

    async def _finish_cycle(self) -> bool:
        """Drain what the handler left of the body (within its limit) and start the next cycle."""
        codec = self.codec
        if not codec.keep_alive:
            return False
        if not codec.body_done:
            self._enter(_SEND, self.config.body_timeout)
            while True:
                try:
                    event = codec.next_event()
                except ProtocolError:
                    return False
                if isinstance(event, EndOfMessage):
                    break
                if event is NEED_DATA:
                    data = await self._recv()
                    if not data:
                        return False
                    codec.receive_data(data)
        codec.start_next_cycle()
        return True

    def close_if_idle(self) -> bool:
        """On shutdown: end this connection now if it waits for a next request.

        Shutting down the read side makes the pending read return end-of-stream, so
        the connection closes as if the client had left; a request that already
        arrived is still served (its response then says ``Connection: close``).
        """
        if self._phase != _IDLE:
            return False
        sock = self._sock if self._sock is not None else getattr(
            getattr(self.stream, "transport_stream", self.stream), "socket", None)  # under TLS: the TCP socket
        try:
            sock.shutdown(socket.SHUT_RD)
        except (OSError, AttributeError):
            pass
        return True

    # ------------------------------------------------------------ streaming

    async def _send_stream(self, request: Request, response: StreamingResponse) -> None:
        """Send a streaming body until it ends or the client leaves.

        A stream may last for hours: the cycle deadline is lifted and each write
        gets its own send timeout instead.
        """
        codec = self.codec
        try:
            head = codec.send_stream_head(response)
        except ResponseHeaderError as exc:
            await self._send_bytes(self._bad_response(request, exc))
            return
        self._phase = _STREAM
        self._set_deadline(math.inf)
        timeout = self.config.send_timeout
        with trio.fail_after(timeout):
            await self._send_bytes(head)
        if isinstance(response, FileResponse) and self._sock is not None:
            await self._send_file(response, timeout)
            return
        # Nothing may escape the nursery but cancellation: trio wraps anything else in
        # an ExceptionGroup. Outcomes are recorded here and acted on after it closes.
        outcome = {"peer_gone": False, "failed": False}
        send, receive = trio.open_memory_channel[bytes](0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_produce, response, send, outcome)
            if codec.body_done:  # else the handler may still read the body: one reader only
                nursery.start_soon(self._watch_disconnect, nursery.cancel_scope, outcome)
            interval = response.ping_interval or math.inf
            try:
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
                                await self._send_bytes(codec.send_chunk(chunk))
                if not outcome["failed"] and not codec.stream_complete:
                    logger.error("a stream ended short of its Content-Length: aborting the connection")
                    outcome["failed"] = True
                if not outcome["failed"] and (end := codec.send_end()):
                    with trio.fail_after(timeout):
                        await self._send_bytes(end)
            except (_Closed, trio.TooSlowError):  # the client left, or stopped reading
                outcome["peer_gone"] = True
            except ValueError as exc:  # more bytes than the response's content_length
                logger.error("aborting a stream: %s", exc)
                outcome["failed"] = True
            nursery.cancel_scope.cancel()
        if outcome["peer_gone"] or outcome["failed"]:
            # A stream cut short cannot be framed as complete: close the connection
            # (the client sees a truncated body rather than a false end).
            raise _Closed

    async def _send_file(self, response: FileResponse, timeout: float) -> None:
        """A file body by ``sendfile`` (a plain socket; see :mod:`.sendfile`); aborts when it shrank."""
        response.iterable.close()  # its chunk generator, never started: the file was not opened
        try:
            await send_file(self._sock, response.path, response.offset, response.content_length, timeout,
                            self.codec.sent_raw)
        except FileShrank as exc:
            logger.error("aborting a file response: %s", exc)
            raise _Closed from None
        except (OSError, trio.TooSlowError):  # the client left, or stopped reading
            raise _Closed from None

    async def _watch_disconnect(self, scope: trio.CancelScope, outcome: dict) -> None:
        """While streaming, read ahead a bounded amount (the next pipelined head) and
        cancel the stream on end-of-stream.

        Once :attr:`read_ahead_limit` bytes are held, reading stops until the cycle
        ends: the client's further bytes wait in the kernel (TCP flow control), and a
        client that left is noticed by the next write instead. It runs only once the
        request body is through (the handler may read the body while it streams).
        """
        codec = self.codec
        while True:
            if codec.buffered >= self.read_ahead_limit:
                await trio.sleep_forever()
            data = await self._recv()
            if not data:
                outcome["peer_gone"] = True
                scope.cancel()
                return
            codec.receive_data(data)

    async def _send_error(self, status: int, detail: str) -> None:
        """An error outside a handler (bad request, timeout): send it, then close."""
        data = self.codec.send_error(status, detail)
        if data is None:
            return
        with trio.move_on_after(self.config.send_timeout):
            try:
                await self._send_bytes(data)
            except _Closed:
                pass


async def _produce(response: StreamingResponse, send: trio.MemorySendChannel, outcome: dict) -> None:
    """Pull chunks from the response (its iterator is closed on every path) into ``send``.

    An iterator that raises is logged with its traceback and marks the stream
    failed (the status line is long gone; the connection is closed instead).
    """
    async with send:
        try:
            async with aclosing(response_chunks(response)) as chunks:
                async for chunk in chunks:
                    await send.send(chunk)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the consumer stopped: the client left
        except Exception:
            logger.exception("a streaming response's iterator failed")
            outcome["failed"] = True

