"""What :class:`~conduit.mcp.client.Client` raises.

Hierarchy::

    ClientError                 the client could not complete a request
     +-- TransportError         the server could not be reached, or the connection broke
     |    +-- AuthenticationError   HTTP 401/403: a bearer token is missing, wrong or lacks a scope
     |    +-- SessionExpired        HTTP 404 on a handshake-era session the server forgot
     +-- RequestTimeout         no answer within the timeout (the request was cancelled)
     +-- InputRoundsExceeded    a 2026-07-28 server kept asking for input past the round limit

A JSON-RPC error the server answered with is raised as the server-side class of its code
(:class:`~conduit.mcp.protocol.jsonrpc.MethodNotFound`, ``InvalidParams``, ...; an unknown
code as :class:`~conduit.mcp.protocol.jsonrpc.MCPError`), keeping ``code``, ``message`` and
``data``: a proxy re-raises it and its own client sees the very same error.
"""

from __future__ import annotations

from typing import Any

from conduit.mcp.protocol.jsonrpc import (
    HEADER_MISMATCH, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, HeaderMismatch,
    InternalError, InvalidParams, InvalidRequest, MCPError, MethodNotFound, ParseError,
)

__all__ = ["ClientError", "TransportError", "AuthenticationError", "SessionExpired", "RequestTimeout",
           "InputRoundsExceeded", "error_from_wire"]


class ClientError(Exception):
    """Base of the client's own failures (not errors the server answered with)."""


class TransportError(ClientError):
    """The server could not be reached, answered something that is not MCP, or went away."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationError(TransportError):
    """HTTP 401 or 403; ``www_authenticate`` is the server's challenge (RFC 6750 §3)."""

    def __init__(self, message: str, status: int, www_authenticate: str | None) -> None:
        super().__init__(message, status)
        self.www_authenticate = www_authenticate


class SessionExpired(TransportError):
    """HTTP 404 for a known ``Mcp-Session-Id``: the server ended the session; reconnect."""


class RequestTimeout(ClientError):
    """The request got no answer in time; the client sent ``notifications/cancelled``."""


class InputRoundsExceeded(ClientError):
    """A 2026-07-28 ``input_required`` loop went on past ``max_input_rounds``."""


_BY_CODE: dict[int, type[MCPError]] = {
    PARSE_ERROR: ParseError, INVALID_REQUEST: InvalidRequest, METHOD_NOT_FOUND: MethodNotFound,
    INVALID_PARAMS: InvalidParams, INTERNAL_ERROR: InternalError, HEADER_MISMATCH: HeaderMismatch,
}


def error_from_wire(error: Any) -> MCPError:
    """The typed exception for a JSON-RPC ``error`` member (malformed ones become -32603)."""
    if not isinstance(error, dict):
        return InternalError(f"malformed JSON-RPC error from the server: {error!r}")
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        return InternalError(f"malformed JSON-RPC error code from the server: {code!r}", error.get("data"))
    message = error.get("message")
    cls = _BY_CODE.get(code, MCPError)
    return cls(message if isinstance(message, str) else str(message), error.get("data"), code=code)
