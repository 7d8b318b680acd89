"""Conduit: an AI-first web framework whose hot paths are Numba kernels.

The public API is re-exported here. Heavy optional parts (MCP, ML, vector
search) load lazily, on first attribute access, so ``import conduit`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from .app import Conduit, Middleware
from .background import BackgroundTasks
from .binding import Array, Body, Cookie, Depends, File, Form, Header, Param, Path, Query
from .types import Constraints
from .exceptions import (
    BadGateway,
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    HTTPError,
    HTTPException,
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
    FileResponse,
    Headers,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    QueryParams,
    RedirectResponse,
    Request,
    Response,
    StreamingResponse,
)
from .routing import RouteError
from .server import ServerConfig
from .staticfiles import StaticFiles

__version__ = "0.1.0"

#: name -> module, imported on first access.
_LAZY = {
    "TestClient": "conduit.testing.client",
    "APIRouter": "conduit.routing.groups",
    "WebSocket": "conduit.websocket",
    "WebSocketDisconnect": "conduit.websocket",
    "WebSocketRejected": "conduit.testing.websocket",
    "NoMatchFound": "conduit.routing.groups",
    # Forms and uploads (python-multipart loads with them)
    "FormData": "conduit.forms",
    "FormLimits": "conduit.forms",
    "UploadFile": "conduit.forms",
    "LiveServer": "conduit.testing.client",
    # ML serving (conduit.ml; `conduit.ml.compile` stays there: it would shadow a builtin)
    "CompiledModel": "conduit.ml",
    "DynamicBatcher": "conduit.ml",
    "InvalidInput": "conduit.ml",
    "ModelLoadError": "conduit.ml",
    "ModelRegistry": "conduit.ml",
    "ModelVersion": "conduit.ml",
    "OnnxModel": "conduit.ml",
    "Pipeline": "conduit.ml",
    "StreamingModel": "conduit.ml",
    "VotingEnsemble": "conduit.ml",
    "load_model": "conduit.ml",
    # Vector search and RAG
    "VectorStore": "conduit.vector",
    "Hit": "conduit.vector",
    "HnswConfig": "conduit.vector",
    "ShardedVectorStore": "conduit.vector",
    "TfidfEmbedder": "conduit.vector",
    "OnnxEmbedder": "conduit.vector",
    "HashingTokenizer": "conduit.vector",
    "RAGPipeline": "conduit.vector",
    "RAGAnswer": "conduit.vector",
    "Source": "conduit.vector",
    "VectorInputError": "conduit.vector",
    "CorruptStoreError": "conduit.vector",
    "BM25Index": "conduit.vector",
    "Chunker": "conduit.vector",
    "OpenAIChatGenerator": "conduit.vector",
    # MCP servers
    "MCPServer": "conduit.mcp",
    "Context": "conduit.mcp",
    # Production stack (middleware, resilience)
    "APIKeyAuth": "conduit.middleware",
    "AccessLog": "conduit.middleware",
    "CORS": "conduit.middleware",
    "GZip": "conduit.middleware",
    "RateLimit": "conduit.middleware",
    "RedisBackend": "conduit.middleware",
    "ProxyHeaders": "conduit.middleware",
    "RequestID": "conduit.middleware",
    "SecurityHeaders": "conduit.middleware",
    "TrustedHosts": "conduit.middleware",
    "production_stack": "conduit.middleware",
    "CircuitBreaker": "conduit.resilience",
    "CircuitOpenError": "conduit.resilience",
    "Resilient": "conduit.resilience",
    "UpstreamTimeout": "conduit.resilience",
    # Operations: admission control, route statistics, tracing
    "AIMDLimit": "conduit.admission",
    "ConcurrencyLimiter": "conduit.admission",
    "MemoryGuard": "conduit.admission",
    "AppStatistics": "conduit.observability",
    "RouteStatistics": "conduit.observability",
    "install_tracing": "conduit.observability",
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
    "abort",
    "AIMDLimit",
    "AppStatistics",
    "ConcurrencyLimiter",
    "install_tracing",
    "MemoryGuard",
    "RouteStatistics",
    "AccessLog",
    "APIKeyAuth",
    "APIRouter",
    "Array",
    "BackgroundTasks",
    "BadGateway",
    "BadRequest",
    "BM25Index",
    "Body",
    "CircuitBreaker",
    "Chunker",
    "CircuitOpenError",
    "CompiledModel",
    "Conduit",
    "Constraints",
    "Conflict",
    "Context",
    "Cookie",
    "CorruptStoreError",
    "CORS",
    "Depends",
    "DynamicBatcher",
    "EventSourceResponse",
    "FileResponse",
    "File",
    "Forbidden",
    "Form",
    "FormData",
    "FormLimits",
    "GatewayTimeout",
    "GZip",
    "HashingTokenizer",
    "Header",
    "Headers",
    "Hit",
    "HnswConfig",
    "HTMLResponse",
    "HTTPError",
    "HTTPException",
    "InferenceError",
    "InternalServerError",
    "InvalidInput",
    "JSONResponse",
    "LiveServer",
    "load_model",
    "MCPServer",
    "MethodNotAllowed",
    "Middleware",
    "ModelLoadError",
    "ModelNotFound",
    "ModelRegistry",
    "ModelVersion",
    "NoMatchFound",
    "NotFound",
    "NotImplementedError_",
    "OnnxEmbedder",
    "OnnxModel",
    "OpenAIChatGenerator",
    "Param",
    "Path",
    "PayloadTooLarge",
    "Pipeline",
    "PlainTextResponse",
    "production_stack",
    "Query",
    "QueryParams",
    "RAGAnswer",
    "RAGPipeline",
    "RedirectResponse",
    "RateLimit",
    "RedisBackend",
    "Request",
    "RequestHeaderFieldsTooLarge",
    "ProxyHeaders",
    "RequestID",
    "RequestTimeout",
    "Resilient",
    "Response",
    "RouteError",
    "SecurityHeaders",
    "ServerConfig",
    "ShardedVectorStore",
    "ServiceUnavailable",
    "Source",
    "StreamingModel",
    "StaticFiles",
    "StreamingResponse",
    "TestClient",
    "TfidfEmbedder",
    "TooManyRequests",
    "TrustedHosts",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "UploadFile",
    "UpstreamTimeout",
    "ValidationError",
    "VectorInputError",
    "VectorStore",
    "VotingEnsemble",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketRejected",
]
