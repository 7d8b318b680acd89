"""The application: routes, lifespan hooks, middleware, and the request path.

The request path itself is :class:`conduit.lifecycle.RequestLifecycle`
(``app.lifecycle``), the same under every face; ``Conduit.handle(request) -> Response``
runs it and never raises.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from .binding import build_endpoint
from .http.request import Request
from .http.response import JSONResponse, Response
from .http.returns import to_response
from .lifecycle import RequestLifecycle
from .lifecycle.cycle import Handler
from .routing.decorators import RouteDecorators, check_route_path
from .routing.options import resolve_body_limit
from .routing.router import Route, Router

logger = logging.getLogger("conduit.error")

#: Defaults of the app's limits (docs/production.md explains each).
DEFAULT_MAX_BODY_SIZE = 1024 * 1024
DEFAULT_HANDLER_TIMEOUT = 30.0
DEFAULT_WEBSOCKET_MAX_MESSAGE_SIZE = 1024 * 1024

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
                 openapi_url: str | None = "/openapi.json", docs_url: str | None = "/docs",
                 max_body_size: int = DEFAULT_MAX_BODY_SIZE, handler_timeout: float = DEFAULT_HANDLER_TIMEOUT,
                 websocket_max_message_size: int = DEFAULT_WEBSOCKET_MAX_MESSAGE_SIZE,
                 lifespan: Callable[[Any], Any] | None = None):
        #: The app's limits: the same under every face (server, ASGI, TestClient);
        #: ``conduit run`` flags override them (see :meth:`configure_limits`).
        self.max_body_size = DEFAULT_MAX_BODY_SIZE
        self.handler_timeout = DEFAULT_HANDLER_TIMEOUT
        self.websocket_max_message_size = DEFAULT_WEBSOCKET_MAX_MESSAGE_SIZE
        self.configure_limits(max_body_size=max_body_size, handler_timeout=handler_timeout,
                              websocket_max_message_size=websocket_max_message_size)
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
        #: ``lifespan(app)``: an async context manager entered at startup, left at shutdown (Starlette's form).
        self.lifespan = lifespan
        self._lifespan_context: Any = None
        #: original dependency -> replacement, consulted per request (tests swap a database for a fake).
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._warmups: list[tuple[str, Callable[[], Any]]] = [
            ("HTTP/1.1 codec", _warm_http_codec),
            ("route table", self.router.compile),
        ]
        #: The request path every face calls (middleware, admission, match, limits, errors).
        self.lifecycle = RequestLifecycle(self)
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
        if self.lifecycle.frozen:
            raise RuntimeError("routes cannot be added after the app has started serving")
        route = self.router.add(path, methods, handler, name=name, **options)
        try:
            endpoint = build_endpoint(route)
            route_middleware = [resolve_middleware(m) for m in middleware or []]
        except Exception:
            self.router.remove(route)
            raise
        route.endpoint = _wrap_route(endpoint, route_middleware)
        resolve_body_limit(route)  # upload routes: 50 MiB unless max_body_size= says otherwise
        if route_middleware:
            route.options["route_middleware"] = tuple(route_middleware)  # the OpenAPI document reads auth here
        return route

    def websocket(self, path: str, **options: Any):
        """Register a WebSocket handler; it gets a :class:`~conduit.WebSocket` (by annotation)."""
        check_route_path(path, "app.websocket")

        def decorator(handler):
            from .lifecycle.websocket import WEBSOCKET

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
        from .asgi.mount import asgi_mount_server
        from .routing.mounts import mount

        mount(self, path, target, name=name, sub_app=isinstance(target, Conduit), asgi_server=asgi_mount_server)

    def statistics(self) -> Any:
        """Per route and method: count, errors, latency percentiles, bytes, share (a frozen
        :class:`~conduit.observability.statistics.AppStatistics`). Raises ``RuntimeError``
        naming ``conduit.observability.install(app)`` when the metrics middleware is missing."""
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

    def serve_v2(self, registry: Any, *, prefix: str = "/v2", **options: Any) -> Any:
        """Serve a model registry over the Open Inference Protocol (KServe V2 / Triton); see docs/serving.md."""
        from .ml.serve.v2 import serve_v2

        return serve_v2(self, registry, prefix=prefix, **options)

    # --------------------------------------------------------------- lifespan

    def on_startup(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        self._startup.append(fn)
        return fn

    def on_shutdown(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        self._shutdown.append(fn)
        return fn

    def on_event(self, event: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
        """Starlette/FastAPI's ``@app.on_event("startup")`` / ``("shutdown")``: the same as
        :meth:`on_startup` / :meth:`on_shutdown`."""
        hooks = {"startup": self.on_startup, "shutdown": self.on_shutdown}
        if event not in hooks:
            raise ValueError(f"@app.on_event takes 'startup' or 'shutdown', got {event!r}")
        return hooks[event]

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
        if self.lifecycle.frozen:
            raise RuntimeError("middleware cannot be added after the app has started serving")
        self.middleware.append(resolve_middleware(middleware, args, options))

    def configure_limits(self, *, max_body_size: int | None = None, handler_timeout: float | None = None,
                         websocket_max_message_size: int | None = None) -> dict[str, Any]:
        """Set the limits given (None keeps a limit as it is); return the previous values.

        A server started with overrides (``conduit run --max-body-size``) applies them
        here and restores the returned values when it stops.
        """
        new = {"max_body_size": max_body_size, "handler_timeout": handler_timeout,
               "websocket_max_message_size": websocket_max_message_size}
        for name, value in new.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, got {value!r}")
            if name != "handler_timeout" and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number of bytes >= 1, got {value!r}")
            if not value > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {value!r}")
        previous = {name: getattr(self, name) for name, value in new.items() if value is not None}
        for name, value in new.items():
            if value is not None:
                setattr(self, name, value)
        return previous

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
        if self.lifespan is not None:
            await self._enter_lifespan()
        for fn in self._startup:
            await _call_hook(fn)
        self.lifecycle.freeze()
        self.started = True

    async def shutdown(self) -> None:
        for fn in reversed(self._shutdown):
            try:
                await _call_hook(fn)
            except Exception:
                logger.exception("shutdown hook %r failed", fn)
        context, self._lifespan_context = self._lifespan_context, None
        if context is not None:
            try:
                await context.__aexit__(None, None, None)
            except Exception:
                logger.exception("lifespan %r failed on exit", self.lifespan)
        self.started = False

    async def _enter_lifespan(self) -> None:
        """Enter ``lifespan(app)``; a dict it yields becomes attributes of ``app.state``."""
        context = self.lifespan(self)
        if not hasattr(context, "__aenter__"):
            raise TypeError(f"lifespan= must be an async context manager factory (@asynccontextmanager "
                            f"async def lifespan(app): ... yield ...), got {self.lifespan!r}")
        state = await context.__aenter__()
        self._lifespan_context = context
        if isinstance(state, dict):
            self.state.__dict__.update(state)

    def run(self, host: str = "127.0.0.1", port: int = 8000, *, access_log: bool = False,
            **config: Any) -> None:
        """Serve until interrupted (trio + h11); see :func:`conduit.server.run`.

        Prints where it serves and the warm-up progress; ``access_log=True`` adds a
        line per request. A port in use exits with ``error: HOST:PORT is already in use``.
        """
        from .server import run

        run(self, host=host, port=port, access_log=access_log, **config)

    # ---------------------------------------------------------- request path

    async def handle(self, request: Request) -> Response:
        """Answer one request through the app's lifecycle (:mod:`conduit.lifecycle`). Never raises."""
        return await self.lifecycle.handle(request)

    async def handle_websocket(self, websocket: Any) -> None:
        """Serve one WebSocket handshake and session: route match, admission, middleware, the
        handler and its closing rules. Every face calls this; see :mod:`conduit.lifecycle.websocket`."""
        from .lifecycle.websocket import handle_websocket

        await handle_websocket(self, websocket)

    async def error_to_response(self, request: Request, exc: Exception) -> Response:
        """The one place exceptions become responses (custom handlers first; see conduit.lifecycle.errors)."""
        return await self.lifecycle.error_response(request, exc)


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
