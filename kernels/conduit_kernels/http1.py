"""A strict HTTP/1.1 request-head scanner: bytes in, spans out.

Owns only the fast, common case of RFC 9112 §2-§5: ``METHOD SP target SP
HTTP/1.1 CRLF``, then ``token ":" OWS value OWS CRLF`` lines, then CRLF. A head
with anything else in it — HTTP/1.0, obs-fold, bare LF, a byte outside the
grammar, ``Transfer-Encoding``, ``Expect``, ``Upgrade``, a repeated or
non-numeric ``Content-Length``, no ``Host`` or more than one — is not judged
here: the scanner answers :data:`NOT_SIMPLE` and the caller hands the bytes to
a complete HTTP implementation (h11), which accepts or rejects them. So this
kernel never decides that a request is invalid; it only recognises the ones
that are plainly valid.

Output layout (``out`` is int64, caller-allocated, ``HEAD_FIELDS + 4 * max_headers``)::

    out[0:2]  method span          out[4]  number of headers
    out[2:4]  target span          out[5]  Content-Length, -1 when absent
    out[6]    flags (CLOSE: ``Connection: close`` seen)   out[7]  index of the Host header
    out[8 + 4*i : 12 + 4*i]   name start, name end, value start, value end of header i
"""

from __future__ import annotations

import numpy as np

from ._jit import inline, kernel

__all__ = ["HEAD_FIELDS", "INCOMPLETE", "NOT_SIMPLE", "FLAG_CLOSE", "scan_request_head", "token_table"]

#: Returned when the buffer does not yet hold a whole head.
INCOMPLETE = 0
#: Returned when the head is not in the simple subset (or is invalid): use h11.
NOT_SIMPLE = -1
HEAD_FIELDS = 8
FLAG_CLOSE = 1


def token_table() -> np.ndarray:
    """uint8[256]: 1 for tchar (RFC 9110 §5.6.2), 2 for field-value bytes that are not tchar.

    Field values allow VCHAR, SP, HTAB and obs-text (RFC 9110 §5.5).
    """
    table = np.zeros(256, dtype=np.uint8)
    for c in range(0x21, 0x7F):
        table[c] = 2
    for c in range(0x80, 0x100):
        table[c] = 2
    table[0x20] = table[0x09] = 2
    for c in b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = 1
    return table


@inline
def _lower(c):
    return c + 32 if 65 <= c <= 90 else c


@inline
def _name_is(buf, start, end, name):
    """Case-insensitive comparison of ``buf[start:end]`` with a lower-case literal."""
    if end - start != len(name):
        return False
    for k in range(len(name)):
        if _lower(buf[start + k]) != name[k]:
            return False
    return True


_CONTENT_LENGTH = np.frombuffer(b"content-length", np.uint8)
_TRANSFER_ENCODING = np.frombuffer(b"transfer-encoding", np.uint8)
_EXPECT = np.frombuffer(b"expect", np.uint8)
_UPGRADE = np.frombuffer(b"upgrade", np.uint8)
_HOST = np.frombuffer(b"host", np.uint8)
_CONNECTION = np.frombuffer(b"connection", np.uint8)
_CLOSE = np.frombuffer(b"close", np.uint8)
_VERSION = np.frombuffer(b" HTTP/1.1\r\n", np.uint8)


# Constant tables, read by the kernel as compile-time constants (never mutated).
_TCHAR = token_table()


@kernel
def _scan(buf, n, out):
    tchar = _TCHAR
    content_length, transfer_encoding, expect = _CONTENT_LENGTH, _TRANSFER_ENCODING, _EXPECT
    upgrade, host, connection, close, version = _UPGRADE, _HOST, _CONNECTION, _CLOSE, _VERSION
    max_headers = (len(out) - HEAD_FIELDS) // 4
    # Find the end of the head. On the way, anything that can never be part of a
    # simple head (a bare LF, a control byte, a method that is not a token) is
    # handed to h11 at once rather than waiting for a blank line that may not come.
    end = -1
    in_method = True
    for i in range(n):
        c = buf[i]
        if in_method:
            if c == 32 and i > 0:
                in_method = False
            elif tchar[c] != 1:
                return NOT_SIMPLE
        if c == 10:
            if i == 0 or buf[i - 1] != 13:
                return NOT_SIMPLE
            if i >= 3 and buf[i - 2] == 10 and buf[i - 3] == 13:
                end = i + 1
                break
        elif c < 32 and c != 13 and c != 9 or c == 127:
            return NOT_SIMPLE
    if end < 0:
        return INCOMPLETE
    # Request line: method (tchar+), SP, target (VCHAR+), " HTTP/1.1\r\n".
    i = 0
    while i < end and tchar[buf[i]] == 1:
        i += 1
    if i == 0 or buf[i] != 32:
        return NOT_SIMPLE
    out[0] = 0
    out[1] = i
    i += 1
    start = i
    while i < end and 0x21 <= buf[i] <= 0x7E:
        i += 1
    if i == start:
        return NOT_SIMPLE
    out[2] = start
    out[3] = i
    for k in range(len(version)):
        if i + k >= end or buf[i + k] != version[k]:
            return NOT_SIMPLE
    i += len(version)
    # Header lines until the empty line.
    count = 0
    length = -1
    flags = 0
    hosts = 0
    host_index = -1
    while i < end - 2:
        name_start = i
        while tchar[buf[i]] == 1:
            i += 1
        if i == name_start or buf[i] != 58:  # ':' right after a non-empty token
            return NOT_SIMPLE
        name_end = i
        i += 1
        while buf[i] == 32 or buf[i] == 9:
            i += 1
        value_start = i
        while tchar[buf[i]] != 0:
            i += 1
        value_end = i
        while value_end > value_start and (buf[value_end - 1] == 32 or buf[value_end - 1] == 9):
            value_end -= 1
        if buf[i] != 13 or buf[i + 1] != 10:  # bare LF, CTL or NUL inside the value
            return NOT_SIMPLE
        i += 2
        if count == max_headers:
            return NOT_SIMPLE
        base = HEAD_FIELDS + 4 * count
        out[base] = name_start
        out[base + 1] = name_end
        out[base + 2] = value_start
        out[base + 3] = value_end
        count += 1
        first = _lower(buf[name_start])
        if first == 99:  # 'c'
            if _name_is(buf, name_start, name_end, content_length):
                if length >= 0 or value_end == value_start or value_end - value_start > 15:
                    return NOT_SIMPLE
                length = 0
                for k in range(value_start, value_end):
                    d = buf[k] - 48
                    if d < 0 or d > 9:
                        return NOT_SIMPLE
                    length = length * 10 + d
            elif _name_is(buf, name_start, name_end, connection):
                # "close" alone; any other token list goes to h11.
                if _name_is(buf, value_start, value_end, close):
                    flags |= FLAG_CLOSE
                elif not (value_end - value_start == 10 and _lower(buf[value_start]) == 107):
                    return NOT_SIMPLE  # not "keep-alive"
        elif first == 116 and _name_is(buf, name_start, name_end, transfer_encoding):
            return NOT_SIMPLE
        elif first == 101 and _name_is(buf, name_start, name_end, expect):
            return NOT_SIMPLE
        elif first == 117 and _name_is(buf, name_start, name_end, upgrade):
            return NOT_SIMPLE
        elif first == 104 and _name_is(buf, name_start, name_end, host):
            hosts += 1
            host_index = count - 1
    if hosts != 1:
        return NOT_SIMPLE
    out[4] = count
    out[5] = length
    out[6] = flags
    out[7] = host_index
    return end


def scan_request_head(buffer, n: int, out: np.ndarray) -> int:
    """Scan ``buffer[:n]`` (bytes, bytearray or uint8 array) for a simple request head.

    Returns the head's length in bytes (spans in ``out``), :data:`INCOMPLETE`, or
    :data:`NOT_SIMPLE` (let a full HTTP implementation decide).

    >>> out = np.zeros(HEAD_FIELDS + 4 * 8, np.int64)
    >>> scan_request_head(b"GET /a HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", 29, out)
    29
    """
    return _scan(buffer, n, out)
