"""The two MCP protocol eras and how a request is told apart.

* Handshake era (2025-11-25 and the versions it negotiates down to): ``initialize``
  fixes version and capabilities for the connection; HTTP carries ``Mcp-Session-Id``.
* Modern era (2026-07-28, SEP-2575): no handshake; every request carries
  ``params._meta`` with ``io.modelcontextprotocol/protocolVersion`` and
  ``io.modelcontextprotocol/clientCapabilities``; on HTTP the ``MCP-Protocol-Version``,
  ``Mcp-Method`` and ``Mcp-Name`` headers repeat what the body says.

The envelope is checked in this order, first failure wins: ``_meta`` shape (-32602),
header agreement (-32020), supported version (-32022) — a client that contradicts
itself is told so before it is told its version is unsupported.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from conduit.mcp.protocol.jsonrpc import HeaderMismatch, InvalidParams, UnsupportedVersion

__all__ = [
    "HANDSHAKE_VERSIONS", "MODERN_VERSIONS", "SUPPORTED_VERSIONS", "LATEST_HANDSHAKE", "LATEST_MODERN",
    "META_PROTOCOL_VERSION", "META_CLIENT_CAPABILITIES", "META_CLIENT_INFO", "META_LOG_LEVEL",
    "META_SERVER_INFO", "META_SUBSCRIPTION_ID", "MODERN_ONLY_METHODS", "NAME_PARAM",
    "is_modern_request", "check_modern_envelope", "decode_header_value", "LOG_LEVELS",
]

# RFC 5424 severities, as MCP names them (logging/setLevel).
LOG_LEVELS = {"debug": 0, "info": 1, "notice": 2, "warning": 3, "error": 4, "critical": 5, "alert": 6,
              "emergency": 7}

# Newest first: initialize offers HANDSHAKE_VERSIONS[0] when the client asks for one we lack.
HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
MODERN_VERSIONS = ("2026-07-28",)
SUPPORTED_VERSIONS = MODERN_VERSIONS + HANDSHAKE_VERSIONS
LATEST_HANDSHAKE = HANDSHAKE_VERSIONS[0]
LATEST_MODERN = MODERN_VERSIONS[0]

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"

MODERN_ONLY_METHODS = frozenset({"server/discover", "subscriptions/listen"})
# Method -> the param mirrored in the Mcp-Name header (2026-07-28 transports).
NAME_PARAM = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri",
              # SEP-2663 "Routing Headers": the tasks methods name their task.
              "tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId"}

_B64_WRAPPED = re.compile(r"^=\?base64\?(.*)\?=$")


def is_modern_request(method: str, params: dict[str, Any], headers: Any) -> bool:
    """True when a request on a not-yet-initialized connection is a 2026-07-28 request."""
    if method in MODERN_ONLY_METHODS:
        return True
    meta = params.get("_meta")
    if isinstance(meta, dict) and (META_PROTOCOL_VERSION in meta or META_CLIENT_CAPABILITIES in meta):
        return True
    if headers is not None:
        version = headers.get("mcp-protocol-version")
        if version is not None and version.strip() not in HANDSHAKE_VERSIONS and method != "initialize":
            return True
    return False


def decode_header_value(value: str | None, header: str = "Mcp-Name") -> str | None:
    """Header values are literal unless wrapped as ``=?base64?...?=`` (strict base64; SEP-2243)."""
    if value is None:
        return None
    value = value.strip()
    m = _B64_WRAPPED.match(value)
    if m is None:
        return value
    try:
        return base64.b64decode(m.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HeaderMismatch(f"{header} header has an invalid base64 value") from None


def check_modern_envelope(method: str, params: dict[str, Any], headers: Any) -> None:
    """Validate the per-request envelope; raise the matching MCPError."""
    meta = params.get("_meta")
    if not isinstance(meta, dict):
        raise InvalidParams("params._meta is required and must carry "
                            f"{META_PROTOCOL_VERSION!r} and {META_CLIENT_CAPABILITIES!r}")
    missing = [k for k in (META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES) if k not in meta]
    if missing:
        raise InvalidParams(f"params._meta is missing {', '.join(missing)}")
    if not isinstance(meta[META_CLIENT_CAPABILITIES], dict):
        raise InvalidParams(f"{META_CLIENT_CAPABILITIES} must be an object")
    version = meta[META_PROTOCOL_VERSION]
    if headers is not None:
        header_version = headers.get("mcp-protocol-version")
        if header_version is None or header_version.strip() != version:
            raise HeaderMismatch("MCP-Protocol-Version header does not match params._meta protocolVersion")
        header_method = headers.get("mcp-method")
        if header_method is None or header_method.strip() != method:
            raise HeaderMismatch("Mcp-Method header does not match the request method")
        name_key = NAME_PARAM.get(method)
        if name_key is not None and params.get(name_key) is not None:
            if decode_header_value(headers.get("mcp-name")) != params.get(name_key):
                raise HeaderMismatch(f"Mcp-Name header does not match params.{name_key}")
    if not isinstance(version, str):
        raise InvalidParams(f"{META_PROTOCOL_VERSION} must be a string")
    if version not in MODERN_VERSIONS:
        raise UnsupportedVersion(version, list(SUPPORTED_VERSIONS))
