"""The request id an error response carries: one lookup for the app and the middleware.

The request-id middleware (:class:`conduit.middleware.RequestID`) stores the id it
chose on the request's state; without it, the client's own ``X-Request-ID`` header is
echoed. The app's error mapping and the rate limiter's 429 both read it here.
"""

from __future__ import annotations

from .request import Request


def request_id_of(request: Request) -> str | None:
    """The request id set by the request-id middleware, else the client's header."""
    state = request.state_if_set
    if state is not None and getattr(state, "request_id", None):
        return state.request_id
    return request.headers.get("x-request-id")


__all__ = ["request_id_of"]
