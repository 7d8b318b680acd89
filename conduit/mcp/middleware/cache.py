"""``ResponseCache``: answers repeated reads from memory, for a while, per caller.

Cached: ``tools/call`` of tools declared read-only (``@mcp.tool(read_only=True)``, the
``readOnlyHint`` annotation) and ``resources/read``. The key is the method, the tool name
or URI, the arguments (canonical JSON: key order does not matter) and the caller
(:func:`~conduit.mcp.middleware.chain.caller_key`), so one caller never sees another's
answer. Not cached: tool errors (``isError``), calls that run as tasks or carry
multi-round-trip input (``task``, ``inputResponses``, ``requestState``). A hit still
checks the tool's scopes against the caller's token and still needs the tool to exist.
Entries live ``ttl_seconds``; at most ``max_entries`` are kept (least recently used out),
and an answer whose text and blobs exceed ``max_entry_bytes`` is not kept at all, so the
cache holds at most about ``max_entries * max_entry_bytes`` (64 MiB by default). The
arguments are kept as a digest, whatever their size.
"""

from __future__ import annotations

import collections
import hashlib
import time
from typing import Any

from conduit.mcp.auth import check_scopes
from conduit.mcp.middleware.chain import Handler, caller_key
from conduit._json import dumps

__all__ = ["ResponseCache"]


class ResponseCache:
    """Middleware: remember read-only answers for ``ttl_seconds``, keyed by arguments and caller."""

    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 1024, max_entry_bytes: int = 65536) -> None:
        if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, (int, float)) or not ttl_seconds > 0:
            raise ValueError(f"ResponseCache: ttl_seconds must be a positive number, not {ttl_seconds!r}")
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"ResponseCache: max_entries must be a positive integer, not {max_entries!r}")
        if isinstance(max_entry_bytes, bool) or not isinstance(max_entry_bytes, int) or max_entry_bytes < 1:
            raise ValueError(f"ResponseCache: max_entry_bytes must be a positive integer, not {max_entry_bytes!r}")
        self.ttl_seconds = float(ttl_seconds)
        self.max_entries = max_entries
        self.max_entry_bytes = max_entry_bytes
        self.hits = 0
        self.misses = 0
        self._entries: collections.OrderedDict[tuple, tuple[float, dict[str, Any]]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def _key(self, call: Any) -> tuple | None:
        params = call.params
        if "task" in params or "inputResponses" in params or "requestState" in params:  # tasks, multi-round input
            return None
        if call.method == "tools/call":
            name = params.get("name")
            tool = call.server.tools.get(name) if isinstance(name, str) else None
            if tool is None or (tool.wire.get("annotations") or {}).get("readOnlyHint") is not True:
                return None
            check_scopes(call.principal, tool.scopes, f"tool {name}")  # a hit never skips the scope rule
            target = name
        elif call.method == "resources/read":
            target = params.get("uri")
            if not isinstance(target, str):
                return None
        else:
            return None
        try:
            arguments = dumps(params.get("arguments"), sort_keys=True) if call.method == "tools/call" else b""
        except (TypeError, ValueError):
            return None
        return call.method, target, hashlib.blake2b(arguments, digest_size=16).digest(), caller_key(call)

    def _small_enough(self, result: dict[str, Any]) -> bool:
        """Whether an answer's text and blobs fit ``max_entry_bytes`` (counted without encoding it)."""
        size = 0
        for item in result.get("content") or result.get("contents") or ():
            if isinstance(item, dict):
                size += len(item.get("text") or "") + len(item.get("blob") or "")
                resource = item.get("resource")
                if isinstance(resource, dict):
                    size += len(resource.get("text") or "") + len(resource.get("blob") or "")
        return size <= self.max_entry_bytes

    def __call__(self, next_handler: Handler) -> Handler:
        entries = self._entries

        async def handler(call: Any) -> Any:
            key = self._key(call)
            if key is None:
                return await next_handler(call)
            now = time.monotonic()
            entry = entries.get(key)
            if entry is not None and entry[0] > now:
                entries.move_to_end(key)
                self.hits += 1
                return dict(entry[1])  # the dispatcher adds era fields to the dict it gets: never ours
            self.misses += 1
            result = await next_handler(call)
            if isinstance(result, dict) and not result.get("isError") and "task" not in result \
                    and self._small_enough(result):
                entries[key] = (now + self.ttl_seconds, dict(result))
                entries.move_to_end(key)
                while len(entries) > self.max_entries:
                    entries.popitem(last=False)
            return result

        return handler
