"""Integrity-protected ``requestState`` for 2026-07-28 multi-round-trip requests.

A server that answers ``resultType: "input_required"`` hands the client an opaque
``requestState`` which the client echoes on its retry. The server keeps nothing in
between (stateless, horizontally scalable), so the token must carry what the next
round needs and must not be forgeable: it is ``base64url(payload).base64url(HMAC-SHA256)``
where the payload binds the method, the target name and a digest of the arguments, and
carries an expiry. Servers behind a load balancer share the secret
(``MCPServer(state_secret=...)``); the default is a random per-process key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from typing import Any

from conduit._json import dumps, loads_body

__all__ = ["RequestStateError", "StateSigner", "binding_digest"]


class RequestStateError(ValueError):
    """The requestState is malformed, forged, expired or bound to another request."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def binding_digest(method: str, target: str | None, arguments: Any) -> str:
    """A short digest that ties a state token to one request (method, name or URI, arguments)."""
    raw = dumps([method, target, arguments], sort_keys=True)  # arguments may hold exact big ints
    return _b64e(hashlib.sha256(raw).digest()[:16])


class StateSigner:
    def __init__(self, secret: bytes | str | None = None, ttl_seconds: float = 600.0) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        self.explicit = bool(secret)  # given by the user: never replaced by a shared one
        self._key = secret or os.urandom(32)
        self.ttl_seconds = ttl_seconds

    def use_shared_key(self, key: bytes) -> None:
        """Adopt the key every process behind one session store signs with (random default only)."""
        if not self.explicit:
            self._key = key

    def sign(self, binding: str, payload: dict[str, Any]) -> str:
        body = dumps({"b": binding, "x": int(time.time() + self.ttl_seconds), "p": payload})
        mac = hmac.new(self._key, body, hashlib.sha256).digest()
        return _b64e(body) + "." + _b64e(mac)

    def verify(self, token: Any, binding: str) -> dict[str, Any]:
        if not isinstance(token, str) or token.count(".") != 1:
            raise RequestStateError("requestState is malformed")
        body_text, mac_text = token.split(".")
        try:
            body, mac = _b64d(body_text), _b64d(mac_text)
        except (ValueError, TypeError):
            raise RequestStateError("requestState is malformed") from None
        expected = hmac.new(self._key, body, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise RequestStateError("requestState failed its integrity check")
        data = loads_body(body)
        if data.get("b") != binding:
            raise RequestStateError("requestState belongs to a different request")
        if data.get("x", 0) < time.time():
            raise RequestStateError("requestState has expired")
        payload = data.get("p")
        return payload if isinstance(payload, dict) else {}
