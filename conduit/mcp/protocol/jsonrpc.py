"""JSON-RPC 2.0 framing for MCP: parsing, classification, and error values.

This module owns bytes <-> message dicts and the error vocabulary. It knows
nothing about MCP methods, transports or trio: every function here is pure.

Exception hierarchy::

    MCPError                      a JSON-RPC error to send back (code, message, data)
     +-- ParseError               -32700 invalid JSON
     +-- InvalidRequest           -32600 not a JSON-RPC 2.0 request/notification/response
     +-- MethodNotFound           -32601
     +-- InvalidParams            -32602
     +-- InternalError            -32603
     +-- HeaderMismatch           -32020 (2026-07-28) HTTP headers disagree with the body
     +-- MissingClientCapability  -32021 (2026-07-28) the request needs a capability not declared
     +-- UnsupportedVersion       -32022 (2026-07-28) the requested protocol version is not served

Each error carries ``http_status``: the status a Streamable HTTP transport
answers with when the error is the whole response (2026-07-28 transports
section: 400 for envelope errors, 404 for unknown methods).
"""

from __future__ import annotations

from typing import Any

from conduit._json import InvalidJSON, dumps as json_dumps, loads_body

__all__ = [
    "PARSE_ERROR", "INVALID_REQUEST", "METHOD_NOT_FOUND", "INVALID_PARAMS", "INTERNAL_ERROR",
    "HEADER_MISMATCH", "MISSING_CLIENT_CAPABILITY", "UNSUPPORTED_PROTOCOL_VERSION",
    "RESOURCE_NOT_FOUND", "MCPError", "ParseError", "InvalidRequest", "MethodNotFound",
    "InvalidParams", "InternalError", "HeaderMismatch", "MissingClientCapability",
    "UnsupportedVersion", "REQUEST", "NOTIFICATION", "RESPONSE", "parse", "classify",
    "result_message", "error_message", "request_message", "notification_message", "dumps", "is_id",
    "error_reply", "RATE_LIMITED",
]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020
MISSING_CLIENT_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022
# Too many requests (conduit.mcp.RateLimit): data.retryAfterMs says when to try again.
RATE_LIMITED = -32029
# MCP reuses -32602 for unknown resources (SEP-2164); -32002 was the older code.
RESOURCE_NOT_FOUND = INVALID_PARAMS

# 2026-07-28 "Streamable HTTP": errors that are the whole answer map to these statuses.
_HTTP_STATUS = {
    PARSE_ERROR: 400, INVALID_REQUEST: 400, INVALID_PARAMS: 400, HEADER_MISMATCH: 400,
    MISSING_CLIENT_CAPABILITY: 400, UNSUPPORTED_PROTOCOL_VERSION: 400, METHOD_NOT_FOUND: 404, RATE_LIMITED: 429,
}


class MCPError(Exception):
    """A JSON-RPC error that a handler raises to answer the request with."""

    code: int = INTERNAL_ERROR

    def __init__(self, message: str, data: Any = None, *, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.data = data

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 200)

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(MCPError):
    code = PARSE_ERROR


class InvalidRequest(MCPError):
    code = INVALID_REQUEST


class MethodNotFound(MCPError):
    code = METHOD_NOT_FOUND


class InvalidParams(MCPError):
    code = INVALID_PARAMS


class InternalError(MCPError):
    code = INTERNAL_ERROR


class HeaderMismatch(MCPError):
    code = HEADER_MISMATCH


class MissingClientCapability(MCPError):
    code = MISSING_CLIENT_CAPABILITY

    def __init__(self, capability: str, message: str | None = None) -> None:
        super().__init__(
            message or f"This request needs the client capability {capability!r}, which the client did not declare",
            {"requiredCapabilities": {capability: {}}},
        )


class UnsupportedVersion(MCPError):
    code = UNSUPPORTED_PROTOCOL_VERSION

    def __init__(self, requested: Any, supported: list[str]) -> None:
        super().__init__("Unsupported protocol version", {"supported": supported, "requested": requested})


REQUEST = "request"
NOTIFICATION = "notification"
RESPONSE = "response"


def parse(body: bytes | str) -> Any:
    """Decode one JSON text (integers exact); raise :class:`ParseError` when it is not JSON.

    The same parser and refusals as an HTTP body (``conduit._json.loads_body``): what
    HTTP answers 400 ``invalid_json``, JSON-RPC answers -32700.
    """
    try:
        return loads_body(body)
    except InvalidJSON as exc:
        raise ParseError(f"Parse error: {exc}") from None


def is_id(value: Any) -> bool:
    """Whether ``value`` is a JSON-RPC id MCP accepts: a string or an integer, never a bool.

    Every lookup keyed by a client-sent id (pending server requests, in-flight calls,
    ``notifications/cancelled``) checks this first: a JSON array or object is unhashable,
    and one such id must never reach a dict lookup.
    """
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def classify(message: Any) -> str:
    """Return REQUEST, NOTIFICATION or RESPONSE, or raise :class:`InvalidRequest`.

    Batches (JSON arrays) are refused: MCP removed them in 2025-06-18.
    """
    if isinstance(message, list):
        raise InvalidRequest("Invalid Request: JSON-RPC batches are not supported")
    if not isinstance(message, dict):
        raise InvalidRequest("Invalid Request: a JSON-RPC message must be an object")
    if message.get("jsonrpc") != "2.0":
        raise InvalidRequest('Invalid Request: "jsonrpc" must be "2.0"')
    method = message.get("method")
    if method is not None:
        if not isinstance(method, str):
            raise InvalidRequest('Invalid Request: "method" must be a string')
        params = message.get("params")
        if params is not None and not isinstance(params, dict):
            raise InvalidRequest('Invalid Request: "params" must be an object')
        if "id" not in message:
            return NOTIFICATION
        # MCP forbids null ids; booleans are not ids either (bool is an int subclass).
        if not is_id(message["id"]):
            raise InvalidRequest('Invalid Request: "id" must be a string or an integer')
        return REQUEST
    if "id" in message and ("result" in message or "error" in message):
        return RESPONSE
    raise InvalidRequest("Invalid Request: neither a request, a notification nor a response")


def error_reply(message: Any, error: MCPError) -> dict[str, Any]:
    """The error answer to ``message``: its id when that is a valid id, else null (JSON-RPC 5.1)."""
    request_id = message.get("id") if isinstance(message, dict) else None
    return error_message(request_id if is_id(request_id) else None, error)


def result_message(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: Any, error: MCPError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_error()}


def request_message(request_id: Any, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification_message(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


def dumps(message: Any) -> bytes:
    return json_dumps(message)
