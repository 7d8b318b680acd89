"""Conduit: an AI-first web framework whose hot paths are Numba kernels.

The public API is re-exported here. Heavy optional parts (MCP, ML, vector
search) load lazily, on first attribute access, so ``import conduit`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from .app import Conduit, Middleware
from .binding import Array, Body, Cookie, Depends, Header, Param, Path, Query
from .exceptions import (
    BadGateway,
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    HTTPError,
    InferenceError,
    InternalServerError,
    MethodNotAllowed,
    ModelNotFound,
    NotFound,
    NotImplementedError_,
    PayloadTooLarge,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
    UnsupportedMediaType,
    ValidationError,
    abort,
)
from .http import (
    EventSourceResponse,
    Headers,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    QueryParams,
    Request,
    Response,
    StreamingResponse,
)
from .routing import RouteError
from .server import ServerConfig

__version__ = "0.1.0"

#: name -> module, imported on first access.
_LAZY = {
    "TestClient": "conduit.testing",
    "LiveServer": "conduit.testing",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'conduit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Array",
    "BadGateway",
    "BadRequest",
    "Body",
    "Conduit",
    "Conflict",
    "Cookie",
    "Depends",
    "EventSourceResponse",
    "Forbidden",
    "GatewayTimeout",
    "HTMLResponse",
    "HTTPError",
    "Header",
    "Headers",
    "InferenceError",
    "InternalServerError",
    "JSONResponse",
    "LiveServer",
    "MethodNotAllowed",
    "Middleware",
    "ModelNotFound",
    "NotFound",
    "NotImplementedError_",
    "Param",
    "Path",
    "PayloadTooLarge",
    "PlainTextResponse",
    "Query",
    "QueryParams",
    "Request",
    "RequestHeaderFieldsTooLarge",
    "RequestTimeout",
    "Response",
    "RouteError",
    "ServerConfig",
    "ServiceUnavailable",
    "StreamingResponse",
    "TestClient",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "ValidationError",
    "abort",
]
