"""The WebSocket hand-off: an ``Upgrade: websocket`` request that matches a WebSocket route.

The HTTP connection calls :func:`websocket_route` for every upgrade request; when a
``@app.websocket`` route matches, :func:`serve_websocket` takes the socket over for
the rest of the connection: it replays the head to wsproto for the handshake, runs
the handler with a :class:`~conduit.websocket.WebSocket`, and closes with 1000 when
the handler returns, 1011 (logged) when it raises, 1001 when the server starts a
graceful shutdown, or an HTTP 403 when it returned without accepting.

The handshake passes through the app's middleware like any request: the session
is the innermost handler, so a middleware that answers by itself (an API key
missing: 401, a host not trusted: 400, rate limited: 429) refuses the handshake
with its status and the WebSocket handler never runs.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ..exceptions import HTTPError
from ..http.datastructures import Headers
from ..http.response import Response

logger = logging.getLogger("conduit.websocket")

#: The pseudo-method WebSocket routes are registered under in the route table.
WEBSOCKET = "WEBSOCKET"


def is_upgrade(head: Any) -> bool:
    if head.method != "GET":
        return False
    for name, value in head.headers:
        if name.lower() == b"upgrade" and value.strip().lower() == b"websocket":
            return True
    return False


def websocket_route(app: Any, head: Any):
    """The WebSocket route ``head`` asks for, or None (then it is served as plain HTTP)."""
    if not getattr(app, "has_websockets", False) or not is_upgrade(head):
        return None
    match = app.router.match(WEBSOCKET, head.path)
    return match if match.route is not None else None


async def _cancel_on_drain(app: Any, scope: trio.CancelScope) -> None:
    """Cancel the handler once the server starts draining (checked every quarter second)."""
    while not getattr(app, "draining", False):
        await trio.sleep(_DRAIN_CHECK)
    scope.cancel()


_DRAIN_CHECK = 0.25


def _raw_head(head: Any) -> bytes:
    target = head.path + (b"?" + head.query if head.query else b"")
    lines = [b"GET " + target + b" HTTP/1.1"] + [name + b": " + value for name, value in head.headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def serve_websocket(stream: Any, app: Any, head: Any, match: Any, leftover: bytes,
                          client: Any, config: Any) -> None:
    from ..websocket import WebSocket, handshake

    connection, ws_request = handshake(_raw_head(head) + leftover)
    if ws_request is None:
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        return
    reached: list[bool] = []

    async def session(websocket: Any) -> Response:
        reached.append(True)
        await run_websocket(app, websocket, match, head.path.decode("latin-1"))
        return Response(b"", status_code=101 if websocket.accepted else 403)

    handler = session
    for middleware in reversed(getattr(app, "middleware", [])):
        handler = middleware(handler)
    async with trio.open_nursery() as nursery:
        websocket = WebSocket(head.method, head.path, head.query, Headers(list(head.headers)), client, app=app,
                              stream=stream, connection=connection,
                              max_message_size=app.websocket_max_message_size,
                              idle_timeout=config.websocket_idle_timeout,
                              queue_size=config.websocket_queue_size,
                              ping_interval=config.websocket_ping_interval,
                              ping_timeout=config.websocket_ping_timeout, nursery=nursery)
        websocket.route = match.route  # the middleware see the matched route
        websocket.path_params = match.params
        try:
            response = await handler(websocket)
        except HTTPError as exc:  # a middleware raised instead of answering
            response = Response(b"", status_code=exc.status_code)
        if not reached and not websocket.closed:
            status = response.status_code if response.status_code >= 400 else 403
            await websocket.reject(status)
        nursery.cancel_scope.cancel()


async def run_websocket(app: Any, websocket: Any, match: Any, path: str) -> None:
    """Run the matched handler and close by the rules above: the innermost handler of the
    middleware chain on the native server, and the whole session on the ASGI face."""
    from ..websocket import WebSocketDisconnect

    websocket.route = match.route
    websocket.path_params = match.params
    try:
        failure: list[Exception] = []
        with trio.CancelScope() as handler_scope:
            async with trio.open_nursery() as nursery:

                async def run_handler() -> None:
                    # Caught here, re-raised below: a nursery would wrap it in an ExceptionGroup.
                    try:
                        await match.route.endpoint(websocket)
                    except Exception as exc:
                        failure.append(exc)
                    finally:
                        nursery.cancel_scope.cancel()

                nursery.start_soon(_cancel_on_drain, app, handler_scope)
                nursery.start_soon(run_handler)
        if failure:
            raise failure[0]
        if handler_scope.cancelled_caught:  # a graceful shutdown: tell the client (RFC 6455 §7.4.1)
            if websocket.accepted:
                await websocket.close(1001, "server shutting down")
            else:
                await websocket.reject(503)
            return
    except WebSocketDisconnect:
        pass
    except HTTPError as exc:  # e.g. a dependency refused: no handshake yet means an HTTP answer
        if not websocket.accepted:
            await websocket.reject(exc.status_code)
        else:
            await websocket.close(1008, "policy violation")
    except Exception:
        logger.exception("websocket handler failed for %s", path)
        if websocket.accepted:
            await websocket.close(1011, "internal error")
        else:
            await websocket.reject(500)
        return
    if not websocket.accepted and not websocket.closed:
        await websocket.reject(403)
    elif websocket.accepted:
        await websocket.close(1000)


__all__ = ["WEBSOCKET", "is_upgrade", "run_websocket", "serve_websocket", "websocket_route"]
