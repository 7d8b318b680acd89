"""Security response headers, set once per response unless the handler set its own.

Defaults: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
``Referrer-Policy: strict-origin-when-cross-origin``. HSTS (RFC 6797) and a
Content-Security-Policy are opt-in: HSTS only makes sense once every host name
is served over TLS, and a CSP has to match the pages the app serves.
"""

from __future__ import annotations

from ..http.request import Request
from ..http.response import Response
from .base import Handler, respond


class SecurityHeaders:
    """Middleware: add security headers.

    Parameters
    ----------
    hsts_max_age:
        Seconds for ``Strict-Transport-Security`` (e.g. 31536000); None (default) sends none.
    hsts_include_subdomains, hsts_preload:
        HSTS directives.
    content_security_policy:
        The ``Content-Security-Policy`` value; None sends none.
    frame_options:
        ``X-Frame-Options`` (``DENY``); None sends none.
    referrer_policy:
        ``Referrer-Policy`` (``strict-origin-when-cross-origin``); None sends none.
    nosniff:
        Send ``X-Content-Type-Options: nosniff``.
    extra:
        More ``(name, value)`` pairs (``Permissions-Policy``, ``Cross-Origin-Opener-Policy``...).
    """

    def __init__(self, *, hsts_max_age: int | None = None, hsts_include_subdomains: bool = True,
                 hsts_preload: bool = False, content_security_policy: str | None = None,
                 frame_options: str | None = "DENY",
                 referrer_policy: str | None = "strict-origin-when-cross-origin",
                 nosniff: bool = True, extra: dict[str, str] | None = None):
        headers: list[tuple[str, str]] = []
        if nosniff:
            headers.append(("x-content-type-options", "nosniff"))
        if frame_options:
            headers.append(("x-frame-options", frame_options))
        if referrer_policy:
            headers.append(("referrer-policy", referrer_policy))
        if hsts_max_age is not None:
            value = f"max-age={int(hsts_max_age)}"
            if hsts_include_subdomains:
                value += "; includeSubDomains"
            if hsts_preload:
                value += "; preload"
            headers.append(("strict-transport-security", value))
        if content_security_policy:
            headers.append(("content-security-policy", content_security_policy))
        headers += [(k.lower(), v) for k, v in (extra or {}).items()]
        self.headers = headers

    def __call__(self, handler: Handler) -> Handler:
        defaults = self.headers

        async def security_headers(request: Request) -> Response:
            response = await respond(handler, request)
            present = {k.lower() for k, _ in response.headers}
            response.headers.extend(item for item in defaults if item[0] not in present)
            return response
        return security_headers
