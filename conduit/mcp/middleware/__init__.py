"""MCP middleware: wrapping callables around each request, the shape of the app's middleware.

A middleware is ``middleware(next_handler) -> handler``; ``await handler(request)``
returns the request's result dict or raises :class:`~conduit.mcp.MCPError`. ``request``
is the :class:`~conduit.mcp.protocol.call.Call` in flight: ``method``, ``params``,
``principal`` (the verified token, if any), ``session`` (the session id, None for
stdio and stateless requests), ``owner`` (who the gate says is calling) and ``server``.
Add them with ``mcp.add_middleware(...)``; the first added is the outermost. They wrap
every request after the protocol's own checks (``initialize`` excepted), in both eras
and on every transport.

Built in: :class:`ResponseCache` (read-only tools and resources, TTL, keyed by
arguments and caller), :class:`RateLimit` (per caller and per tool, error -32029 with
``retryAfterMs``) and :class:`RequestLog` (one structured log record per request).
"""

from conduit.mcp.middleware.cache import ResponseCache
from conduit.mcp.middleware.chain import MiddlewareChain, caller_key
from conduit.mcp.middleware.request_log import RequestLog
from conduit.mcp.middleware.rate_limit import RATE_LIMITED, RateLimit

__all__ = ["MiddlewareChain", "ResponseCache", "RateLimit", "RequestLog", "RATE_LIMITED", "caller_key"]
