"""WebSockets (RFC 6455) on wsproto, the sans-IO library from the h11 family.

:class:`WebSocket` is what a ``@app.websocket(...)`` handler receives: a
:class:`~conduit.http.Request` (so path, query, header and ``Depends`` parameters
bind exactly as for HTTP routes) that can also accept the handshake and exchange
messages. It owns the message rules: fragments are joined, a message over
``max_message_size`` closes with 1009, invalid UTF-8 in a text message with 1007
(wsproto's parse errors carry their close code), pings are answered, a receive
that waits longer than ``idle_timeout`` closes with 1001. The socket IO is the
face's (:mod:`conduit.server.websocket`, :mod:`conduit.asgi.websocket`); this module
only sees an object with ``send_all``/``receive_some``. What happens around the
handler (route match, admission, middleware, closing rules) is the app's
(:mod:`conduit.lifecycle.websocket`).

After ``accept()`` one background reader owns the socket's receive side: it
answers pings, notes pongs, joins fragments and puts whole messages on a bounded
queue (``queue_size``). While the queue is full the reader waits and reads
nothing more from the socket, so TCP flow control pushes back on the client and
memory stays bounded however fast it sends. With ``ping_interval`` set, the
server pings the client that often; no pong within ``ping_timeout`` closes with
1011 (the code the ``websockets`` library and browsers use for a keepalive
timeout: the connection hit an unexpected condition, RFC 6455 §7.4.1), not 1001
(the endpoint is going away).

Exceptions: :class:`WebSocketDisconnect` (the client closed or went away; carries
the close code).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.utilities import LocalProtocolError
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping, Pong,
                            Request as WSRequest, TextMessage)

from ._json import InvalidJSON, dumps, loads_body
from .exceptions import error_response
from .http.request import Request
from .http.request_id import request_id_of
from .http.response import Response
from .http.websocket_frames import FrameReader, message_frame

#: Close codes used here (RFC 6455 §7.4.1).
NORMAL, GOING_AWAY, PROTOCOL_ERROR, INVALID_DATA, TOO_BIG, INTERNAL_ERROR = 1000, 1001, 1002, 1007, 1009, 1011


class WebSocketDisconnect(Exception):
    """The peer closed the WebSocket (``code``) or the connection dropped (1006)."""

    def __init__(self, code: int = NORMAL, reason: str = ""):
        super().__init__(f"websocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class WebSocket(Request):
    """One WebSocket connection, before and after the handshake."""

    __slots__ = ("_ws", "_stream", "_nursery", "_send_lock", "_queue_in", "_queue_out", "_background",
                 "_disconnect", "_pong", "accepted", "closed", "max_message_size", "idle_timeout", "close_code",
                 "queue_size", "ping_interval", "ping_timeout", "_render_refusal")

    def __init__(self, *args: Any, stream: Any = None, connection: WSConnection | None = None,
                 max_message_size: int | None = None, idle_timeout: float | None = None,
                 queue_size: int = 16, ping_interval: float | None = None, ping_timeout: float = 20.0,
                 nursery: trio.Nursery | None = None,
                 render_refusal: Callable[[Response], bytes] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._stream = stream
        self._ws = connection
        self._nursery = nursery
        self._send_lock = trio.Lock()
        self._queue_in, self._queue_out = trio.open_memory_channel(queue_size)
        self._background = trio.CancelScope()
        self._disconnect: WebSocketDisconnect | None = None
        self._pong = trio.Event()
        self.accepted = False
        self.closed = False
        #: Set from the app's ``websocket_max_message_size`` unless the face overrides it.
        self.max_message_size = max_message_size
        self._render_refusal = render_refusal
        self.idle_timeout = idle_timeout
        self.close_code: int | None = None
        self.queue_size = queue_size
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout

    @property
    def queued(self) -> int:
        """Whole messages read from the socket and not yet received by the handler (at most ``queue_size``)."""
        return self._queue_out.statistics().current_buffer_used

    # ------------------------------------------------------------ handshake

    async def accept(self, subprotocol: str | None = None, headers: list[tuple[str, str]] | None = None) -> None:
        """Complete the handshake (101), optionally choosing one of the client's subprotocols."""
        if self.accepted:
            raise RuntimeError("the WebSocket is already accepted")
        extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers or []]
        if self._nursery is None:
            raise RuntimeError("a WebSocket is accepted inside the server, which gives it a nursery")
        await self._send(AcceptConnection(subprotocol=subprotocol, extra_headers=extra))
        self.accepted = True
        self._nursery.start_soon(self._run_background)

    async def reject(self, status_code: int = 403) -> None:
        """Refuse the handshake with an HTTP status (403 when a handler returns without accepting)."""
        await self.refuse(error_response(status_code, None, request_id_of(self)))

    async def refuse(self, response: Response) -> None:
        """Refuse the handshake with ``response`` (a middleware's 401 keeps its headers and body).

        The face renders it: the native server through its HTTP/1.1 codec, the one
        writer of response heads.
        """
        if self.accepted:
            raise RuntimeError("the WebSocket is already accepted: close() it instead")
        if self._render_refusal is None:
            raise RuntimeError("a WebSocket is refused inside the server, which renders the response")
        self.closed = True
        try:
            async with self._send_lock:
                await self._stream.send_all(self._render_refusal(response))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass  # the client left before hearing the refusal

    # -------------------------------------------------------------- sending

    def _wire(self, event: Any) -> bytes:
        """The bytes of ``event``: a whole message is framed directly while the connection
        is open (what wsproto would write, without its per-frame Python); everything
        else — control frames, a message after closing began — is wsproto's to write or refuse."""
        kind = type(event)
        if ((kind is TextMessage or kind is BytesMessage) and event.message_finished
                and self._ws.state is ConnectionState.OPEN):
            return message_frame(event.data)
        return self._ws.send(event)

    async def _send(self, event: Any) -> None:
        data = self._wire(event)
        lock = self._send_lock  # the handler, the reader (pongs) and the pinger all send
        try:
            if lock.locked():
                async with lock:
                    await self._stream.send_all(data)
            else:  # uncontended (nearly always): no scheduler pass just to take the lock
                lock.acquire_nowait()
                try:
                    await self._stream.send_all(data)
                finally:
                    lock.release()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            self.closed = True
            raise WebSocketDisconnect(1006, "the connection dropped") from None

    def _check_open(self) -> None:
        if not self.accepted:
            raise RuntimeError("accept() the WebSocket before sending or receiving")
        if self.closed:
            raise WebSocketDisconnect(self.close_code or NORMAL)

    async def send_text(self, data: str) -> None:
        self._check_open()
        await self._send(TextMessage(data=data))

    async def send_bytes(self, data: bytes) -> None:
        self._check_open()
        await self._send(BytesMessage(data=bytes(data)))

    async def send_json(self, value: Any) -> None:
        await self.send_text(dumps(value).decode())

    def _can_send_close(self) -> bool:
        """Whether the protocol state still allows a close frame (the ASGI transport: its server decides)."""
        return self._ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING)

    async def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Send a close frame (once); later calls do nothing."""
        if self.closed or not self._can_send_close():
            self.closed = True
            return
        self.closed = True
        self.close_code = code
        try:
            await self._send(CloseConnection(code=code, reason=reason or None))
        except WebSocketDisconnect:
            pass

    # ------------------------------------------------------------ receiving

    def _end(self, disconnect: "WebSocketDisconnect") -> None:
        """The connection is over: stop the reader and pinger, let ``receive`` raise ``disconnect``."""
        if self._disconnect is None:
            self._disconnect = disconnect
        self._background.cancel()
        self._queue_in.close()

    async def _run_background(self) -> None:
        with self._background:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read_loop)
                if self.ping_interval is not None:
                    nursery.start_soon(self._ping_loop)

    async def _ping_loop(self) -> None:
        count = 0
        while True:
            await trio.sleep(self.ping_interval)
            if self.closed:  # our close frame is out: the reader waits for the answer, no more pings
                return
            count += 1
            self._pong = trio.Event()
            try:
                await self._send(Ping(payload=count.to_bytes(8, "big")))
            except WebSocketDisconnect as exc:
                return self._end(exc)
            with trio.move_on_after(self.ping_timeout):
                await self._pong.wait()
            if not self._pong.is_set():
                await self.close(INTERNAL_ERROR, "keepalive ping timeout")
                return self._end(WebSocketDisconnect(INTERNAL_ERROR, "keepalive ping timeout"))

    async def _read_loop(self) -> None:
        # A send that fails (the peer went away, or our close is already out) ends the connection,
        # never the server: it surfaces to the handler as the disconnect.
        try:
            await self._read_messages()
        except WebSocketDisconnect as exc:
            self._end(exc)
        except (LocalProtocolError, trio.ClosedResourceError):
            self._end(WebSocketDisconnect(self.close_code or 1006, "the connection is closed"))

    async def _read_messages(self) -> None:
        parts: list[Any] = []
        size = 0
        reader = FrameReader(self._ws, self.max_message_size)
        while True:
            try:
                data = await self._stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                data = b""
            if not data:
                self.closed = True
                return self._end(WebSocketDisconnect(1006, "the connection dropped"))
            reader.receive_data(data)
            for event in reader.events():
                if isinstance(event, Message):
                    size += len(event.data)
                    if size > self.max_message_size:
                        await self.close(TOO_BIG, f"message over {self.max_message_size} bytes")
                        return self._end(WebSocketDisconnect(TOO_BIG, "message too big"))
                    parts.append(event.data)
                    if event.message_finished:
                        message = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                        parts, size = [], 0
                        await self._enqueue(message)
                elif isinstance(event, Ping):
                    await self._send(event.response())
                elif isinstance(event, Pong):
                    self._pong.set()
                elif isinstance(event, CloseConnection):
                    if self._ws.state == ConnectionState.REMOTE_CLOSING:
                        self.closed = True
                        self.close_code = event.code
                        try:
                            await self._send(event.response())
                        except WebSocketDisconnect:
                            pass
                    else:  # a protocol error found by wsproto (1002, 1007, ...): we close with its code
                        await self.close(event.code, event.reason or "")
                    return self._end(WebSocketDisconnect(event.code, event.reason or ""))

    async def _enqueue(self, message: str | bytes) -> None:
        """Hand a message to the handler; waits while the queue is full (backpressure).

        Room in the queue (nearly always) costs no scheduler pass: the reader goes
        straight back to the socket, whose read yields when it must wait anyway.
        """
        try:
            self._queue_in.send_nowait(message)
        except trio.WouldBlock:
            await self._queue_in.send(message)

    async def receive(self) -> str | bytes:
        """The next whole message: ``str`` for text, ``bytes`` for binary."""
        self._check_open_or_queued()
        timeout = self.idle_timeout if self.idle_timeout is not None else math.inf
        with trio.move_on_after(timeout):
            try:
                return await self._queue_out.receive()
            except trio.EndOfChannel:
                raise self._disconnect or WebSocketDisconnect(1006, "the connection dropped") from None
        await self.close(GOING_AWAY, "idle timeout")
        self._end(WebSocketDisconnect(GOING_AWAY, "idle timeout"))
        raise WebSocketDisconnect(GOING_AWAY, "idle timeout")

    def _check_open_or_queued(self) -> None:
        if not self.accepted:
            raise RuntimeError("accept() the WebSocket before sending or receiving")
        if self._disconnect is not None and not self.queued:
            raise self._disconnect
        if self.closed and self._disconnect is None:
            raise WebSocketDisconnect(self.close_code or NORMAL)

    async def receive_text(self) -> str:
        message = await self.receive()
        if not isinstance(message, str):
            await self.close(INVALID_DATA, "expected a text message")
            raise WebSocketDisconnect(INVALID_DATA, "expected a text message")
        return message

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        if not isinstance(message, bytes):
            await self.close(INVALID_DATA, "expected a binary message")
            raise WebSocketDisconnect(INVALID_DATA, "expected a binary message")
        return message

    async def receive_json(self) -> Any:
        """The next message as JSON (exact integers, the body rule of ``conduit._json``).

        A message that is not JSON closes the socket with 1007 and a reason naming the
        problem; the :class:`WebSocketDisconnect` raised carries the
        :class:`~conduit.http.request.InvalidJSON` as its ``__cause__``.
        """
        message = await self.receive()
        try:
            return loads_body(message)
        except InvalidJSON as exc:
            # RFC 6455 §5.5: a control frame payload is at most 125 bytes, 2 of them the code.
            reason = str(exc).encode("utf-8")[:123].decode("utf-8", "ignore")
            await self.close(INVALID_DATA, reason)
            raise WebSocketDisconnect(INVALID_DATA, reason) from exc

    def __aiter__(self) -> "WebSocket":
        return self

    async def __anext__(self) -> str | bytes:
        """``async for message in websocket``: ends when the client closes."""
        try:
            return await self.receive()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None

    def __repr__(self) -> str:
        return f"<WebSocket {self.raw_path.decode('latin-1')!r}>"


def handshake(raw_head: bytes) -> tuple[WSConnection, WSRequest | None]:
    """A server-side wsproto connection fed the client's handshake head."""
    connection = WSConnection(ConnectionType.SERVER)
    connection.receive_data(raw_head)
    request = next((e for e in connection.events() if isinstance(e, WSRequest)), None)
    return connection, request


__all__ = ["WebSocket", "WebSocketDisconnect", "handshake"]
