"""The application: routes, lifespan hooks, middleware, and the request path.

``Conduit.handle(request) -> Response`` is the whole in-process path (router
kernel, handler, response conversion, error mapping); the server and the
TestClient both call it. It never raises.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from .binding import build_endpoint
from .exceptions import HTTPError, MethodNotAllowed, NotFound, error_response
from .http.request import ClientDisconnect, InvalidJSON, Request
from .http.response import JSONResponse, PlainTextResponse, Response
from .routing.router import Route, Router

logger = logging.getLogger("conduit.error")

Handler = Callable[[Request], Awaitable[Response]]
#: A middleware wraps the next handler and returns a new one (no ``call_next``).
Middleware = Callable[[Handler], Handler]


def to_response(value: Any) -> Response:
    """Map a handler's return value to a Response (see the README's table)."""
    if isinstance(value, Response):
        return value
    if isinstance(value, str):
        return PlainTextResponse(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Response(bytes(value), media_type="application/octet-stream")
    if value is None:
        return Response(b"", status_code=204)
    return JSONResponse(value)


async def _call_hook(fn: Callable[[], Any]) -> None:
    result = fn()
    if inspect.isawaitable(result):
        await result


class Conduit:
    """A Conduit application.

    >>> app = Conduit()
    >>> @app.get("/users/{id:int}")
    ... async def user(id: int):
    ...     return {"id": id}
    """

    def __init__(self, *, title: str = "Conduit", version: str = "0.1.0",
                 middleware: list[Middleware] | None = None, description: str | None = None,
                 openapi_url: str | None = "/openapi.json", docs_url: str | None = "/docs"):
        self.title = title
        self.version = version
        self.description = description
        self.openapi_url = openapi_url
        self.docs_url = docs_url
        self.router = Router()
        self.state = SimpleNamespace()
        self.middleware: list[Middleware] = list(middleware or [])
        self.exception_handlers: dict[type[BaseException] | int, Callable] = {}
        self._startup: list[Callable[[], Any]] = []
        self._shutdown: list[Callable[[], Any]] = []
        self._warmups: list[Callable[[], Any]] = [self.router.compile]
        self._handler: Handler | None = None
        self.warmed = False  # every warm-up has run in this process (or before it was forked)
        self.started = False
        self.draining = False  # set by the server during a graceful shutdown
        #: Admission control (memory guard, concurrency cap), set by the server when configured.
        self.admission: Any = None
        if openapi_url or docs_url:
            from .openapi.routes import add_openapi_routes  # light; the generator loads on first use

            add_openapi_routes(self)

    # ------------------------------------------------------------------ routes

    def add_route(self, path: str, handler: Callable[..., Any], methods=("GET",), *,
                  name: str | None = None, middleware: list[Middleware] | None = None,
                  **options: Any) -> Route:
        """Register ``handler`` for ``methods`` on ``path``.

        ``run_in_thread`` (default: True for sync handlers) chooses whether a sync
        handler runs in a worker thread or inline on the event loop; ``middleware``
        wraps this route only. Other options are kept on ``route.options`` for
        extensions (OpenAPI, limits).
        """
        if self._handler is not None:
            raise RuntimeError("routes cannot be added after the app has started serving")
        route = self.router.add(path, methods, handler, name=name, **options)
        try:
            endpoint = build_endpoint(route)
        except Exception:
            self.router.remove(route)
            raise
        route.endpoint = _wrap_route(endpoint, middleware or [])
        if middleware:
            route.options["route_middleware"] = tuple(middleware)  # the OpenAPI document reads auth here
        return route

    def route(self, path: str, methods=("GET",), **options: Any):
        def decorator(handler):
            self.add_route(path, handler, methods, **options)
            return handler
        return decorator

    def get(self, path: str, **options: Any):
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Any):
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Any):
        return self.route(path, ["PUT"], **options)

    def patch(self, path: str, **options: Any):
        return self.route(path, ["PATCH"], **options)

    def delete(self, path: str, **options: Any):
        return self.route(path, ["DELETE"], **options)

    def head(self, path: str, **options: Any):
        return self.route(path, ["HEAD"], **options)

    def options(self, path: str, **options: Any):
        return self.route(path, ["OPTIONS"], **options)

    # -------------------------------------------------------------- extensions

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this app (built on first call, rebuilt when routes change)."""
        from .openapi import openapi

        return openapi(self)

    def statistics(self) -> Any:
        """Per route and method: count, errors, latency percentiles, bytes, share (a frozen
        :class:`~conduit.observability.statistics.AppStatistics`; needs the metrics middleware)."""
        from .observability.statistics import app_statistics

        return app_statistics(self)

    def mount_mcp(self, path: str, server: Any, **options: Any) -> Any:
        """Serve an :class:`~conduit.mcp.MCPServer` over Streamable HTTP at ``path``."""
        from .mcp.http import mount

        return mount(self, path, server, **options)

    def predict(self, path: str, model: Any, **options: Any) -> Any:
        """Expose a model (or registry) for prediction at ``path``; see docs/ml.md."""
        from .ml.serving import predict_route

        return predict_route(self, path, model, **options)

    # --------------------------------------------------------------- lifespan

    def on_startup(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        self._startup.append(fn)
        return fn

    def on_shutdown(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        self._shutdown.append(fn)
        return fn

    def add_warmup(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Register a function that compiles (or loads from cache) kernels before serving."""
        self._warmups.append(fn)
        return fn

    def add_middleware(self, middleware: Middleware) -> None:
        """Append a middleware; the first added is the outermost."""
        if self._handler is not None:
            raise RuntimeError("middleware cannot be added after the app has started serving")
        self.middleware.append(middleware)

    def exception_handler(self, key: type[BaseException] | int):
        """Register ``fn(request, exc) -> Response`` for an exception type or a status code."""
        def decorator(fn):
            self.exception_handlers[key] = fn
            return fn
        return decorator

    def warmup(self) -> None:
        """Run every warm-up: all kernels the app needs are compiled after this."""
        for fn in self._warmups:
            fn()
        self.warmed = True

    async def startup(self) -> None:
        """Warm kernels (unless done already, e.g. by a preloading supervisor before it
        forked this worker), run startup hooks, freeze the middleware stack."""
        if self.started:
            return
        if not self.warmed:
            self.warmup()
        for fn in self._startup:
            await _call_hook(fn)
        self._build_handler()
        self.started = True

    async def shutdown(self) -> None:
        for fn in reversed(self._shutdown):
            try:
                await _call_hook(fn)
            except Exception:
                logger.exception("shutdown hook %r failed", fn)
        self.started = False

    def run(self, host: str = "127.0.0.1", port: int = 8000, **config: Any) -> None:
        """Serve until interrupted (trio + h11); see :func:`conduit.server.run`."""
        from .server import run

        run(self, host=host, port=port, **config)

    # ---------------------------------------------------------- request path

    def _build_handler(self) -> Handler:
        handler: Handler = self._dispatch
        for middleware in reversed(self.middleware):
            handler = middleware(handler)
        self._handler = handler
        return handler

    async def handle(self, request: Request) -> Response:
        """Answer one request. Never raises: errors become error responses."""
        request.app = self
        try:
            handler = self._handler or self._build_handler()
            admission = self.admission
            if admission is not None:
                return await admission.handle(request, handler)
            return await handler(request)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                raise  # cancellation and KeyboardInterrupt propagate
            return await self.error_to_response(request, exc)

    async def _dispatch(self, request: Request) -> Response:
        try:
            match = self.router.match(request.method, request.raw_path)
            route = match.route
            if route is None:
                if not match.allowed:
                    raise NotFound(detail=f"no route matches {request.path!r}")
                allowed = ", ".join(match.allowed + ([] if "OPTIONS" in match.allowed else ["OPTIONS"]))
                if request.method == "OPTIONS":
                    return Response(b"", status_code=204, headers={"allow": allowed})
                raise MethodNotAllowed(detail=f"method {request.method} not allowed for {request.path!r}",
                                       headers={"allow": allowed})
            request.route = route
            request.path_params = match.params
            limit = route.options.get("max_body_size")
            if limit is not None:  # the server reads it before each body read
                request.max_body_size = limit
            return to_response(await route.endpoint(request))
        except Exception as exc:
            return await self.error_to_response(request, exc)

    async def error_to_response(self, request: Request, exc: Exception) -> Response:
        """The one place exceptions become responses (custom handlers first)."""
        handler = self._find_exception_handler(exc)
        if handler is not None:
            try:
                result = handler(request, exc)
                if inspect.isawaitable(result):
                    result = await result
                return to_response(result)
            except Exception as inner:
                exc = inner
                logger.exception("exception handler failed for %r", request)
        request_id = request_id_of(request)
        if isinstance(exc, HTTPError):
            return exc.to_response(request_id)
        if isinstance(exc, InvalidJSON):
            return error_response(400, str(exc), request_id)
        if isinstance(exc, ClientDisconnect):
            return error_response(400, "the client closed the connection before sending the whole body",
                                  request_id)
        logger.error("unhandled error in %s %s (request_id=%s)", request.method,
                     request.raw_path.decode("latin-1"), request_id, exc_info=exc)
        return error_response(500, "Internal Server Error", request_id)

    def _find_exception_handler(self, exc: Exception):
        if not self.exception_handlers:
            return None
        for cls in type(exc).__mro__:
            if cls in self.exception_handlers:
                return self.exception_handlers[cls]
        if isinstance(exc, HTTPError):
            return self.exception_handlers.get(exc.status_code)
        return self.exception_handlers.get(500)


def request_id_of(request: Request) -> str | None:
    """The request id set by the request-id middleware, else the client's header."""
    state = request._state
    if state is not None and getattr(state, "request_id", None):
        return state.request_id
    return request.headers.get("x-request-id")


def _wrap_route(endpoint, middleware: list[Middleware]):
    if not middleware:
        return endpoint

    async def as_handler(request: Request) -> Response:
        return to_response(await endpoint(request))

    handler: Handler = as_handler
    for mw in reversed(middleware):
        handler = mw(handler)
    return handler


__all__ = ["Conduit", "Handler", "Middleware", "to_response", "JSONResponse"]
