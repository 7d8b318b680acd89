"""What a handler returns becomes a :class:`~conduit.http.Response`: one table, one function.

:func:`to_response` is the mapping the README's table documents (a Response as it is,
a ``(body, status[, headers])`` tuple, text, bytes, None, anything else as JSON). It
lives here, beside the response classes it builds, and not in the app, because the
binder (``status_code=``), route middleware and the ``before_request`` hook convert
return values too: they import it from the HTTP layer instead of from the app that
imports them.
"""

from __future__ import annotations

from typing import Any

from .response import JSONResponse, PlainTextResponse, Response


def to_response(value: Any) -> Response:
    """Map a handler's return value to a Response (see the README's table).

    A tuple is never a JSON array: as in Flask it is ``(body, status)``,
    ``(body, headers)`` or ``(body, status, headers)``, where ``body`` is any other
    return value, ``status`` an int and ``headers`` a dict or a list of pairs (added to
    the body's own); None in either place means "not given". Return a list for a JSON array.
    """
    kind = type(value)  # the two common returns first, by exact type: no isinstance chain
    if kind is dict:
        return JSONResponse(value)
    if kind is str:
        return PlainTextResponse(value)
    if isinstance(value, Response):
        return value
    if isinstance(value, tuple):
        return _tuple_response(value)
    if isinstance(value, str):
        return PlainTextResponse(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Response(bytes(value), media_type="application/octet-stream")
    if value is None:
        return Response(b"", status_code=204)
    return JSONResponse(value)


def _tuple_response(value: tuple) -> Response:
    if len(value) == 3:
        body, status, headers = value
    elif len(value) == 2 and isinstance(value[1], (dict, list)):
        (body, headers), status = value, None
    elif len(value) == 2:
        (body, status), headers = value, None
    else:
        raise TypeError(f"a handler returned a tuple of {len(value)} items; a tuple means (body, status), "
                        "(body, headers) or (body, status, headers) (return a list for a JSON array)")
    if isinstance(body, tuple):
        raise TypeError("the body of a (body, status[, headers]) tuple cannot itself be a tuple")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or not 100 <= status <= 599):
        raise TypeError(f"the status in a (body, status[, headers]) tuple must be an int from 100 to 599, "
                        f"got {status!r}")
    response = to_response(body)
    if status is not None:
        response.status_code = status  # the codec frames it (no body for 1xx, 204, 304)
    if headers is not None:
        try:
            pairs = list(headers.items()) if isinstance(headers, dict) else [(k, v) for k, v in headers]
        except (TypeError, ValueError):
            raise TypeError(f"the headers in a (body, status, headers) tuple must be a dict or a list of "
                            f"(name, value) pairs, got {headers!r}") from None
        for name, val in pairs:
            response.set_header(str(name), str(val))
    return response


__all__ = ["to_response"]
