"""HTTP errors: raise one anywhere in a handler, get the one JSON error shape.

Hierarchy (each class carries its status, so one place maps errors to responses)::

    HTTPError(status_code, detail)    also importable as HTTPException (the Starlette/FastAPI name)
    ├── BadRequest 400            ├── UnprocessableEntity 422
    ├── Unauthorized 401          │   └── ValidationError (errors=[{loc, msg, type}])
    ├── Forbidden 403             ├── TooManyRequests 429
    ├── NotFound 404              ├── RequestHeaderFieldsTooLarge 431
    │   └── ModelNotFound         ├── InternalServerError 500
    ├── MethodNotAllowed 405      │   └── InferenceError
    ├── RequestTimeout 408        ├── NotImplementedError_ 501
    ├── Conflict 409              ├── BadGateway 502
    ├── PayloadTooLarge 413       ├── ServiceUnavailable 503
    └── UnsupportedMediaType 415  └── GatewayTimeout 504

The base takes the status first, ``HTTPError(404, "user 42 missing")``; every
subclass knows its status and takes the detail first, ``NotFound("user 42 missing")``,
``ModelNotFound("iris")``; ``headers`` comes after the detail on both.

The body is always ``{"error": {"status", "type", "detail", "request_id"}}``; ``type``
is the status name (``not_found``) unless a class names its own with ``error_type``
(``ModelNotFound`` → ``model_not_found``, ``InferenceError`` → ``inference_error``).
Tracebacks go to the log, never to the client.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from .http.response import JSONResponse
from .types.errors import as_loc


def _type_name(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


class HTTPError(Exception):
    """An error with an HTTP status: ``HTTPError(status_code, detail, headers=...)``.

    ``detail`` is any JSON-able value. Subclasses fix the status and take the
    detail first (:class:`StatusError`).
    """

    status_code = 500
    #: The body's ``type``; None means the status name (``not_found``).
    error_type: str | None = None

    def __init__(self, status_code: int | None = None, detail: Any = None,
                 headers: dict[str, str] | None = None):
        if status_code is not None:
            if isinstance(status_code, bool) or not isinstance(status_code, int):
                raise TypeError(f"HTTPError(status_code, detail): status_code must be an int, got "
                                f"{status_code!r}; a subclass takes the detail first, e.g. NotFound({status_code!r})")
            self.status_code = status_code
        self._init(detail, headers)

    def _init(self, detail: Any, headers: dict[str, str] | None) -> None:
        if not 400 <= self.status_code <= 599:
            raise ValueError(f"HTTPError status must be 4xx or 5xx, got {self.status_code}")
        self.detail = detail if detail is not None else _default_detail(self.status_code)
        self.headers = dict(headers or {})
        Exception.__init__(self, f"{self.status_code}: {self.detail}")

    @property
    def type(self) -> str:
        return self.error_type or _type_name(self.status_code)

    def to_response(self, request_id: str | None = None) -> JSONResponse:
        return error_response(self.status_code, self.detail, request_id, self.headers, self.type)


def _default_detail(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(status: int, detail: Any = None, request_id: str | None = None,
                   headers: dict[str, str] | None = None, type: str | None = None) -> JSONResponse:
    """The one error shape, for errors that are not raised (404s from the router, 500s)."""
    body = {"error": {"status": status, "type": type or _type_name(status),
                      "detail": detail if detail is not None else _default_detail(status),
                      "request_id": request_id}}
    return JSONResponse(body, status_code=status, headers=headers)


#: Starlette's and FastAPI's name for the same class.
HTTPException = HTTPError


class StatusError(HTTPError):
    """The base of the fixed-status errors: ``NotFound("user 42 missing")``, detail first."""

    def __init__(self, detail: Any = None, headers: dict[str, str] | None = None):
        self._init(detail, headers)


def _subclass(name: str, status: int, base: type[HTTPError] = StatusError, doc: str = "",
              error_type: str | None = None) -> type:
    namespace = {"status_code": status, "__doc__": doc or f"{status} {_default_detail(status)}.",
                 "__module__": __name__, "__qualname__": name}
    if error_type is not None:
        namespace["error_type"] = error_type
    return type(name, (base,), namespace)


BadRequest = _subclass("BadRequest", 400)
Unauthorized = _subclass("Unauthorized", 401)
Forbidden = _subclass("Forbidden", 403)
NotFound = _subclass("NotFound", 404)
MethodNotAllowed = _subclass("MethodNotAllowed", 405)
RequestTimeout = _subclass("RequestTimeout", 408)
Conflict = _subclass("Conflict", 409)
PayloadTooLarge = _subclass("PayloadTooLarge", 413)
UnsupportedMediaType = _subclass("UnsupportedMediaType", 415)
UnprocessableEntity = _subclass("UnprocessableEntity", 422)
TooManyRequests = _subclass("TooManyRequests", 429)
RequestHeaderFieldsTooLarge = _subclass("RequestHeaderFieldsTooLarge", 431)
InternalServerError = _subclass("InternalServerError", 500)
NotImplementedError_ = _subclass("NotImplementedError_", 501)
BadGateway = _subclass("BadGateway", 502)
ServiceUnavailable = _subclass("ServiceUnavailable", 503)
GatewayTimeout = _subclass("GatewayTimeout", 504)
ModelNotFound = _subclass("ModelNotFound", 404, NotFound, "No model with that name (or version).",
                         "model_not_found")
InferenceError = _subclass("InferenceError", 500, InternalServerError, "A model failed to predict.",
                           "inference_error")


class ValidationError(UnprocessableEntity):
    """422 listing every failing field: ``errors=[{"loc": ["query", "page"], "msg": ..., "type": ...}]``.

    ``loc`` is a list of keys and indexes (the vocabulary of ``conduit.types.codes``);
    a legacy dotted string (``"body.items[3].price"``) is split into one, so older
    code keeps working. A plain string is one entry with an empty ``loc``.
    """

    def __init__(self, errors: list[dict[str, Any]] | str, headers: dict[str, str] | None = None):
        if isinstance(errors, str):
            errors = [{"loc": [], "msg": errors, "type": "value_error"}]
        errors = [{**entry, "loc": as_loc(entry.get("loc"))} if isinstance(entry, dict)
                  and not isinstance(entry.get("loc"), list) else entry for entry in errors]
        self.errors = errors
        super().__init__(errors, headers=headers)


def abort(status_code: int, detail: Any = None, headers: dict[str, str] | None = None):
    """Raise the :class:`HTTPError` subclass for ``status_code`` (or a plain one)."""
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        raise HTTPError(status_code, detail, headers=headers)
    raise cls(detail, headers=headers)


_BY_STATUS = {cls.status_code: cls for cls in (
    BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, RequestTimeout, Conflict,
    PayloadTooLarge, UnsupportedMediaType, UnprocessableEntity, TooManyRequests,
    RequestHeaderFieldsTooLarge, InternalServerError, NotImplementedError_, BadGateway,
    ServiceUnavailable, GatewayTimeout)}
