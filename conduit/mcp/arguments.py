"""Tool arguments that fail validation, as JSON-RPC -32602 with the shared error entries.

HTTP answers a body that fails validation with 422 and ``detail`` a list of
``{"loc", "msg", "type"}`` entries; MCP answers the same failure of ``tools/call``
arguments with -32602 "Invalid params" and the same entries as ``data``. Each ``loc``
starts with ``"arguments"`` (the member of the request's ``params`` that failed), as an
HTTP entry starts with ``"body"`` or ``"query"``: ``["arguments", "k"]``,
``["arguments", "items", 3, "price"]``.

The binder may raise an exception with an ``errors`` attribute (a list of entries, loc
relative to the arguments) or one with a dotted ``path`` and a message
(``"items[3].price: expected a number"``); both come out as entries here.
"""

from __future__ import annotations

from typing import Any

from conduit.mcp.protocol.jsonrpc import InvalidParams
from conduit.types import as_loc

__all__ = ["argument_entries", "invalid_arguments"]

def _loc(path: Any) -> list[Any]:
    """``"items[3].price"`` -> ``["arguments", "items", 3, "price"]``; a list is taken as is."""
    steps = as_loc(path)
    if steps[:1] != ["arguments"]:
        steps.insert(0, "arguments")
    return steps


def argument_entries(exc: Exception) -> list[dict[str, Any]]:
    """The ``{"loc", "msg", "type"}`` entries of a failed argument bind."""
    entries = getattr(exc, "errors", None)
    if isinstance(entries, list) and entries:
        return [{"loc": _loc(e.get("loc")), "msg": str(e.get("msg", "")),
                 "type": str(e.get("type", "value_error"))} for e in entries]
    path = getattr(exc, "path", "")
    message = str(exc)
    prefix = f"{path}: "
    if path and message.startswith(prefix):
        message = message[len(prefix):]
    return [{"loc": _loc(path), "msg": message, "type": getattr(exc, "type", None) or "value_error"}]


def invalid_arguments(tool_name: str, exc: Exception) -> InvalidParams:
    """-32602 naming the tool and the first failure, every entry in ``data``."""
    entries = argument_entries(exc)
    first = entries[0]
    where = ".".join(str(step) for step in first["loc"][1:]) or "arguments"
    return InvalidParams(f"Invalid arguments for tool {tool_name}: {where}: {first['msg']}", entries)
