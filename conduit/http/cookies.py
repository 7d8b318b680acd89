"""Cookies: parsing the ``Cookie`` request header and formatting ``Set-Cookie``.

The one place both cookie rules live (RFC 6265): :func:`parse_cookies` feeds
``request.cookies`` and the ``Cookie(...)`` parameter marker; :func:`set_cookie_header`
backs ``Response.set_cookie``/``delete_cookie``. Parsing is lenient (a malformed pair
is skipped, browsers send odd jars); formatting is strict (a value that would break
the header or be mangled by a browser raises ``ValueError`` naming it).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import format_datetime

# RFC 6265 §4.1.1: cookie-name is an RFC 2616 token; cookie-value is cookie-octets,
# optionally in double quotes (no CTLs, whitespace, DQUOTE, comma, semicolon, backslash).
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r'[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*')
_ATTRIBUTE = re.compile(r"[^\x00-\x1f\x7f;]*")
SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


def parse_cookies(header_values: list[str]) -> dict[str, str]:
    """``name -> value`` from ``Cookie`` header values (RFC 6265 §5.4; first name wins)."""
    jar: dict[str, str] = {}
    for header in header_values:
        for pair in header.split(";"):
            key, sep, value = pair.strip().partition("=")
            if sep and key:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                jar.setdefault(key, value)
    return jar


def set_cookie_header(key: str, value: str = "", *, max_age: int | None = None,
                      expires: datetime | int | None = None, path: str | None = "/",
                      domain: str | None = None, secure: bool = False, httponly: bool = False,
                      samesite: str | None = "lax", partitioned: bool = False) -> str:
    """The value of one ``Set-Cookie`` header; ``ValueError`` for anything invalid.

    >>> set_cookie_header("session", "abc", max_age=60, httponly=True)
    'session=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax'
    """
    if not isinstance(key, str) or not _NAME.fullmatch(key):
        raise ValueError(f"cookie name {key!r} is not an RFC 6265 token")
    if not isinstance(value, str) or not _VALUE.fullmatch(value):
        raise ValueError(f"cookie {key!r}: value {value!r} has characters RFC 6265 forbids "
                         "(space, quote, comma, semicolon, backslash or control); encode it first")
    parts = [f"{key}={value}"]
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int):
            raise ValueError(f"cookie {key!r}: max_age must be an int of seconds, got {max_age!r}")
        parts.append(f"Max-Age={max_age}")
    if expires is not None:
        if isinstance(expires, datetime):
            moment = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
        elif isinstance(expires, int) and not isinstance(expires, bool):
            moment = datetime.fromtimestamp(expires, timezone.utc)
        else:
            raise ValueError(f"cookie {key!r}: expires must be a datetime or a Unix time, got {expires!r}")
        parts.append("Expires=" + format_datetime(moment.astimezone(timezone.utc), usegmt=True))
    for attribute, text in (("Domain", domain), ("Path", path)):
        if text is not None:
            if not isinstance(text, str) or not _ATTRIBUTE.fullmatch(text):
                raise ValueError(f"cookie {key!r}: {attribute.lower()} {text!r} has ';' or control characters")
            parts.append(f"{attribute}={text}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite is not None:
        spelled = SAMESITE.get(str(samesite).lower())
        if spelled is None:
            raise ValueError(f"cookie {key!r}: samesite must be 'lax', 'strict' or 'none', got {samesite!r}")
        if spelled == "None" and not secure:
            # Browsers drop SameSite=None cookies without Secure (RFC 6265bis §5.6.7).
            raise ValueError(f"cookie {key!r}: samesite='none' needs secure=True")
        parts.append(f"SameSite={spelled}")
    if partitioned:
        if not secure:
            raise ValueError(f"cookie {key!r}: partitioned cookies need secure=True")
        parts.append("Partitioned")
    return "; ".join(parts)


__all__ = ["parse_cookies", "set_cookie_header"]
