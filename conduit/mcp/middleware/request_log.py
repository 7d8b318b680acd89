"""``RequestLog``: one structured log record per MCP request.

The message reads ``mcp tools/call weather ok 1.42 ms``; the record also carries the
fields as attributes, for a JSON formatter or a log pipeline: ``mcp_method``,
``mcp_target`` (tool or prompt name, resource URI), ``mcp_caller`` (the gate's identity,
never a token), ``mcp_session``, ``mcp_outcome`` (``ok``, ``tool_error``, ``error``,
``cancelled``, ``exception``), ``mcp_error_code`` and ``mcp_duration_ms``. Nothing is
formatted when the logger would drop the record.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import trio

from conduit.mcp.middleware.chain import Handler, caller_key
from conduit.mcp.protocol.jsonrpc import MCPError

__all__ = ["RequestLog"]


class RequestLog:
    """Middleware: log each request's method, target, caller, session, outcome and duration."""

    def __init__(self, logger: str | logging.Logger = "conduit.mcp.requests", level: int = logging.INFO) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level

    def __call__(self, next_handler: Handler) -> Handler:
        logger, level = self.logger, self.level

        async def handler(call: Any) -> Any:
            if not logger.isEnabledFor(level):
                return await next_handler(call)
            start = time.perf_counter()
            outcome, code = "exception", None
            try:
                result = await next_handler(call)
                outcome = "cancelled" if result is None else "tool_error" if result.get("isError") else "ok"
                return result
            except MCPError as exc:
                outcome, code = "error", exc.code
                raise
            except trio.Cancelled:
                outcome = "cancelled"
                raise
            finally:
                ms = (time.perf_counter() - start) * 1000
                params = call.params
                target = params.get("name", params.get("uri"))
                target = target if isinstance(target, str) else None
                # makeRecord + handle, not logger.log: the caller's file and line would cost a
                # stack walk per request and say nothing (it is always this line). The fields
                # go straight into the record: makeRecord's extra= checks each name first.
                record = logger.makeRecord(logger.name, level, __file__, 0, "mcp %s %s %s %.2f ms",
                                           (call.method, target or "-", outcome, ms), None)
                record.__dict__.update(mcp_method=call.method, mcp_target=target, mcp_caller=caller_key(call),
                                       mcp_session=call.connection.session_id, mcp_outcome=outcome,
                                       mcp_error_code=code, mcp_duration_ms=ms)
                logger.handle(record)

        return handler
