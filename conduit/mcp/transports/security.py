"""HTTP-level protection for MCP endpoints: DNS rebinding (Host/Origin) and bearer auth.

DNS rebinding (MCP "Security Warning", GHSA-w48q-cv73-mx4w): a browser page on
evil.example can resolve its own name to 127.0.0.1 and talk to a local server. The
Host header then names evil.example (answered 421 Misdirected Request) and a browser
adds an Origin naming it (answered 403). Allowed hosts default to the loopback names on
any port; behind a proxy add the public name(s) with ``allowed_hosts``, or ``["*"]`` to
turn the Host check off. Bearer auth answers 401 with ``WWW-Authenticate`` (RFC 6750).
"""

from __future__ import annotations

import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HostPolicy", "BearerAuth", "LOOPBACK_HOSTS"]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
log = logging.getLogger("conduit.mcp.transports.security")


def _split_host(value: str) -> tuple[str, str | None]:
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[:end + 1], value[end + 1:]
        return host, rest[1:] if rest.startswith(":") else None
    host, _, port = value.partition(":")
    return host, port or None


class HostPolicy:
    """Decides whether a request's Host and Origin headers are acceptable."""

    def __init__(self, allowed_hosts: Iterable[str] | None = None,
                 allowed_origins: Iterable[str] | None = None) -> None:
        hosts = list(LOOPBACK_HOSTS) + list(allowed_hosts or [])
        self.any_host = "*" in hosts
        # "name" allows any port; "name:port" only that port.
        self.hosts = {_split_host(h) for h in hosts if h != "*"}
        self.origins = {o.rstrip("/").lower() for o in (allowed_origins or [])}
        self.any_origin = "*" in self.origins
        self._verdicts: dict[tuple[str | None, str | None], tuple[int, str] | None] = {}

    def _host_ok(self, value: str) -> bool:
        host, port = _split_host(value)
        return (host, None) in self.hosts or (host, port) in self.hosts

    def _origin_ok(self, origin: str) -> bool:
        origin = origin.rstrip("/").lower()
        if self.any_origin or origin in self.origins:
            return True
        netloc = urlsplit(origin).netloc
        if netloc and self._host_ok(netloc):
            return True
        return self.any_host and not self.origins

    def check(self, headers: Any) -> tuple[int, str] | None:
        """Return (status, reason) to refuse, or None to accept (memoised per Host/Origin pair)."""
        key = (headers.get("host"), headers.get("origin"))
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        verdict = self._check(headers)
        if len(self._verdicts) >= 256:  # bounded: hostile clients may vary the headers
            self._verdicts.clear()
        self._verdicts[key] = verdict
        return verdict

    def _check(self, headers: Any) -> tuple[int, str] | None:
        if not self.any_host:
            host = headers.get("host")
            if host is None or not self._host_ok(host):
                return 421, "Host header not allowed (DNS rebinding protection)"
        origin = headers.get("origin")
        if origin is not None and not self._origin_ok(origin):
            return 403, "Origin not allowed (DNS rebinding protection)"
        return None


class BearerAuth:
    """Checks ``Authorization: Bearer <token>`` against a token or a verifier function."""

    def __init__(self, token_or_verifier: str | Callable[[str], bool | Awaitable[bool]], *,
                 realm: str = "mcp", resource_metadata: str | None = None) -> None:
        self._verify = token_or_verifier
        challenge = f'Bearer realm="{realm}"'
        if resource_metadata:
            challenge += f', resource_metadata="{resource_metadata}"'
        self.challenge = challenge

    async def check(self, headers: Any) -> tuple[int, str, str] | None:
        """Return (status, message, WWW-Authenticate) to refuse, or None to accept."""
        value = headers.get("authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, "Missing bearer token", self.challenge
        token = token.strip()
        if isinstance(self._verify, str):
            ok = hmac.compare_digest(token.encode(), self._verify.encode())
        else:
            try:
                result = self._verify(token)
                ok = bool(await result) if inspect.isawaitable(result) else bool(result)
            except Exception:  # a verifier's failure refuses the token; it is never a 500
                log.exception("MCP bearer token verifier %r failed", self._verify)
                ok = False
        if not ok:
            return 401, "Invalid bearer token", self.challenge + ', error="invalid_token"'
        return None
