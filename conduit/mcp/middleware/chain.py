"""The middleware chain of one MCP server: composed once per method handler, not per request.

The dispatcher asks :meth:`MiddlewareChain.wrap` for the handler of each request; with no
middleware that is the handler itself, otherwise the composed chain, built on first use
and cached until the next :meth:`MiddlewareChain.add`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from conduit.mcp.auth import principal_identity

__all__ = ["MiddlewareChain", "Handler", "caller_key"]

Handler = Callable[[Any], Awaitable[Any]]


def caller_key(call: Any) -> str:
    """Who is calling, for caches and rate limits: the gate's owner, the token, the session, else anyone.

    Worked out once per request and kept on the call: every middleware asks.
    """
    key = call.caller
    if key is not None:
        return key
    owner = call.connection.owner
    if owner is not None:
        key = owner
    elif call.principal is not None:
        key = "principal:" + principal_identity(call.principal)
    else:
        session = call.connection.session_id
        key = "session:" + session if session is not None else "anonymous"
    call.caller = key
    return key


class MiddlewareChain:
    """The middleware of one server, outermost first, and the handlers composed with them."""

    def __init__(self) -> None:
        self.middleware: list[Callable[[Handler], Handler]] = []
        self._composed: dict[Handler, Handler] = {}

    def __len__(self) -> int:
        return len(self.middleware)

    def add(self, middleware: Any, args: tuple = (), options: dict[str, Any] | None = None) -> None:
        """Append a middleware (a class with its options, an instance, or a function), as the app does."""
        from conduit.app import resolve_middleware  # the app's own rule for what a middleware may be

        self.middleware.append(resolve_middleware(middleware, args, options))
        self._composed.clear()

    def wrap(self, handler: Handler) -> Handler:
        """``handler`` inside every middleware (itself when there is none)."""
        if not self.middleware:
            return handler
        composed = self._composed.get(handler)
        if composed is None:
            composed = handler
            for middleware in reversed(self.middleware):
                composed = middleware(composed)
            self._composed[handler] = composed
        return composed
