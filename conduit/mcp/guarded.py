"""Run an MCP task that nothing awaits, logging its failure instead of losing the server.

A request handled on its own trio system task (Streamable HTTP and the legacy SSE
transport answer on a channel, not on the task's return), and a server's background
tasks, have no caller to raise into: an exception there would crash the whole trio
run. :func:`guarded` is the one wrapper both transports and the server use.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("conduit.mcp")


async def guarded(fn: Callable[[], Awaitable[object]], what: str = "request task") -> None:
    """Await ``fn()``; an exception is logged with its traceback as ``MCP {what} failed``."""
    try:
        await fn()
    except Exception:  # never let one task crash the trio run (system task)
        log.exception("MCP %s failed", what)


__all__ = ["guarded"]
