"""Behind a reverse proxy: ``X-Forwarded-For`` / ``-Proto`` / ``-Host``, trusted only from the proxy.

Anyone can send these headers, so they are honoured only when the connection comes
from an address in ``trusted`` (uvicorn's ``--forwarded-allow-ips``; default
``127.0.0.1``), and ignored otherwise. The client address is taken as uvicorn does:
walking ``X-Forwarded-For`` from the right (the hop nearest this server) and stopping at
the first address that is not a trusted proxy; the scheme from ``X-Forwarded-Proto``
(``http``/``https``/``ws``/``wss`` only), the host from ``X-Forwarded-Host`` (a valid
``host[:port]`` only). ``conduit run --proxy-headers --forwarded-allow-ips IPS`` installs
it outermost, so every other middleware (access log, rate limits) sees the real client.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ..http.datastructures import Headers
from ..http.request import Request
from .base import Handler

_SCHEMES = frozenset({"http", "https", "ws", "wss"})
# RFC 9110 §7.2 Host: reg-name / IPv4 / [IPv6], optional port; nothing else passes.
_HOST = re.compile(r"(?:[A-Za-z0-9.\-_~!$&'()*+,;=%]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class ProxyHeaders:
    """Middleware: take the client, scheme and host from a trusted proxy's forwarding headers.

    ``trusted``: ``"*"`` (every peer: only when nothing else can reach the server), or
    addresses and networks, as a list or a comma-separated string (``"10.0.0.1,10.1.0.0/16"``).
    """

    def __init__(self, trusted: str | list[str] = "127.0.0.1") -> None:
        items = [t.strip() for t in (trusted.split(",") if isinstance(trusted, str) else trusted) if t.strip()]
        self.trust_all = "*" in items
        self.networks = []
        for item in items:
            if item == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"--forwarded-allow-ips: {item!r} is not an IP address or network") from None

    def is_trusted(self, host: str) -> bool:
        if self.trust_all:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client_of(self, forwarded_for: list[str]) -> str | None:
        """The first address from the right that is not a trusted proxy (all trusted: the leftmost)."""
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else None

    def apply(self, request: Request) -> None:
        """Rewrite ``request`` from its forwarding headers when its peer is a trusted proxy."""
        peer = request.client[0] if request.client else None
        if peer is None or not self.is_trusted(peer):
            return
        headers = request.headers
        forwarded_for = headers.getlist("x-forwarded-for")
        if forwarded_for:
            client = self.client_of(forwarded_for)
            if client is not None:
                request.client = (client, 0)
        proto = headers.get("x-forwarded-proto")
        if proto is not None:
            proto = proto.split(",")[-1].strip().lower()
            if proto in _SCHEMES:
                request.scheme = proto
        host = headers.get("x-forwarded-host")
        if host is not None:
            host = host.split(",")[-1].strip()
            if _HOST.fullmatch(host):
                request.headers = _with_host(headers, host)

    def __call__(self, handler: Handler) -> Handler:
        async def proxied(request: Request) -> Any:
            self.apply(request)
            return await handler(request)
        return proxied


def _with_host(headers: Headers, host: str) -> Headers:
    pairs = [(name, value) for name, value in headers.raw if name.lower() != b"host"]
    return Headers([(b"host", host.encode("latin-1")), *pairs])


def install_proxy_headers(app: Any, trusted: str | list[str]) -> ProxyHeaders:
    """Put :class:`ProxyHeaders` outermost on ``app`` (``conduit run --proxy-headers``)."""
    middleware = ProxyHeaders(trusted)
    app.add_middleware(middleware)
    app.middleware.insert(0, app.middleware.pop())  # outermost: every other middleware sees the real client
    return middleware


__all__ = ["ProxyHeaders", "install_proxy_headers"]
