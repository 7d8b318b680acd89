"""Trusted hosts: refuse requests whose ``Host`` is not one of ours (DNS-rebinding, cache poisoning)."""

from __future__ import annotations

from collections.abc import Iterable

from ..exceptions import error_response
from ..http.request import Request
from ..http.response import Response
from .base import Handler


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # IPv6 literal, RFC 3986 §3.2.2
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class TrustedHosts:
    """Middleware: 400 unless ``Host`` (port ignored) matches an allowed name.

    ``allowed_hosts`` holds exact names, ``*.example.com`` (any subdomain, not the
    apex) or ``*`` (anything).
    """

    def __init__(self, allowed_hosts: Iterable[str]):
        hosts = [h.lower() for h in allowed_hosts]
        if not hosts:
            raise ValueError("TrustedHosts needs at least one allowed host")
        self.allow_any = "*" in hosts
        self.exact = frozenset(h for h in hosts if not h.startswith("*"))
        self.suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))

    def is_allowed(self, host: str | None) -> bool:
        if self.allow_any:
            return True
        if not host:
            return False
        name = _host_name(host)
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))

    def __call__(self, handler: Handler) -> Handler:
        async def trusted_hosts(request: Request) -> Response:
            if not self.is_allowed(request.headers.get("host")):
                return error_response(400, "invalid Host header")
            return await handler(request)
        return trusted_hosts
