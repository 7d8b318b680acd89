"""``RateLimit``: token buckets per caller and per tool; over the limit is error -32029 with retry advice.

Two kinds of bucket, both per caller (:func:`~conduit.mcp.middleware.chain.caller_key`):

* every request of a caller takes a token from its bucket: ``rate`` per ``period``
  seconds, ``burst`` at once (default ``rate``); ``rate=None`` turns it off;
* a ``tools/call`` also takes one from the caller's bucket for that tool: ``tools``
  maps a tool name to ``(rate, period)``; ``tool_rate`` is the default for the others.

A refused request is answered with JSON-RPC error **-32029** (``RATE_LIMITED``; HTTP
429 where the era maps errors to statuses) whose ``data`` says when to retry::

    {"code": -32029, "message": "Rate limit exceeded for tool search: retry in 1.2 s",
     "data": {"retryAfterMs": 1200, "scope": "tool", "tool": "search", "limit": 10, "periodSeconds": 1.0}}

The buckets are :mod:`conduit.middleware.rate_limit`'s backends: in memory by default, or a
``RedisBackend`` shared by every process.
"""

from __future__ import annotations

import math
from typing import Any

from conduit.mcp.middleware.chain import Handler, caller_key
from conduit.mcp.protocol.jsonrpc import RATE_LIMITED, MCPError
from conduit.middleware.rate_limit import MemoryBackend

__all__ = ["RateLimit", "RATE_LIMITED"]


def _bucket(where: str, rate: Any, period: Any) -> tuple[int, float]:
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise ValueError(f"RateLimit {where}: the rate must be a positive integer, not {rate!r}")
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not period > 0:
        raise ValueError(f"RateLimit {where}: the period must be a positive number of seconds, not {period!r}")
    return rate, float(period)


class RateLimit:
    """Middleware: ``rate`` requests per ``period`` seconds per caller, and per-tool limits beside."""

    def __init__(self, rate: int | None = 100, period: float = 60.0, *, burst: int | None = None,
                 tools: dict[str, tuple[int, float]] | None = None, tool_rate: tuple[int, float] | None = None,
                 backend: Any = None) -> None:
        self.caller_bucket = None if rate is None else _bucket("per caller", rate, period)
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
            raise ValueError(f"RateLimit: burst must be a positive integer, not {burst!r}")
        self.burst = burst
        self.tools = {name: _bucket(f"for tool {name!r}", *_pair(name, limit)) for name, limit in (tools or {}).items()}
        self.tool_rate = None if tool_rate is None else _bucket("tool_rate", *_pair("tool_rate", tool_rate))
        self.backend = backend if backend is not None else MemoryBackend()
        self._local = isinstance(self.backend, MemoryBackend)

    def _refuse(self, decision: Any, limit: tuple[int, float], scope: str, tool: str | None) -> MCPError:
        rate, period = limit
        retry_ms = max(1, math.ceil(decision.retry_after * 1000))
        what = f"tool {tool}" if tool is not None else "this caller"
        data: dict[str, Any] = {"retryAfterMs": retry_ms, "scope": scope, "limit": rate, "periodSeconds": period}
        if tool is not None:
            data["tool"] = tool
        return MCPError(f"Rate limit exceeded for {what}: retry in {retry_ms / 1000:.1f} s", data, code=RATE_LIMITED)

    def _buckets(self, call: Any) -> list[tuple[str, tuple[int, float], int, str, str | None]]:
        """The buckets a request takes a token from: ``(key, (rate, period), capacity, scope, tool)``."""
        who = caller_key(call)
        wanted = []
        if self.caller_bucket is not None:
            wanted.append(("mcp:" + who, self.caller_bucket, self.burst or self.caller_bucket[0], "caller", None))
        if call.method == "tools/call":
            name = call.params.get("name")
            limit = self.tools.get(name, self.tool_rate) if isinstance(name, str) else None
            if limit is not None:
                wanted.append((f"mcp-tool:{name}:{who}", limit, limit[0], "tool", name))
        return wanted

    def __call__(self, next_handler: Handler) -> Handler:
        backend = self.backend
        if self._local:  # an in-process bucket needs no await: no coroutine per bucket per request
            take = backend.take

            async def handler(call: Any) -> Any:
                for key, limit, capacity, scope, tool in self._buckets(call):
                    decision = take(key, capacity, limit[0] / limit[1])
                    if not decision.allowed:
                        raise self._refuse(decision, limit, scope, tool)
                return await next_handler(call)
            return handler

        async def shared(call: Any) -> Any:
            for key, limit, capacity, scope, tool in self._buckets(call):
                decision = await backend.acquire(key, capacity, limit[0] / limit[1])
                if not decision.allowed:
                    raise self._refuse(decision, limit, scope, tool)
            return await next_handler(call)
        return shared


def _pair(where: str, limit: Any) -> tuple[Any, Any]:
    if not isinstance(limit, (tuple, list)) or len(limit) != 2:
        raise ValueError(f"RateLimit {where}: give a limit as (rate, period_seconds), not {limit!r}")
    return limit[0], limit[1]
