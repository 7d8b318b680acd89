"""The app's WebSocket lifecycle: route match, admission, middleware, the session and its closing rules.

:meth:`conduit.Conduit.handle_websocket` runs this for every face — the native
server, the ASGI face and ``TestClient.websocket_connect`` (which drives the native
server over an in-memory stream) — so a rule written here holds under all of them.
A face only builds a :class:`~conduit.websocket.WebSocket` over its transport and
hands it in.

The handshake is a request like any other (the order of :mod:`.cycle`): the
app's middleware, then admission, then the session, so a middleware that answers by
itself (an API key missing: 401, a host not trusted: 400, rate limited: 429) or
an admission refusal (503) refuses the handshake with that response and the
WebSocket handler never runs. Once reached, the session closes with 1000 when the
handler returns, 1011 (logged) when it raises, 1001 when the server starts a
graceful shutdown, and refuses the handshake with 403 when the handler returned
without accepting (or with the status of an ``HTTPError`` raised before accepting).
"""

from __future__ import annotations

import logging
from typing import Any

from ..anyloop import cancel_scope, open_task_group, sleep
from ..exceptions import HTTPError, error_response
from ..http.request_id import request_id_of
from ..http.response import Response

logger = logging.getLogger("conduit.websocket")

#: The pseudo-method WebSocket routes are registered under in the route table.
WEBSOCKET = "WEBSOCKET"

#: Seconds between two looks at the app's drain flag while a session runs.
_DRAIN_CHECK = 0.25


async def handle_websocket(app: Any, websocket: Any) -> None:
    """One WebSocket from handshake to close (see the module docstring). Never raises but cancellation."""
    websocket.app = app
    websocket.max_message_size = app.websocket_max_message_size  # a server's override is set on the app
    match = app.router.match(WEBSOCKET, websocket.raw_path) if app.has_websockets else None
    if match is not None and match.route is not None:
        websocket.route = match.route  # the middleware see the matched route
        websocket.path_params = match.params
    reached = False

    async def session(ws: Any) -> Response:
        nonlocal reached
        if ws.route is None:  # behind the middleware, as on HTTP: no key, no probing for paths
            return error_response(404, f"no WebSocket route matches {ws.path!r}", request_id_of(ws))
        reached = True
        await run_session(app, ws)
        return Response(b"", status_code=101 if ws.accepted else 403)

    async def admit(ws: Any) -> Response:  # innermost, as for HTTP: its 503 passes the middleware
        if app.admission is not None:
            return await app.admission.handle(ws, session)
        return await session(ws)

    handler = admit
    for middleware in reversed(app.middleware):
        handler = middleware(handler)
    try:
        response = await handler(websocket)
    except HTTPError as exc:  # a middleware raised instead of answering
        response = exc.to_response(request_id_of(websocket))
    except Exception:
        logger.exception("a middleware failed on the WebSocket handshake for %s", websocket.path)
        response = error_response(500, None, request_id_of(websocket))
    if not reached and not websocket.closed:
        if response.status_code < 400:  # a middleware that answered 2xx/3xx cannot open a WebSocket
            response = error_response(403, "the handshake was answered without reaching the WebSocket",
                                      request_id_of(websocket))
        await websocket.refuse(response)


async def _cancel_on_drain(app: Any, scope: Any) -> None:
    """Cancel the handler once the server starts draining."""
    while not app.draining:
        await sleep(_DRAIN_CHECK)
    scope.cancel()


async def run_session(app: Any, websocket: Any) -> None:
    """Run the matched handler and close by the rules in the module docstring."""
    from ..websocket import WebSocketDisconnect

    try:
        failure: list[Exception] = []
        with cancel_scope() as handler_scope:  # trio's on trio, anyio's on an asyncio ASGI host
            async with open_task_group() as nursery:

                async def run_handler() -> None:
                    # Caught here, re-raised below: a nursery would wrap it in an ExceptionGroup.
                    try:
                        await websocket.route.endpoint(websocket)
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
            await websocket.refuse(exc.to_response(request_id_of(websocket)))
        else:
            await websocket.close(1008, "policy violation")
    except Exception:
        logger.exception("websocket handler failed for %s", websocket.path)
        if websocket.accepted:
            await websocket.close(1011, "internal error")
        else:
            await websocket.reject(500)
        return
    if not websocket.accepted and not websocket.closed:
        await websocket.reject(403)
    elif websocket.accepted:
        await websocket.close(1000)


__all__ = ["WEBSOCKET", "handle_websocket", "run_session"]
