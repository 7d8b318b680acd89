"""HTTP/1.1 framing for the simple-request fast path (RFC 9112), without IO.

The server scans each request head with the ``conduit_kernels.http1`` kernel.
Heads in its strict subset are turned into ``Request`` parts here and their
responses serialised here; every other head goes to h11, which stays the
authority on what is valid HTTP. Response heads are checked for CR, LF and NUL
so a handler can never split a response (h11 checks the same on its path).
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

import numpy as np

from conduit_kernels.http1 import HEAD_FIELDS, scan_request_head

from ..http.response import Response

#: Heads with more header lines than this take the h11 path.
MAX_FAST_HEADERS = 64

REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
#: Statuses whose responses never carry a body nor Content-Length (RFC 9110 §8.6, §15.3.5).
NO_BODY = frozenset({204, 304}) | frozenset(range(100, 200))

_date_cache = [0, b""]


def http_date() -> bytes:
    """The ``Date`` header value, formatted once per second (RFC 9110 §6.6.1)."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True).encode()
    return _date_cache[1]


class ResponseHeaderError(ValueError):
    """A response header that would corrupt the framing (CR, LF or NUL in it)."""


def new_scan_buffer() -> np.ndarray:
    return np.zeros(HEAD_FIELDS + 4 * MAX_FAST_HEADERS, dtype=np.int64)


def warmup() -> None:
    """Compile (or load from cache) the head scanner before the socket accepts."""
    scan(bytearray(b"GET / HTTP/1.1\r\nHost: warm\r\n\r\n"), new_scan_buffer())


def scan(buffer: bytearray, out: np.ndarray) -> int:
    """Head length, 0 for an incomplete head, -1 for a head h11 must judge."""
    return scan_request_head(buffer, len(buffer), out)


def split_head(head: bytes, out: np.ndarray):
    """(method, target, headers, content_length, close) from a scanned head."""
    fields = out.tolist()
    method = head[fields[0]:fields[1]].decode("ascii")
    target = head[fields[2]:fields[3]]
    headers = []
    for k in range(fields[4]):
        base = HEAD_FIELDS + 4 * k
        headers.append((head[fields[base]:fields[base + 1]].lower(),
                        head[fields[base + 2]:fields[base + 3]]))
    return method, target, headers, fields[5], bool(fields[6] & 1)


def _encode_header(name: str, value: str) -> bytes:
    line = f"{name}: {value}\r\n".encode("latin-1")
    if b"\r" in line[:-2] or b"\n" in line[:-2] or b"\0" in line:
        raise ResponseHeaderError(f"response header {name!r} contains CR, LF or NUL")
    return line


_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})


def response_head(response: Response, server: bytes, *, streaming: bool, close: bool,
                  head_only: bool = False) -> bytes:
    """Status line and headers; ``Content-Length`` or chunked framing added here."""
    status = response.status_code
    parts = [b"HTTP/1.1 %d %s\r\ndate: %s\r\nserver: %s\r\n"
             % (status, REASONS.get(status, b""), http_date(), server)]
    for name, value in response.headers:
        if name.lower() not in _FRAMING:
            parts.append(_encode_header(name, value))
    if status not in NO_BODY:
        if streaming and not head_only:
            parts.append(b"transfer-encoding: chunked\r\n")
        elif not streaming:
            parts.append(b"content-length: %d\r\n" % len(response.body))
    if close:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
