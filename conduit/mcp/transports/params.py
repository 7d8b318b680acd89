"""``Mcp-Param-*`` headers: tool arguments mirrored into HTTP headers (SEP-2243, 2026-07-28).

A tool's input schema may mark a top-level property with ``"x-mcp-header": "Region"``;
a client then repeats that argument as ``Mcp-Param-Region`` on Streamable HTTP so a
gateway can route on it without reading the body. The server, which does read the body,
must check that both agree: a missing, undecodable or different header is -32020
(HeaderMismatch, HTTP 400). Values are literal unless wrapped ``=?base64?…?=`` (strict
base64: wrong padding or a character outside the alphabet is a mismatch, not a literal);
numbers compare as numbers, booleans as ``true``/``false``; a null argument sends no header.

Annotations are checked once, at registration (:func:`header_params`): a name must be a
non-empty HTTP token, unique (case-insensitively) within the tool, on a property whose
type is a primitive — otherwise registration fails naming the tool and the property.
"""

from __future__ import annotations

import math
import re
from typing import Any

from conduit.mcp.protocol.eras import decode_header_value
from conduit.mcp.protocol.jsonrpc import HeaderMismatch

__all__ = ["PARAM_HEADER_PREFIX", "header_params", "check_param_headers"]

PARAM_HEADER_PREFIX = "mcp-param-"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 §5.6.2 token
_PRIMITIVE = ("string", "number", "integer", "boolean")


def header_params(tool_name: str, input_schema: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{argument: (lower-case header name, JSON type)}`` for the x-mcp-header properties."""
    properties = input_schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    out: dict[str, tuple[str, str]] = {}
    seen: dict[str, str] = {}
    for prop, schema in properties.items():
        if not isinstance(schema, dict) or "x-mcp-header" not in schema:
            continue
        name = schema["x-mcp-header"]
        where = f"tool {tool_name!r}, property {prop!r}"
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: x-mcp-header must be a non-empty string")
        if not _TOKEN.match(name):
            raise ValueError(f"{where}: x-mcp-header {name!r} is not a valid HTTP header name token")
        kind = schema.get("type")
        if kind not in _PRIMITIVE:
            raise ValueError(f"{where}: x-mcp-header needs a property of type string, number, integer or boolean")
        lower = name.lower()
        if lower in seen:
            raise ValueError(f"{where}: x-mcp-header {name!r} repeats the one on property {seen[lower]!r}")
        seen[lower] = prop
        out[prop] = (PARAM_HEADER_PREFIX + lower, kind)
    return out


def _agrees(text: str, value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if kind in ("number", "integer") and isinstance(value, (int, float)):
        try:
            number = float(text)
        except ValueError:
            return False
        return math.isfinite(number) and abs(number - float(value)) <= 1e-9
    return isinstance(value, str) and text == value


def check_param_headers(params_spec: dict[str, tuple[str, str]], arguments: Any, headers: Any) -> None:
    """Raise :class:`HeaderMismatch` unless every annotated argument agrees with its header."""
    args = arguments if isinstance(arguments, dict) else {}
    for prop, (header, kind) in params_spec.items():
        value = args.get(prop)
        raw = headers.get(header)
        display = "Mcp-Param-" + header[len(PARAM_HEADER_PREFIX):]
        if value is None:
            if raw is not None:
                raise HeaderMismatch(f"{display} header is present but arguments.{prop} is not")
            continue
        if raw is None:
            raise HeaderMismatch(f"{display} header is required: arguments.{prop} is set")
        if not _agrees(decode_header_value(raw, display) or "", value, kind):
            raise HeaderMismatch(f"{display} header does not match arguments.{prop}")
