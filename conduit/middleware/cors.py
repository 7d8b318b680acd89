"""CORS (the Fetch standard's CORS protocol): preflights answered here, headers added to the rest.

A preflight is an ``OPTIONS`` request with ``Origin`` and
``Access-Control-Request-Method``; it never reaches the handler. An allowed one
gets 204 with the allow-* headers and ``Access-Control-Max-Age``; a refused one
gets 403 in the usual error shape and no CORS headers, so the browser blocks the
call. ``Vary`` names every request header the answer depended on, so shared
caches never hand one origin's answer to another.

Browsers apply no CORS to WebSockets, so a page on any origin can open one with the
user's cookies (cross-site WebSocket hijacking): a WebSocket handshake whose
``Origin`` is not allowed is refused here with 403 before it reaches the handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..exceptions import error_response
from ..http.request import Request
from ..http.response import Response
from .base import Handler, add_vary, respond

_SAFE_METHODS = frozenset({"GET", "HEAD", "POST"})
#: The CORS-safelisted request headers (Fetch standard §2.2.2): always allowed in a
#: preflight, as Starlette does, so a browser's JSON POST (``content-type``) works without
#: configuration. The Fetch standard also bounds their values; a preflight only names them.
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})
_PREFLIGHT_VARY = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")


class CORS:
    """Middleware: cross-origin resource sharing.

    Parameters
    ----------
    allow_origins:
        Exact origins (``"https://app.example.com"``) or ``["*"]`` for any.
    allow_origin_regex:
        A regex an origin must fully match (e.g. ``r"https://.*\\.example\\.com"``).
    allow_methods:
        Methods a preflight may ask for; ``["*"]`` for any.
    allow_headers:
        Request headers a preflight may ask for (case-insensitive); ``["*"]`` for any.
        The CORS-safelisted ones (Accept, Accept-Language, Content-Language,
        Content-Type) are always allowed.
    allow_credentials:
        Send ``Access-Control-Allow-Credentials: true``; the origin is then echoed,
        never ``*`` (the Fetch standard forbids ``*`` with credentials).
    expose_headers:
        Response headers scripts may read.
    max_age:
        Seconds a browser may cache a preflight answer (600).
    """

    def __init__(self, allow_origins: Iterable[str] = (), *, allow_origin_regex: str | None = None,
                 allow_methods: Iterable[str] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"),
                 allow_headers: Iterable[str] = (), allow_credentials: bool = False,
                 expose_headers: Iterable[str] = (), max_age: int = 600):
        origins = list(allow_origins)
        self.allow_any_origin = "*" in origins
        self.allow_origins = frozenset(o for o in origins if o != "*")
        self.origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        methods = [m.upper() for m in allow_methods]
        self.allow_any_method = "*" in methods
        self.allow_methods = frozenset(m for m in methods if m != "*")
        headers = [h.lower() for h in allow_headers]
        self.allow_any_header = "*" in headers
        self.allow_headers = frozenset(h for h in headers if h != "*") | SAFELISTED_HEADERS
        self.allow_credentials = allow_credentials
        self.expose_headers = ", ".join(expose_headers)
        self.max_age = int(max_age)
        # With one constant answer for every origin, no Vary: Origin is needed.
        self.constant_origin = self.allow_any_origin and not allow_credentials

    def is_allowed_origin(self, origin: str) -> bool:
        if self.allow_any_origin or origin in self.allow_origins:
            return True
        return self.origin_regex is not None and self.origin_regex.fullmatch(origin) is not None

    def _origin_value(self, origin: str) -> str:
        return "*" if self.constant_origin else origin

    def preflight(self, request: Request, origin: str) -> Response:
        method = request.headers.get("access-control-request-method", "").strip().upper()
        requested = [h.strip().lower() for h in
                     request.headers.get("access-control-request-headers", "").split(",") if h.strip()]
        problems = []
        if not self.is_allowed_origin(origin):
            problems.append("origin")
        if not (self.allow_any_method or method in self.allow_methods or method in _SAFE_METHODS):
            problems.append("method")
        if not self.allow_any_header and any(h not in self.allow_headers for h in requested):
            problems.append("headers")
        if problems:
            response = error_response(403, f"CORS preflight refused: {', '.join(problems)} not allowed")
            add_vary(response, *_PREFLIGHT_VARY)
            return response
        headers = [("access-control-allow-origin", self._origin_value(origin))]
        if self.allow_any_method:
            headers.append(("access-control-allow-methods", method))
        else:
            headers.append(("access-control-allow-methods", ", ".join(sorted(self.allow_methods))))
        if requested:
            # Echo what was asked for: "*" is not a wildcard when credentials are on.
            headers.append(("access-control-allow-headers", ", ".join(requested)))
        if self.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        headers.append(("access-control-max-age", str(self.max_age)))
        response = Response(b"", status_code=204, headers=headers)
        if not self.constant_origin:
            add_vary(response, *_PREFLIGHT_VARY)
        return response

    def __call__(self, handler: Handler) -> Handler:
        async def cors(request: Request) -> Response:
            origin = request.headers.get("origin")
            if origin is not None and request.method == "OPTIONS" \
                    and "access-control-request-method" in request.headers:
                return self.preflight(request, origin)
            if origin is not None and not self.is_allowed_origin(origin) \
                    and request.headers.get("upgrade", "").lower() == "websocket":
                return error_response(403, f"WebSocket handshake refused: origin {origin!r} not allowed")
            response = await respond(handler, request)
            if origin is not None and self.is_allowed_origin(origin):
                response.set_header("access-control-allow-origin", self._origin_value(origin))
                if self.allow_credentials:
                    response.set_header("access-control-allow-credentials", "true")
                if self.expose_headers:
                    response.set_header("access-control-expose-headers", self.expose_headers)
            if not self.constant_origin:
                add_vary(response, "Origin")
            return response
        return cors
