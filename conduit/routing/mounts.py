"""``app.mount(path, target)``: hand every request under a prefix to another server.

A target is a :class:`~conduit.staticfiles.StaticFiles`, another
:class:`~conduit.Conduit` app (its routes answer with the prefix stripped), an
ASGI application (see :mod:`conduit.asgi.mount`), or any object with a ``serve(request, path) -> Response`` coroutine method. The
mount is two ordinary routes in the parent's table (``prefix`` and
``prefix/*path``), so the route kernel decides, and static routes of the parent
still win over the mount (priority static > catch-all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..http.request import Request
from ..http.response import Response

ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _normalise(prefix: str) -> str:
    if not prefix.startswith("/"):
        raise ValueError(f"mount path {prefix!r} must start with '/'")
    prefix = prefix.rstrip("/")
    if not prefix:
        raise ValueError("mount path '/' would shadow every route; mount under a prefix such as '/static'")
    if any(c in prefix for c in "{}*:"):
        raise ValueError(f"mount path {prefix!r} must be static (no parameters)")
    return prefix


def _sub_app_server(parent: Any, sub: Any, prefix: str):
    encoded = prefix.encode("latin-1")

    async def serve(request: Request, path: str) -> Response:
        # The sub-app sees the path below the prefix, still percent-encoded.
        request.set_path(request.raw_path[len(encoded):] or b"/")
        return await sub.handle(request)

    parent.on_startup(sub.startup)
    parent.on_shutdown(sub.shutdown)
    return serve, ALL_METHODS


def mount(app: Any, path: str, target: Any, *, name: str | None = None, sub_app: bool = False,
          asgi_server: Callable[[Any, str], Any] | None = None) -> None:
    """Route ``path`` and everything below it to ``target`` (see the module docstring).

    ``sub_app`` says that ``target`` is a :class:`~conduit.Conduit` app, and
    ``asgi_server(asgi_app, prefix)`` makes the ``serve`` coroutine of an ASGI target: the
    caller (``Conduit.mount``) knows its own class and the ASGI face, so routing, a
    sans-IO layer below both, imports neither.
    """
    prefix = _normalise(path)
    if sub_app:
        serve, methods = _sub_app_server(app, target, prefix)
    elif callable(getattr(target, "serve", None)):
        serve, methods = target.serve, tuple(getattr(target, "methods", ALL_METHODS))
    elif callable(target) and asgi_server is not None:  # an ASGI application (Starlette, FastAPI, ...)
        serve, methods = asgi_server(target, prefix), ALL_METHODS
    else:
        raise TypeError(f"cannot mount {target!r} at {path!r}: expected StaticFiles, a Conduit app, "
                        "an ASGI application, or an object with an async serve(request, path) method")

    async def at_prefix(request: Request) -> Response:
        return await serve(request, "")

    async def below_prefix(request: Request, path: str) -> Response:
        return await serve(request, path)

    label = name or f"mount:{prefix}"
    app.add_route(prefix, at_prefix, methods, name=label, include_in_schema=False)
    app.add_route(prefix + "/*path", below_prefix, methods, name=label + ":path", include_in_schema=False)
    app.mounts[prefix] = target


__all__ = ["mount", "ALL_METHODS"]
