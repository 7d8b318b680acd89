"""``TestClient.websocket_connect``: a WebSocket session with the app, in-process.

The app side is the server's own :class:`~conduit.server.connection.HTTPConnection`
over a trio in-memory stream pair (no sockets), so the handshake meets the same
codec, handshake rules and ``Conduit.handle_websocket`` as on a real socket; the
client side is a wsproto client connection, so both ends speak real RFC 6455 frames
and handshakes. Calls are synchronous: each runs on the TestClient's trio loop.
"""

from __future__ import annotations

import logging
from typing import Any

import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping, RejectConnection,
                            Request as WSRequest, TextMessage)

from ..server.config import ServerConfig
from ..server.connection import HTTPConnection
from ..websocket import WebSocketDisconnect

logger = logging.getLogger("conduit.testing")


class WebSocketRejected(Exception):
    """The app refused the handshake; ``status_code`` is its HTTP answer (403 by default),
    ``headers`` the answer's headers (lower-case names)."""

    def __init__(self, status_code: int, headers: dict[str, str] | None = None):
        super().__init__(f"the WebSocket handshake was refused with HTTP {status_code}")
        self.status_code = status_code
        self.headers = headers or {}


#: Headers wsproto writes itself; ``websocket_connect(headers=...)`` replaces them, or leaves them
#: out when given as "" (to test refused handshakes).
_HANDSHAKE_HEADERS = (b"sec-websocket-key", b"sec-websocket-version")


def _replace_headers(head: bytes, replacements: list[tuple[bytes, bytes]]) -> bytes:
    """``head`` with the lines named in ``replacements`` swapped for those values."""
    if not replacements:
        return head
    names = {name for name, _ in replacements}
    lines = [line for line in head[:-4].split(b"\r\n") if line.partition(b":")[0].strip().lower() not in names]
    return b"\r\n".join(lines + [name + b": " + value for name, value in replacements if value]) + b"\r\n\r\n"


async def _serve(connection: HTTPConnection) -> None:
    """The app side of one session (a system task: nothing may escape it)."""
    try:
        await connection.serve()
    except Exception:
        logger.exception("the in-process WebSocket connection failed")


class WebSocketTestSession:
    """``with client.websocket_connect("/ws") as ws: ws.send_text("hi"); ws.receive_text()``."""

    def __init__(self, app: Any, loop: Any, path: str, subprotocols: list[str] | None = None,
                 headers: dict[str, str] | None = None, config: ServerConfig | None = None):
        self.app, self.loop, self.path = app, loop, path
        self.subprotocols = list(subprotocols or [])
        self.extra_headers = dict(headers or {})
        self.config = config or ServerConfig()
        self.subprotocol: str | None = None
        self.response_headers: list[tuple[bytes, bytes]] = []
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._events: list[Any] = []
        self._closed = False

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> "WebSocketTestSession":
        self.loop.call(self._open)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if not self._closed:
            try:
                self.close()
            except WebSocketDisconnect:
                pass

    async def _open(self) -> None:
        # The app side is the server's own connection over an in-memory stream pair: the
        # handshake goes through the codec, the handshake rules and Conduit.handle_websocket.
        target, _, _ = self.path.partition("#")
        self._server_stream, self._client_stream = trio.testing.memory_stream_pair()
        connection = HTTPConnection(self._server_stream, self.app, self.config, ("testclient", 50000))
        trio.lowlevel.spawn_system_task(_serve, connection)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.extra_headers.items()]
        own = [(k, v) for k, v in headers if k in _HANDSHAKE_HEADERS]
        handshake = self._ws.send(WSRequest(host="testserver", target=target, subprotocols=self.subprotocols,
                                            extra_headers=[(k, v) for k, v in headers if k not in _HANDSHAKE_HEADERS]))
        await self._client_stream.send_all(_replace_headers(handshake, own))
        first = await self._next_event()
        if isinstance(first, RejectConnection):
            self._closed = True
            raise WebSocketRejected(first.status_code, dict((k.decode("latin-1"), v.decode("latin-1"))
                                                            for k, v in first.headers))
        if not isinstance(first, AcceptConnection):
            raise RuntimeError(f"unexpected handshake answer {first!r}")
        self.subprotocol = first.subprotocol
        self.response_headers = list(first.extra_headers)

    # ---------------------------------------------------------------- frames

    async def _send_event(self, event: Any) -> None:
        await self._client_stream.send_all(self._ws.send(event))

    async def _next_event(self) -> Any:
        while not self._events:
            data = await self._client_stream.receive_some(65536)
            if not data:
                self._closed = True
                raise WebSocketDisconnect(1006, "the app closed the connection")
            self._ws.receive_data(data)
            self._events.extend(self._ws.events())
        return self._events.pop(0)

    async def _receive(self) -> str | bytes:
        parts: list[Any] = []
        while True:
            event = await self._next_event()
            if isinstance(event, Message):
                parts.append(event.data)
                if event.message_finished:
                    return "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
            elif isinstance(event, Ping):
                await self._send_event(event.response())
            elif isinstance(event, CloseConnection):
                self._closed = True
                try:
                    await self._send_event(event.response())
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
                raise WebSocketDisconnect(event.code, event.reason or "")

    # ------------------------------------------------------------------ API

    def send_text(self, data: str) -> None:
        self.loop.call(self._send_event, TextMessage(data=data))

    def send_bytes(self, data: bytes) -> None:
        self.loop.call(self._send_event, BytesMessage(data=data))

    def send_json(self, value: Any) -> None:
        import orjson

        self.send_text(orjson.dumps(value).decode())

    def receive(self) -> str | bytes:
        return self.loop.call(self._receive)

    def receive_text(self) -> str:
        message = self.receive()
        if not isinstance(message, str):
            raise TypeError(f"expected a text message, got {len(message)} bytes")
        return message

    def receive_bytes(self) -> bytes:
        message = self.receive()
        if not isinstance(message, bytes):
            raise TypeError("expected a binary message, got text")
        return message

    def receive_json(self) -> Any:
        import orjson

        return orjson.loads(self.receive())

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame and wait for the app's answer."""
        if self._closed:
            return

        async def close() -> None:
            try:
                await self._send_event(CloseConnection(code=code, reason=reason or None))
                while True:
                    event = await self._next_event()
                    if isinstance(event, CloseConnection):
                        break
            except (WebSocketDisconnect, trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the app had already closed its end
            self._closed = True

        self.loop.call(close)


__all__ = ["WebSocketRejected", "WebSocketTestSession"]
