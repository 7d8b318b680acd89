"""Helpers shared by the middleware: error conversion, ``Vary`` merging, hook adapters.

Public (not ``_base``): the observability middleware (metrics, tracing) wrap handlers
with :func:`respond` too, from outside this package.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..http.request import Request
from ..http.response import Response
from ..http.returns import to_response

Handler = Callable[[Request], Any]


async def respond(handler: Handler, request: Request) -> Response:
    """Await ``handler(request)``; an exception becomes the app's error response.

    Middleware that decorate the response (request id, CORS, security headers,
    logs, metrics) use this so that errors raised by inner middleware (401, 429)
    are decorated too. Cancellation still propagates.
    """
    try:
        return await handler(request)
    except Exception as exc:
        return await error_answer(request, exc)


async def error_answer(request: Request, exc: Exception) -> Response:
    """The app's error response for ``exc`` (re-raised outside an app). :func:`respond`'s
    except branch, for a hot-path middleware that inlines its ``try`` to save a coroutine frame."""
    app = request.app
    if app is None:
        raise exc
    return await app.error_to_response(request, exc)


def add_vary(response: Response, *names: str) -> None:
    """Merge ``names`` into the response's one ``Vary`` header (RFC 9110 §12.5.5)."""
    current = response.get_header("vary")
    if current is None:
        response.headers.append(("vary", ", ".join(names)))
        return
    if current.strip() == "*":
        return
    present = {part.strip().lower() for part in current.split(",")}
    extra = [name for name in names if name.lower() not in present]
    if extra:
        response.set_header("vary", ", ".join([current] + extra))


def before_request(fn: Callable[[Request], Any]):
    """A middleware from ``fn(request)`` (sync or async) run before the handler.

    ``fn`` may return a Response (or raise an HTTPError) to short-circuit.
    """
    is_async = inspect.iscoroutinefunction(fn)

    def middleware(handler: Handler) -> Handler:
        async def before(request: Request) -> Response:
            result = fn(request)
            if is_async or inspect.isawaitable(result):
                result = await result
            if result is not None:
                return to_response(result)
            return await handler(request)
        return before
    return middleware


def after_response(fn: Callable[[Request, Response], Any]):
    """A middleware from ``fn(request, response)`` (sync or async) run after the handler.

    ``fn`` may return a replacement Response; returning None keeps the original.
    """
    is_async = inspect.iscoroutinefunction(fn)

    def middleware(handler: Handler) -> Handler:
        async def after(request: Request) -> Response:
            response = await respond(handler, request)
            result = fn(request, response)
            if is_async or inspect.isawaitable(result):
                result = await result
            return response if result is None else result
        return after
    return middleware
