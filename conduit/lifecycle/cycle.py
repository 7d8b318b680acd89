"""One request's way through the app, the same under every face.

``RequestLifecycle.handle(request) -> Response`` is the whole policy of a request:

1. limits: the app's body limit on the request (a route's replaces it once matched),
   the handler deadline (``app.handler_timeout``: 504 through the error mapping);
2. the middleware stack (auth and scopes live there, as middleware);
3. admission (memory guard, concurrency cap), innermost, so its 503 passes the
   middleware like any answer (request id, CORS, access log);
4. the match (404, 405 with ``Allow``, 426 for a WebSocket-only path, OPTIONS);
5. the handler, its return value made a :class:`~conduit.http.response.Response`;
6. errors mapped by the status they carry (:mod:`.errors`);
7. background tasks and uploads to close, attached to the response for the face to
   run once it is sent (:func:`.sending.finish_response`).

A face builds a ``Request`` and calls :meth:`handle`; it never raises. A face that
keeps its own cheap clock (the native server's watchdog: a trio cancel scope per
request costs more than the rest of the framing; the ASGI face's watchdog on an asyncio
host, :mod:`conduit.asgi.deadlines`) calls :meth:`handle_without_deadline`
under a deadline of ``app.handler_timeout`` and answers with :meth:`deadline_response`
when it passes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..anyloop import move_on_after, shielded
from ..exceptions import GatewayTimeout, HTTPError, MethodNotAllowed, NotFound, error_response
from ..http.request import Request
from ..http.request_id import request_id_of
from ..http.response import Response
from ..http.returns import to_response
from .errors import error_to_response

logger = logging.getLogger("conduit.error")

Handler = Callable[[Request], Awaitable[Response]]

#: The detail of the 504 a handler past its deadline gets.
DEADLINE_DETAIL = "the handler did not finish in time"
#: Seconds a custom exception handler gets to make that 504 (then the default one is sent).
DEADLINE_ANSWER_TIMEOUT = 5.0


class RequestLifecycle:
    """The request path of one app (``app.lifecycle``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._handler: Handler | None = None

    @property
    def frozen(self) -> bool:
        """Whether the middleware stack is built (routes and middleware are fixed then)."""
        return self._handler is not None

    def freeze(self) -> Handler:
        """Build the middleware stack around admission and dispatch (once, at startup)."""
        handler: Handler = self._admit
        for middleware in reversed(self.app.middleware):
            handler = middleware(handler)
        self._handler = handler
        return handler

    async def handle(self, request: Request) -> Response:
        """Answer one request within ``app.handler_timeout``. Never raises (but cancellation)."""
        with move_on_after(self.app.handler_timeout):
            return await self.handle_without_deadline(request)
        return await self.deadline_response(request)

    async def handle_without_deadline(self, request: Request) -> Response:
        """:meth:`handle` for a face that enforces ``app.handler_timeout`` itself."""
        app = self.app
        request.app = app
        request.max_body_size = app.max_body_size
        try:
            handler = self._handler or self.freeze()
            return await handler(request)
        except Exception as exc:
            return await self.error_response(request, exc)

    async def deadline_response(self, request: Request) -> Response:
        """The 504 for a request whose handler passed its deadline (it was cancelled)."""
        logger.warning("%s %s: %s (%.3g s)", request.method, request.raw_path.decode("latin-1"),
                       DEADLINE_DETAIL, self.app.handler_timeout)
        response = None
        with move_on_after(DEADLINE_ANSWER_TIMEOUT):  # a custom 504 handler may hang too
            response = await self.error_response(request, GatewayTimeout(DEADLINE_DETAIL))
        if response is None:
            response = error_response(504, DEADLINE_DETAIL, request_id_of(request))
        return _with_cleanup(request, response)

    def invalid_response(self, request: Request, problem: Exception) -> Response:
        """The 500 sent instead of a response the codec refused (a bad header, a bad status)."""
        logger.error("bad response header from the handler of %s %s: %s", request.method,
                     request.raw_path.decode("latin-1"), problem)
        return error_response(500, "Internal Server Error", request_id_of(request))

    async def error_response(self, request: Request, exc: Exception) -> Response:
        """The one mapping of an exception to a response (custom handlers first)."""
        return await error_to_response(self.app.exception_handlers, request, exc)

    async def _admit(self, request: Request) -> Response:
        admission = self.app.admission
        if admission is None:
            return await self.dispatch(request)
        return await admission.handle(request, self.dispatch)

    async def dispatch(self, request: Request) -> Response:
        """Match, run the handler, and make what it returns a response (errors mapped)."""
        try:
            router = self.app.router
            match = router.match(request.method, request.raw_path)
            route = match.route
            if route is None:
                return _unmatched(request, match.allowed)
            request.route = route
            request.path_params = match.params
            limit = route.options.get("max_body_size")
            if limit is not None:
                request.max_body_size = limit
            try:
                response = to_response(await route.endpoint(request)).prepare(request)
            except BaseException:
                form = request.parsed_form
                if form is not None:  # an error response never reads the uploads
                    with shielded():
                        await form.close()
                raise
            state = request.state_if_set
            if state is not None and getattr(state, "background", None):
                response.background = state.background  # the face runs it after sending
            return _with_cleanup(request, response)
        except Exception as exc:
            return await self.error_response(request, exc)


def _with_cleanup(request: Request, response: Response) -> Response:
    """Uploads stay open while the response streams; the face closes them once it is sent."""
    if request.parsed_form is not None and request.close_form not in response.after_send:
        response.after_send = (*response.after_send, request.close_form)
    return response


def _unmatched(request: Request, allowed: Any) -> Response:
    if not allowed:
        raise NotFound(detail=f"no route matches {request.path!r}")
    methods = [m for m in allowed if m != "WEBSOCKET"]  # the WebSocket pseudo-method
    if not methods:  # only a WebSocket route here (RFC 9110 §15.5.22)
        raise HTTPError(426, f"{request.path!r} is a WebSocket endpoint", headers={"upgrade": "websocket"})
    allow = ", ".join(methods + ([] if "OPTIONS" in methods else ["OPTIONS"]))
    if request.method == "OPTIONS":
        return Response(b"", status_code=204, headers={"allow": allow})
    raise MethodNotAllowed(detail=f"method {request.method} not allowed for {request.path!r}",
                           headers={"allow": allow})


__all__ = ["DEADLINE_DETAIL", "Handler", "RequestLifecycle"]
