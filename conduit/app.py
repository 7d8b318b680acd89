"""The application: routes, lifespan hooks, middleware, and the request path.

``Conduit.handle(request) -> Response`` is the whole in-process path (router
kernel, handler, response conversion, error mapping); the server and the
TestClient both call it. It never raises.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from .binding import build_endpoint
from .exceptions import HTTPError, MethodNotAllowed, NotFound, error_response
from .http.files import FileNotServable
from .http.request import ClientDisconnect, InvalidJSON, Request
from .http.request_id import request_id_of
from .http.response import JSONResponse, Response
from .http.returns import to_response
from .routing.decorators import RouteDecorators, check_route_path
from .routing.router import Route, Router

logger = logging.getLogger("conduit.error")

Handler = Callable[[Request], Awaitable[Response]]
#: A middleware wraps the next handler and returns a new one (no ``call_next``).
Middleware = Callable[[Handler], Handler]


def resolve_middleware(middleware: Any, args: tuple = (), options: dict[str, Any] | None = None) -> Middleware:
    """One middleware from what a user passes to :meth:`Conduit.add_middleware`.

    A class is instantiated with ``args`` and ``options`` (Starlette's form,
    ``add_middleware(CORS, allow_origins=[...])``); an instance or a plain function
    taking the next handler is used as it is. Anything else is refused here, at the
    call, rather than when the first request fails.
    """
    options = options or {}
    expected = ("add_middleware expects a middleware class with its options as keywords "
                "(add_middleware(CORS, allow_origins=[...])) or a middleware instance or function that "
                "takes the next handler and returns a new one (add_middleware(CORS(...)))")
    if inspect.isclass(middleware):
        try:
            instance = middleware(*args, **options)
        except TypeError as exc:
            raise TypeError(f"cannot create the middleware {middleware.__name__}: {exc}") from None
        if not callable(instance):
            raise TypeError(f"{expected}; {middleware.__name__} instances are not callable")
        return instance
    if args or options:
        raise TypeError(f"{expected}; options go with a class, but got the instance {middleware!r}")
    if not callable(middleware):
        raise TypeError(f"{expected}; got {middleware!r}")
    if inspect.iscoroutinefunction(middleware):
        raise TypeError(f"{expected}; {middleware.__name__} is an async function, which looks like a handler "
                        "(to run code around each request use conduit.middleware.before_request(fn) "
                        "or after_response(fn))")
    return middleware


#: ``progress(index, total, name, seconds)``: a warm-up group starts (seconds None) or is done.
WarmupProgress = Callable[[int, int, str, "float | None"], None]


def _warm_http_codec() -> None:
    from .http import h1  # the server's head scanner and chunk decoder (numba loads here)

    h1.warmup()


def _warm_websocket_frames() -> None:
    from .http import websocket_frames  # the frame scanner behind every @websocket route

    websocket_frames.warmup()


def _warmup_label(fn: Callable[[], Any]) -> str:
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    if "<lambda>" in name:
        return f"warm-up in {getattr(fn, '__module__', '?')}"
    return name


async def _call_hook(fn: Callable[[], Any]) -> None:
    result = fn()
    if inspect.isawaitable(result):
        await result


class Conduit(RouteDecorators):
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
        #: prefix -> mounted target (StaticFiles, a sub-app, an ASGI app).
        self.mounts: dict[str, Any] = {}
        #: Whether any @websocket route exists (the server checks upgrades only then).
        self.has_websockets = False
        self.middleware: list[Middleware] = [resolve_middleware(m) for m in middleware or []]
        self.exception_handlers: dict[type[BaseException] | int, Callable] = {}
        self._startup: list[Callable[[], Any]] = []
        self._shutdown: list[Callable[[], Any]] = []
        self._warmups: list[tuple[str, Callable[[], Any]]] = [
            ("HTTP/1.1 codec", _warm_http_codec),
            ("route table", self.router.compile),
        ]
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
            route_middleware = [resolve_middleware(m) for m in middleware or []]
        except Exception:
            self.router.remove(route)
            raise
        route.endpoint = _wrap_route(endpoint, route_middleware)
        if route_middleware:
            route.options["route_middleware"] = tuple(route_middleware)  # the OpenAPI document reads auth here
        return route

    def websocket(self, path: str, **options: Any):
        """Register a WebSocket handler; it gets a :class:`~conduit.WebSocket` (by annotation)."""
        check_route_path(path, "app.websocket")

        def decorator(handler):
            from .server.websocket import WEBSOCKET

            self.add_route(path, handler, [WEBSOCKET], include_in_schema=False, **options)
            if not self.has_websockets:
                self.add_warmup(_warm_websocket_frames, name="WebSocket frames")
            self.has_websockets = True
            return handler
        return decorator

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """ASGI 3: ``uvicorn module:app`` serves the app (http and lifespan; see conduit.asgi.http)."""
        face = self.__dict__.get("_asgi")
        if face is None:
            from .asgi.http import ASGIFace

            face = self._asgi = ASGIFace(self)
        await face(scope, receive, send)

    # -------------------------------------------------------------- extensions

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this app (built on first call, rebuilt when routes change)."""
        from .openapi import openapi

        return openapi(self)

    def include_router(self, router: Any, *, prefix: str = "", tags: list[str] | None = None,
                       dependencies: list[Any] | None = None) -> None:
        """Add every route of an :class:`~conduit.APIRouter` under ``prefix``."""
        for registration in router.expanded(prefix, tags, dependencies):
            self.add_route(registration.path, registration.handler, registration.methods, **registration.options)

    def url_path_for(self, name: str, **params: Any) -> str:
        """The path of the route named ``name`` with ``params`` filled in (``NoMatchFound`` if none)."""
        from .routing.groups import url_path_for

        return url_path_for(self.router.routes, name, **params)

    def mount(self, path: str, target: Any, *, name: str | None = None) -> None:
        """Serve ``path`` and everything below it with ``target`` (StaticFiles, a Conduit app)."""
        from .routing.mounts import mount

        mount(self, path, target, name=name, sub_app=isinstance(target, Conduit))

    def statistics(self) -> Any:
        """Per route and method: count, errors, latency percentiles, bytes, share (a frozen
        :class:`~conduit.observability.statistics.AppStatistics`; needs the metrics middleware)."""
        from .observability.statistics import app_statistics

        return app_statistics(self)

    def mount_mcp(self, path: str, server: Any, **options: Any) -> Any:
        """Serve an :class:`~conduit.mcp.MCPServer` over Streamable HTTP at ``path``."""
        from .mcp.transports.http import mount

        return mount(self, path, server, **options)

    def predict(self, path: str, model: Any, **options: Any) -> Any:
        """Expose a model (or registry) for prediction at ``path``; see docs/ml.md."""
        from .ml.serve.serving import predict_route

        return predict_route(self, path, model, **options)

    # --------------------------------------------------------------- lifespan

    def on_startup(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        self._startup.append(fn)
        return fn

    def on_shutdown(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        self._shutdown.append(fn)
        return fn

    def add_warmup(self, fn: Callable[[], Any], *, name: str | None = None) -> Callable[[], Any]:
        """Register a function that compiles (or loads from cache) kernels before serving.

        ``name`` labels it in the server's start-up progress lines (default: the
        function's qualified name).
        """
        self._warmups.append((name or _warmup_label(fn), fn))
        return fn

    def add_middleware(self, middleware: Any, *args: Any, **options: Any) -> None:
        """Append a middleware; the first added is the outermost.

        Pass a class and its options (``app.add_middleware(CORS, allow_origins=["*"])``),
        or a configured instance (``app.add_middleware(CORS(allow_origins=["*"]))``), or
        any function ``middleware(next_handler) -> handler``. For a hook run before or
        after every handler, see ``conduit.middleware.before_request`` and
        ``conduit.middleware.after_response``.
        """
        if self._handler is not None:
            raise RuntimeError("middleware cannot be added after the app has started serving")
        self.middleware.append(resolve_middleware(middleware, args, options))

    def exception_handler(self, key: type[BaseException] | int):
        """Register ``fn(request, exc) -> Response`` for an exception type or a status code."""
        if not (isinstance(key, int) or (isinstance(key, type) and issubclass(key, BaseException))):
            raise TypeError(f"@app.exception_handler needs an exception class or a status code: write "
                            f"@app.exception_handler(ValueError) or @app.exception_handler(404), got {key!r}")

        def decorator(fn):
            self.exception_handlers[key] = fn
            return fn
        return decorator

    def warmup(self, progress: WarmupProgress | None = None) -> None:
        """Run every warm-up: all kernels the app and the server need are compiled after this.

        This is what a build step runs to fill Numba's cache (the Dockerfile does).
        ``progress(index, total, name, seconds)`` is called before each group with
        ``seconds=None`` and after it with the seconds it took.
        """
        total = len(self._warmups)
        for index, (name, fn) in enumerate(self._warmups, 1):
            if progress is not None:
                progress(index, total, name, None)
            start = time.perf_counter()
            fn()
            if progress is not None:
                progress(index, total, name, time.perf_counter() - start)
        self.warmed = True

    async def startup(self, progress: WarmupProgress | None = None) -> None:
        """Warm kernels (unless done already, e.g. by a preloading supervisor before it
        forked this worker), run startup hooks, freeze the middleware stack."""
        if self.started:
            return
        if not self.warmed:
            self.warmup(progress)
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

    def run(self, host: str = "127.0.0.1", port: int = 8000, *, access_log: bool = False,
            **config: Any) -> None:
        """Serve until interrupted (trio + h11); see :func:`conduit.server.run`.

        Prints where it serves and the warm-up progress; ``access_log=True`` adds a
        line per request. A port in use exits with ``error: HOST:PORT is already in use``.
        """
        from .server import run

        run(self, host=host, port=port, access_log=access_log, **config)

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
                methods = [m for m in match.allowed if m != "WEBSOCKET"]  # the WebSocket pseudo-method
                if not methods:  # only a WebSocket route here (RFC 9110 §15.5.22)
                    raise HTTPError(426, f"{request.path!r} is a WebSocket endpoint",
                                    headers={"upgrade": "websocket"})
                allowed = ", ".join(methods + ([] if "OPTIONS" in methods else ["OPTIONS"]))
                if request.method == "OPTIONS":
                    return Response(b"", status_code=204, headers={"allow": allowed})
                raise MethodNotAllowed(detail=f"method {request.method} not allowed for {request.path!r}",
                                       headers={"allow": allowed})
            request.route = route
            request.path_params = match.params
            limit = route.options.get("max_body_size")
            if limit is not None:  # the server reads it before each body read
                request.max_body_size = limit
            try:
                response = to_response(await route.endpoint(request)).prepare(request)
            except BaseException:
                if request._form is not None:  # an error response never reads the uploads
                    await request.close_form()
                raise
            state = request._state
            if state is not None and getattr(state, "background", None):
                response.background = state.background  # the server runs it after sending
            if request._form is not None and request.close_form not in response.after_send:
                # Uploads stay open while the response streams; the server closes them once it is sent.
                response.after_send = (*response.after_send, request.close_form)
            return response
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
        if isinstance(exc, FileNotServable):
            return error_response(404, "file not found", request_id)
        if isinstance(exc, InvalidJSON):
            return error_response(exc.status_code, str(exc), request_id, type=exc.error_type)
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


def _wrap_route(endpoint, middleware: list[Middleware]):
    if not middleware:
        return endpoint

    async def as_handler(request: Request) -> Response:
        return to_response(await endpoint(request))

    handler: Handler = as_handler
    for mw in reversed(middleware):
        handler = mw(handler)
    return handler


__all__ = ["Conduit", "Handler", "Middleware", "resolve_middleware", "to_response", "JSONResponse"]
