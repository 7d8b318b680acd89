"""The one place an exception becomes a response, by the status it carries.

An exception says how it should be answered, as h11's ``error_status_hint`` does:
an ``int`` class attribute ``status_code`` (or ``error_status_hint``) in 400..599.
``HTTPError`` and its subclasses, ``InvalidJSON`` (400), ``ClientDisconnect`` (400),
``BodyTooLarge`` (413), ``VectorInputError`` (422), ``FileNotServable`` (404) all
carry theirs, so no isinstance chain here has to learn about them. Optional
attributes: ``detail`` (else ``str(exc)``), ``headers``, ``error_type``.

A 4xx says what was wrong; a 5xx, and anything carrying no status, is logged with
its traceback and answered with a generic detail (never the exception's text).
Custom handlers (``@app.exception_handler``) come first.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from ..exceptions import HTTPError, error_response
from ..http.request import Request
from ..http.request_id import request_id_of
from ..http.response import Response
from ..http.returns import to_response

logger = logging.getLogger("conduit.error")


def status_of(exc: BaseException) -> int | None:
    """The HTTP status ``exc`` carries, or None (then it is a 500)."""
    for name in ("status_code", "error_status_hint"):
        status = getattr(exc, name, None)
        if type(status) is int and 400 <= status <= 599:  # noqa: E721 (bool is not a status)
            return status
    return None


def _find_handler(handlers: dict, exc: Exception, status: int | None):
    if not handlers:
        return None
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return handlers.get(status if status is not None else 500)


def mapped_response(request: Request, exc: Exception) -> Response:
    """The error response for ``exc`` (no custom handlers: see :func:`error_to_response`)."""
    request_id = request_id_of(request)
    if isinstance(exc, HTTPError):  # raised on purpose: its detail is meant for the client
        return exc.to_response(request_id)
    status = status_of(exc)
    if status is None or status >= 500:
        logger.error("unhandled error in %s %s (request_id=%s)", request.method,
                     request.raw_path.decode("latin-1"), request_id, exc_info=exc)
        return error_response(status or 500, None if status else "Internal Server Error", request_id,
                              getattr(exc, "headers", None) if status else None)
    detail = getattr(exc, "detail", None)
    return error_response(status, detail if detail is not None else str(exc), request_id,
                          getattr(exc, "headers", None), getattr(exc, "error_type", None))


async def error_to_response(handlers: dict[Any, Any], request: Request, exc: Exception) -> Response:
    """A custom handler's answer for ``exc`` if one is registered (by class, then status), else
    :func:`mapped_response`. A failing custom handler is logged and its error mapped instead."""
    handler = _find_handler(handlers, exc, status_of(exc))
    if handler is not None:
        try:
            result = handler(request, exc)
            if inspect.isawaitable(result):
                result = await result
            return to_response(result)
        except Exception as inner:
            logger.exception("exception handler failed for %r", request)
            exc = inner
    return mapped_response(request, exc)


__all__ = ["error_to_response", "mapped_response", "status_of"]
