"""Built-in middleware: plain wrapping callables, ``Callable[[Handler], Handler]``.

Each one is a small class configured once; calling it with the next handler
returns a new handler (no ``call_next``, no contextvars). They are opt-in: add
them with ``app.add_middleware(...)`` (the first added is the outermost) or per
route with ``@app.get(path, middleware=[...])``. Nothing here does socket IO.

A sensible production order, outermost first::

    RequestID → AccessLog → (metrics) → TrustedHosts → SecurityHeaders → CORS
        → RateLimit → APIKeyAuth → GZip → handler

:func:`production_stack` adds that stack in one call.
"""

from __future__ import annotations

from typing import Any

from .base import add_vary, before_request, after_response, respond
from .access_log import AccessLog
from .auth import APIKeyAuth, load_api_keys
from .cors import CORS
from .gzip import GZip
from .proxy_headers import ProxyHeaders
from .rate_limit import MemoryBackend, RateLimit, RedisBackend, by_api_key, by_client_ip
from .request_id import RequestID
from .security_headers import SecurityHeaders
from .trusted_hosts import TrustedHosts


def production_stack(app: Any, *, trusted_hosts: list[str] | None = None,
                     cors: CORS | dict | None = None, security_headers: SecurityHeaders | dict | None = None,
                     rate_limit: RateLimit | dict | None = None, auth: APIKeyAuth | dict | None = None,
                     gzip: GZip | bool = True, access_log: bool = True, observability: bool = True) -> None:
    """Add the built-in production middleware to ``app`` in the recommended order.

    Each argument is a configured middleware, a dict of its options, or None/False to
    leave it out (``security_headers`` and ``gzip`` default to on; ``cors``,
    ``rate_limit`` and ``auth`` default to off because they need a policy).
    ``observability`` also registers ``/metrics``, ``/health`` and ``/ready``.
    """
    def build(cls, value):
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        return cls(**value) if isinstance(value, dict) else value

    app.add_middleware(RequestID())
    if access_log:
        app.add_middleware(AccessLog())
    if observability:
        from ..observability import install

        install(app)
    stack = [
        TrustedHosts(trusted_hosts) if trusted_hosts else None,
        build(SecurityHeaders, security_headers if security_headers is not None else True),
        build(CORS, cors),
        build(RateLimit, rate_limit),
        build(APIKeyAuth, auth),
        build(GZip, gzip),
    ]
    for middleware in stack:
        if middleware is not None:
            app.add_middleware(middleware)


__all__ = [
    "APIKeyAuth",
    "AccessLog",
    "CORS",
    "GZip",
    "MemoryBackend",
    "RateLimit",
    "RedisBackend",
    "ProxyHeaders",
    "RequestID",
    "SecurityHeaders",
    "TrustedHosts",
    "add_vary",
    "after_response",
    "before_request",
    "by_api_key",
    "by_client_ip",
    "load_api_keys",
    "production_stack",
    "respond",
]
