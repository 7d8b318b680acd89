"""The native server's WebSocket face: an ``Upgrade: websocket`` request takes the socket over.

The HTTP connection hands every upgrade request (on an app with WebSocket routes)
to :func:`serve_websocket`, which owns only the transport: it checks the opening
handshake (RFC 6455 §4.2.1: a version other than 13 is 426 with
``Sec-WebSocket-Version: 13``, a missing or malformed key or version is 400, one
short log line each), replays the head to wsproto, and gives the app a
:class:`~conduit.websocket.WebSocket` over the socket. Everything else — route
match, admission, middleware, the session and its closing rules — is the app's
(:meth:`conduit.Conduit.handle_websocket`). A refused handshake is written by the
connection's HTTP/1.1 codec, like every other response head; the connection closes after it.
"""

from __future__ import annotations

import logging
from typing import Any

import trio
from wsproto.utilities import ProtocolError as WSProtocolError

from ..http.datastructures import Headers
from ..http.h1 import ResponseHeaderError
from ..http.response import Response
from ..http.websocket_handshake import handshake_problem
from ..lifecycle.websocket import WEBSOCKET

logger = logging.getLogger("conduit.websocket")


def is_upgrade(head: Any) -> bool:
    """Whether a GET asks for a WebSocket (``Upgrade: websocket``); the rest of the handshake is checked later.

    Another method with that header is served as plain HTTP (a server may ignore
    ``Upgrade``, RFC 9110 §7.8).
    """
    if head.method != "GET":
        return False
    for name, value in head.headers:
        if name == b"upgrade" and b"websocket" in [token.strip() for token in value.lower().split(b",")]:
            return True
    return False


def _raw_head(head: Any) -> bytes:
    target = head.path + (b"?" + head.query if head.query else b"")
    lines = [b"GET " + target + b" HTTP/1.1"] + [name + b": " + value for name, value in head.headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _refusal_renderer(codec: Any):
    """``render(response) -> bytes`` through the connection's codec; the connection closes after it."""

    def render(response: Response) -> bytes:
        codec.close_after_response()
        try:
            return codec.send_response(response)
        except ResponseHeaderError as exc:
            logger.error("bad response header refusing a WebSocket handshake: %s", exc)
            return codec.send_error(500, "Internal Server Error")

    return render


async def _refuse_early(stream: Any, codec: Any, head: Any, status: int, detail: str,
                        headers: dict[str, str]) -> None:
    """A handshake refused before any WebSocket exists: one short log line, then the answer."""
    logger.info("refused a WebSocket handshake for %s: %s", head.path[:200].decode("latin-1"), detail)
    data = codec.send_error(status, detail, headers=headers or None)
    try:
        await stream.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass


async def serve_websocket(stream: Any, app: Any, head: Any, codec: Any, client: Any, config: Any) -> None:
    """Serve one upgrade request on ``stream`` until the WebSocket closes (or is refused)."""
    from ..websocket import WebSocket, handshake

    headers = Headers(list(head.headers))
    problem = handshake_problem(head.method, head.http_version, headers)
    if problem is not None:
        await _refuse_early(stream, codec, head, problem.status, problem.detail, problem.headers)
        return
    try:
        connection, ws_request = handshake(_raw_head(head) + codec.take_buffered())
    except WSProtocolError as exc:  # a rule wsproto checks and we do not: still a plain 400
        await _refuse_early(stream, codec, head, 400, f"invalid WebSocket handshake: {exc}", {})
        return
    if ws_request is None:
        await _refuse_early(stream, codec, head, 400, "invalid WebSocket handshake", {})
        return
    async with trio.open_nursery() as nursery:
        websocket = WebSocket(head.method, head.path, head.query, headers, client, app=app,
                              stream=stream, connection=connection,
                              idle_timeout=config.websocket_idle_timeout,
                              queue_size=config.websocket_queue_size,
                              ping_interval=config.websocket_ping_interval,
                              ping_timeout=config.websocket_ping_timeout, nursery=nursery,
                              render_refusal=_refusal_renderer(codec))
        await app.handle_websocket(websocket)
        nursery.cancel_scope.cancel()


__all__ = ["WEBSOCKET", "is_upgrade", "serve_websocket"]
