"""The ASGI transport for :class:`~conduit.websocket.WebSocket`: ``websocket`` scopes.

Under an ASGI server the server owns the frames (handshake, masking, pings,
fragments); the app sees whole messages. :class:`ASGIWebSocket` is the same
``WebSocket`` a handler gets on the native server, with its two transport hooks
(``_send`` an event, ``receive`` a message) mapped to ASGI messages, so the
message rules above it (``receive_text`` type checks, ``async for``) stay in one
place; the 1009 size limit is checked on each whole message here.
``websocket.disconnect`` surfaces as ``WebSocketDisconnect`` with the client's code. A
refused handshake keeps its status (a middleware's 401) through the ASGI
``websocket.http.response`` extension; a server without it answers 403. Route match,
admission, middleware and the closing rules are the app's (``Conduit.handle_websocket``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import trio
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from ..anyloop import move_on_after
from ..http.datastructures import Headers
from ..http.h1 import ResponseHeaderError, header_pairs
from ..exceptions import error_response
from ..http.response import Response
from ..http.websocket_handshake import handshake_problem
from ..websocket import GOING_AWAY, NORMAL, TOO_BIG, WebSocket, WebSocketDisconnect

logger = logging.getLogger("conduit.websocket")


class ASGIWebSocket(WebSocket):
    """A WebSocket whose frames travel as ASGI ``websocket.*`` messages."""

    __slots__ = ("_asgi_receive", "_asgi_send", "_extensions")

    def __init__(self, *args: Any, receive: Any, send: Any, extensions: dict | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._asgi_receive = receive
        self._asgi_send = send
        self._extensions = extensions or {}

    async def _deliver(self, message: dict) -> None:
        try:
            await self._asgi_send(message)
        except (OSError, RuntimeError, trio.BrokenResourceError) as exc:  # the server saw the client go
            self.closed = True
            raise WebSocketDisconnect(1006, "the connection dropped") from exc

    async def accept(self, subprotocol: str | None = None, headers: list[tuple[str, str]] | None = None) -> None:
        if self.accepted:
            raise RuntimeError("the WebSocket is already accepted")
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers or []]
        await self._deliver({"type": "websocket.accept", "subprotocol": subprotocol, "headers": extra})
        self.accepted = True

    async def refuse(self, response: Response) -> None:
        """Refuse the handshake with ``response``: its status, headers and body through the
        ``websocket.http.response`` extension where the server offers it (uvicorn, hypercorn);
        otherwise a ``websocket.close`` before acceptance, which the server answers with 403."""
        if self.accepted:
            raise RuntimeError("the WebSocket is already accepted: close() it instead")
        self.closed = True
        try:
            if "websocket.http.response" in self._extensions:
                start = _response_start(response)
                body = start.pop("body")
                await self._deliver(start)
                await self._deliver({"type": "websocket.http.response.body", "body": body})
            else:
                await self._deliver({"type": "websocket.close", "code": NORMAL})
        except WebSocketDisconnect:
            pass

    async def _send(self, event: Any) -> None:
        if isinstance(event, TextMessage):
            await self._deliver({"type": "websocket.send", "text": event.data})
        elif isinstance(event, BytesMessage):
            await self._deliver({"type": "websocket.send", "bytes": bytes(event.data)})
        elif isinstance(event, CloseConnection):
            await self._deliver({"type": "websocket.close", "code": event.code, "reason": event.reason or ""})
        else:
            raise TypeError(f"no ASGI message for the WebSocket event {event!r}")

    def _can_send_close(self) -> bool:
        return True

    async def receive(self) -> str | bytes:
        """The next whole message, straight from the ASGI server: it owns the frames,
        pings and flow control, so there is no reader task or queue here."""
        self._check_open_or_queued()
        timeout = self.idle_timeout if self.idle_timeout is not None else math.inf
        with move_on_after(timeout) as scope:
            message = await self._asgi_receive()
        if scope.cancelled_caught:
            await self.close(GOING_AWAY, "idle timeout")
            raise WebSocketDisconnect(GOING_AWAY, "idle timeout")
        if message["type"] == "websocket.disconnect":
            self.closed = True
            self.close_code = message.get("code", 1005)
            self._disconnect = WebSocketDisconnect(self.close_code, message.get("reason") or "")
            raise self._disconnect
        if message["type"] != "websocket.receive":
            raise RuntimeError(f"unexpected ASGI message {message['type']!r} on an open WebSocket")
        text = message.get("text")
        data: str | bytes = text if text is not None else (message.get("bytes") or b"")
        if len(data) > self.max_message_size:
            await self.close(TOO_BIG, f"message over {self.max_message_size} bytes")
            raise WebSocketDisconnect(TOO_BIG, "message too big")
        return data


def _response_start(response: Response) -> dict:
    """The refusal's head, by the codec's one head rule (an invalid header: a generic 500)."""
    try:
        headers = header_pairs(response.status_code, response.headers, len(response.body))
    except ResponseHeaderError as exc:
        logger.error("bad response header refusing a WebSocket handshake: %s", exc)
        response = error_response(500)
        headers = header_pairs(500, response.headers, len(response.body))
    return {"type": "websocket.http.response.start", "status": response.status_code, "headers": headers,
            "body": response.body}


async def serve_asgi_websocket(app: Any, scope: dict, receive: Any, send: Any) -> None:
    """One ``websocket`` scope: the app's WebSocket lifecycle over ASGI messages."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    raw_path = raw_path.partition(b"?")[0]
    headers = Headers([(bytes(k), bytes(v)) for k, v in scope.get("headers", [])])
    client = tuple(scope["client"]) if scope.get("client") else None
    websocket = ASGIWebSocket("GET", raw_path, scope.get("query_string", b""), headers, client, app=app,
                              scheme=scope.get("scheme", "ws"), receive=receive, send=send,
                              extensions=scope.get("extensions"))
    # The ASGI server checked the handshake before this scope began; one that lets a malformed
    # key through (hypercorn) still gets the native server's 400. A scope without the
    # handshake headers (HTTP/2, RFC 8441; a hand-built scope) is the server's business.
    problem = handshake_problem("GET", "1.1", headers) if "sec-websocket-key" in headers else None
    if problem is not None:
        await websocket.refuse(error_response(problem.status, problem.detail, headers=problem.headers or None))
        return
    await app.handle_websocket(websocket)


__all__ = ["ASGIWebSocket", "serve_asgi_websocket"]
