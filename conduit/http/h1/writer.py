"""Response heads and body framing (RFC 9112 §4, §6, §7), for every response the server sends.

Handler headers are validated here, once: a name must be an RFC 9110 §5.6.2
token, a value must hold no CR, LF or NUL and encode as latin-1 (RFC 9110 §5.5).
A header that breaks this raises :class:`ResponseHeaderError` before a byte is
written, so a handler can never inject a header line or split a response.
The framing headers belong to the codec: a handler's ``Content-Length`` and
``Transfer-Encoding`` are replaced by the real framing, and its ``Connection``
header is replaced too (``close`` in it is honoured: the connection closes).

Validated header lines are cached by ``(name, value)``: most responses repeat the
same few headers, and the check then costs one dict lookup.
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus

REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
#: Statuses whose responses never carry a body nor Content-Length (RFC 9110 §8.6, §15.3.5).
NO_BODY = frozenset({204, 304}) | frozenset(range(100, 200))

#: ``body`` argument of :func:`response_head`: chunked framing, or no framing header at all.
CHUNKED = -1
UNFRAMED = -2

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})
_CLOSE = b"connection"  # a cache marker: the handler asked to close (never emitted as is)
_CACHE_SIZE = 512
_lines: dict[tuple[str, str], bytes] = {}
_date_cache = [0, b""]


class ResponseHeaderError(ValueError):
    """A response header that is not valid HTTP (bad name, CR/LF/NUL, not latin-1)."""


def http_date() -> bytes:
    """The ``Date`` header value, formatted once per second (RFC 9110 §6.6.1)."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True).encode()
    return _date_cache[1]


_status_lines: dict[tuple[int, bytes], bytes] = {}
_status_lines_second = [0]
#: Whole heads (less framing) of this second, see :func:`response_head`.
_heads: dict[tuple, tuple[bytes, bool]] = {}


def _status_line(status: int, server: bytes) -> bytes:
    """Status line, Date and Server; cached until the second changes (see response_head)."""
    line = b"HTTP/1.1 %d %s\r\ndate: %s\r\nserver: %s\r\n" % (status, REASONS.get(status, b""), http_date(), server)
    if len(_status_lines) < _CACHE_SIZE:
        _status_lines[(status, server)] = line
    return line


def _header_line(name: object, value: object) -> bytes:
    if not isinstance(name, str) or not isinstance(value, str):
        raise ResponseHeaderError(f"response header {name!r}: name and value must be str")
    if not _TOKEN.fullmatch(name):
        raise ResponseHeaderError(f"response header name {name!r} is not an HTTP token")
    if _BAD_VALUE.search(value):
        raise ResponseHeaderError(f"response header {name!r} contains CR, LF or NUL")
    try:
        line = f"{name}: {value}\r\n".encode("latin-1")
    except UnicodeEncodeError:
        raise ResponseHeaderError(f"response header {name!r} does not encode as latin-1") from None
    lowered = name.lower()
    if lowered in _FRAMING:
        if lowered == "connection" and "close" in [t.strip().lower() for t in value.split(",")]:
            return _CLOSE
        return b""  # the codec writes the framing
    return line


def header_lines(headers) -> tuple[list[bytes], bool]:
    """The validated lines of a handler's headers, and whether it asked to close."""
    lines = []
    close = False
    cache = _lines
    for pair in headers:
        try:
            line = cache.get(pair)
        except TypeError:  # an unhashable pair (a list): validate it without caching
            line = None
        if line is None:
            try:
                name, value = pair
            except (TypeError, ValueError):
                raise ResponseHeaderError(f"response header {pair!r} is not a (name, value) pair") from None
            line = _header_line(name, value)
            if isinstance(pair, tuple):
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                cache[pair] = line
        if line is _CLOSE:
            close = True
        elif line:
            lines.append(line)
    return lines, close


def response_head(status: object, headers, server: bytes, body: int, close: bool) -> tuple[bytes, bool]:
    """(status line + headers + blank line, whether the connection must close).

    ``body`` is the Content-Length to declare, :data:`CHUNKED` or :data:`UNFRAMED`;
    statuses in :data:`NO_BODY` never get a framing header.

    Whole heads are cached by (status, server, the handler's headers, close) for the
    current second: a head that was built once — its headers validated — is reused
    with only the framing spliced in. Date changes each second, so the cache is
    cleared then; a key is only ever stored after its headers passed validation.
    """
    _check_status(status)
    now = int(time.time())
    if now != _status_lines_second[0]:  # a new second: a new Date
        _status_lines.clear()
        _heads.clear()
        _status_lines_second[0] = now
    try:
        key = (status, server, tuple(headers), close)
        cached = _heads.get(key)
    except TypeError:  # an unhashable header (a list pair): built and validated below, not cached
        key = cached = None
    if cached is None:
        lines, asked_close = header_lines(headers)
        head = _status_lines.get((status, server)) or _status_line(status, server)
        cached = (head + b"".join(lines), close or asked_close)
        if key is not None:
            if len(_heads) >= _CACHE_SIZE:
                _heads.clear()
            _heads[key] = cached
    prefix, close = cached
    return prefix + _framing_line(status, body) + (b"connection: close\r\n\r\n" if close else b"\r\n"), close


def _check_status(status: object) -> None:
    if type(status) is not int or not 100 <= status <= 999:  # noqa: E721 (bool is not a status)
        raise ResponseHeaderError(f"response status {status!r} is not a three-digit integer")


def _framing_line(status: int, body: int) -> bytes:
    """The framing header of a response: Content-Length, chunked, or none (RFC 9112 §6)."""
    if status in NO_BODY:
        return b""
    if body >= 0:
        return b"content-length: %d\r\n" % body
    return b"transfer-encoding: chunked\r\n" if body == CHUNKED else b""


def framed_header_lines(status: object, headers, body: int, close: bool = False) -> tuple[list[bytes], bool]:
    """The validated header lines of a response with its framing header, and whether to close.

    The one rule for every face: :func:`response_head` writes these on the wire;
    :func:`header_pairs` gives them to an ASGI server.
    """
    _check_status(status)
    lines, asked_close = header_lines(headers)
    framing = _framing_line(status, body)
    if framing:
        lines.append(framing)
    return lines, close or asked_close


def header_pairs(status: object, headers, body: int) -> list[tuple[bytes, bytes]]:
    """``(name, value)`` pairs, names lower-case, for an ASGI ``http.response.start``.

    Validated and framed as :func:`response_head` frames them (``body`` is the
    Content-Length, or :data:`UNFRAMED` to let the server choose); the connection's
    own headers (``Connection``, ``Transfer-Encoding``) are the ASGI server's.
    """
    lines, _ = framed_header_lines(status, headers, body)
    pairs = []
    for line in lines:
        name, _, value = line[:-2].partition(b": ")
        pairs.append((name.lower(), value))
    return pairs


def encode_response(response, server: bytes, *, close: bool, head_only: bool = False) -> bytes:
    """A whole response with a Content-Length body (errors, the overload 503)."""
    head, _ = response_head(response.status_code, response.headers, server, len(response.body), close)
    if head_only or response.status_code in NO_BODY:
        return head
    return head + response.body


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
