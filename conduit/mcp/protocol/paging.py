"""Cursor pagination of MCP list results (tools, resources, prompts, tasks).

The cursor is opaque to clients (MCP pagination spec): here ``base64url("c:<offset>")``.
A cursor this server did not hand out is -32602. One function for every ``*/list``
method, the handlers' and the task runner's alike.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from conduit.mcp.protocol.jsonrpc import InvalidParams

if TYPE_CHECKING:
    from conduit.mcp.protocol.call import Call


def page(call: Call, items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Slice ``items`` at the opaque cursor; an unknown cursor is -32602 (pagination spec)."""
    size = call.server.page_size
    cursor = call.params.get("cursor")
    start = 0
    if cursor is not None:
        try:
            raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)).decode()
            prefix, _, offset = raw.partition(":")
            if prefix != "c" or not offset.isdigit():
                raise ValueError
            start = int(offset)
        except (ValueError, AttributeError, UnicodeError):
            raise InvalidParams("Invalid cursor") from None
    result: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        result["nextCursor"] = base64.urlsafe_b64encode(f"c:{start + size}".encode()).decode().rstrip("=")
    return result


__all__ = ["page"]
