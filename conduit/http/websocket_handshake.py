"""The opening handshake's request rules (RFC 6455 §4.2.1), checked before any WebSocket state exists.

A face that parses handshakes itself (the native server, and the ``TestClient``
that drives it) asks :func:`handshake_problem` first: a request that breaks a
rule gets a plain HTTP answer naming the rule and the connection closes, so a
malformed handshake never reaches wsproto (whose exceptions were once a
"connection handler crashed" traceback per request). Under an ASGI server the
server checks the handshake before the app sees a ``websocket`` scope.

Sans-IO: headers in, ``None`` or a :class:`HandshakeProblem` out.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from typing import NamedTuple

#: The only protocol version there is (RFC 6455 §4.1, step 9).
WEBSOCKET_VERSION = "13"


class HandshakeProblem(NamedTuple):
    """Why a handshake is refused: the HTTP status, a detail naming the rule, extra headers."""

    status: int
    detail: str
    headers: dict[str, str]


def _one(headers, name: str) -> str | None | HandshakeProblem:
    values = headers.getlist(name)
    if len(values) > 1:
        return HandshakeProblem(400, f"the handshake repeats {name}", {})
    return values[0].strip() if values else None


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",")}


def handshake_problem(method: str, http_version: str, headers) -> HandshakeProblem | None:
    """``None`` when the request is a well-formed opening handshake, else the refusal.

    ``headers`` is a :class:`~conduit.http.datastructures.Headers`. A version other
    than 13 is 426 with ``Sec-WebSocket-Version: 13`` (RFC 6455 §4.4); every other
    broken rule is 400.
    """
    if method != "GET":
        return HandshakeProblem(400, "a WebSocket handshake must be a GET request", {})
    if http_version != "1.1":
        return HandshakeProblem(400, f"a WebSocket handshake needs HTTP/1.1, not HTTP/{http_version}", {})
    found = {}
    for name in ("upgrade", "connection", "sec-websocket-key", "sec-websocket-version"):
        value = _one(headers, name) if name.startswith("sec-") else ",".join(headers.getlist(name))
        if isinstance(value, HandshakeProblem):
            return value
        found[name] = value
    if "websocket" not in _tokens(found["upgrade"] or ""):
        return HandshakeProblem(400, "the handshake's Upgrade header does not name websocket", {})
    if "upgrade" not in _tokens(found["connection"] or ""):
        return HandshakeProblem(400, "the handshake's Connection header does not include Upgrade", {})
    version = found["sec-websocket-version"]
    if version is None:
        return HandshakeProblem(400, "the handshake has no Sec-WebSocket-Version header", {})
    if version != WEBSOCKET_VERSION:
        return HandshakeProblem(426, f"unsupported WebSocket version {version[:20]!r}: this server speaks 13",
                                {"sec-websocket-version": WEBSOCKET_VERSION})
    key = found["sec-websocket-key"]
    if key is None:
        return HandshakeProblem(400, "the handshake has no Sec-WebSocket-Key header", {})
    if not _is_nonce(key):
        return HandshakeProblem(400, "Sec-WebSocket-Key must be 16 bytes in base64 (24 characters)", {})
    return None


def _is_nonce(key: str) -> bool:
    """Whether ``key`` is the base64 of exactly 16 bytes (RFC 6455 §4.1, step 7)."""
    if len(key) != 24:
        return False
    try:
        return len(b64decode(key.encode("ascii"), validate=True)) == 16
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


__all__ = ["HandshakeProblem", "WEBSOCKET_VERSION", "handshake_problem"]
