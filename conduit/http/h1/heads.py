"""Request heads: two parsers behind one result, and the rules both share.

The Numba scanner (``conduit_kernels.http1``) recognises the simple, common
heads and returns spans; every other head is judged by h11, the authority on
RFC 9112 (obs-fold, bare LF, HTTP/1.0, ``Transfer-Encoding``, ``Expect`` and every
malformed input with its status). Both results then pass through
:func:`_finish`, where the rules that are not about syntax live once: the
request target's forms and the absolute-form authority (RFC 9112 §3.2), the
Host value (RFC 9110 §7.2), the body framing (RFC 9112 §6), keep-alive and
``Expect: 100-continue``. h11 is used for heads only; bodies are framed by
:mod:`.body` for both parsers.
"""

from __future__ import annotations

import h11
import numpy as np

from .events import ProtocolError, RequestHead

#: Heads with more header lines than this go to h11.
MAX_FAST_HEADERS = 64
# Must equal conduit_kernels.http1.HEAD_FIELDS (checked in warmup): kept here so
# that importing the codec does not import numba.
HEAD_FIELDS = 8

# RFC 3986 §3.2: an authority (and so a Host value) is host [ ":" port ], host being
# reg-name (unreserved / pct-encoded / sub-delims), IPv4 or "[" IPv6 "]". No
# userinfo ("@"), no whitespace, no controls.
_AUTHORITY_CHARS = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                    b"-._~%!$&'()*+,;=:[]")


def new_scan_buffer() -> np.ndarray:
    return np.zeros(HEAD_FIELDS + 4 * MAX_FAST_HEADERS, dtype=np.int64)


def _unloaded_scan(buffer, n, out) -> int:
    load_scanner()
    return _scan_request_head(buffer, n, out)


_scan_request_head = _unloaded_scan


def load_scanner() -> None:
    """Load the head scanner: the ahead-of-time one when built (no Numba), else the JIT
    kernel (imports Numba, loads from its cache when it can)."""
    global _scan_request_head
    from conduit_kernels import aot

    compiled = aot.kernels()
    if compiled is not None:
        _scan_request_head = compiled.scan_request_head
        return
    from conduit_kernels import http1

    if http1.HEAD_FIELDS != HEAD_FIELDS:
        raise RuntimeError("conduit_kernels.http1.HEAD_FIELDS changed: update conduit.http.h1.heads")
    _scan_request_head = http1.scan_request_head


def scan(buffer: bytearray, out: np.ndarray) -> int:
    """Head length, 0 for an incomplete head, -1 for a head h11 must judge."""
    return _scan_request_head(buffer, len(buffer), out)


def simple_head(head: bytes, out: np.ndarray) -> RequestHead:
    """The :class:`RequestHead` of a head the scanner accepted (spans in ``out``)."""
    count = int(out[4])
    fields = out[:HEAD_FIELDS + 4 * count].tolist()
    headers = []
    for base in range(HEAD_FIELDS, HEAD_FIELDS + 4 * count, 4):
        headers.append((head[fields[base]:fields[base + 1]].lower(), head[fields[base + 2]:fields[base + 3]]))
    return _finish(head[fields[0]:fields[1]].decode("ascii"), head[fields[2]:fields[3]], headers, "1.1",
                   fields[7], fields[5], False, not fields[6] & 1, False)


class H11HeadParser:
    """One head that is not simple, judged by h11 as its bytes arrive.

    A fresh ``h11.Connection`` per head: h11 sees the head only, never a body, so
    its state machine never outlives the head it parsed.
    """

    __slots__ = ("_conn", "_fed", "_max_head_size")

    def __init__(self, max_head_size: int):
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=max_head_size)
        self._fed = 0
        self._max_head_size = max_head_size

    def feed(self, data: bytes) -> None:
        self._fed += len(data)
        self._conn.receive_data(data)

    @property
    def buffered(self) -> int:
        return self._fed

    def next_head(self) -> tuple[RequestHead, bytes] | None:
        """(head, the bytes after it), or None until the head is complete."""
        try:
            event = self._conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise ProtocolError(exc.error_status_hint, f"malformed request: {exc}") from None
        if event is h11.NEED_DATA:
            return None
        if not isinstance(event, h11.Request):  # only a Request can come first from a client
            raise ProtocolError(400, "malformed request")
        rest = self._conn.trailing_data[0]
        if self._fed - len(rest) > self._max_head_size:
            raise ProtocolError(431, f"request head exceeds {self._max_head_size} bytes")
        return _h11_head(event), rest


def _h11_head(event: h11.Request) -> RequestHead:
    version = event.http_version.decode("ascii")
    if version not in ("1.1", "1.0"):  # RFC 9110 §15.6.6
        raise ProtocolError(505, f"HTTP version {version} is not supported")
    headers = list(event.headers)
    host_index = -1
    content_length = -1
    chunked = False
    keep_alive = version == "1.1"
    expect_continue = False
    for index, (name, value) in enumerate(headers):
        if name == b"host":
            host_index = index
        elif name == b"content-length":
            content_length = int(value)  # h11 checked: digits, duplicates equal and merged
        elif name == b"transfer-encoding":
            chunked = True  # h11 accepts "chunked" alone (anything else is its 501)
        elif name == b"connection":
            if b"close" in [token.strip().lower() for token in value.split(b",")]:
                keep_alive = False
        elif name == b"expect":
            expect_continue = version == "1.1" and value.lower() == b"100-continue"
    if chunked and (content_length >= 0 or version == "1.0"):
        # Request smuggling guard, RFC 9112 §6.1: both framings at once, or chunked
        # on HTTP/1.0, mean the framing is faulty. Reject rather than guess.
        raise ProtocolError(400, "Transfer-Encoding with Content-Length, or on HTTP/1.0")
    return _finish(event.method.decode("ascii"), event.target, headers, version, host_index,
                   content_length, chunked, keep_alive, expect_continue)


def _finish(method: str, target: bytes, headers: list, version: str, host_index: int,
            content_length: int, chunked: bool, keep_alive: bool, expect_continue: bool) -> RequestHead:
    if target[:1] == b"/":  # origin-form, the common case
        path, _, query = target.partition(b"?")
    else:
        path, query, authority = _other_form(target)
        if authority is not None:
            # RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host.
            if host_index >= 0:
                headers[host_index] = (b"host", authority)
            else:
                host_index = len(headers)
                headers.append((b"host", authority))
    if host_index >= 0:
        host = headers[host_index][1]
        if host.translate(None, _AUTHORITY_CHARS):
            raise ProtocolError(400, f"invalid Host header value {host[:100]!r}")
    return RequestHead(method, target, path, query, headers, version, content_length, chunked,
                       keep_alive, expect_continue)


def _other_form(target: bytes) -> tuple[bytes, bytes, bytes | None]:
    """(path, query, authority or None) of a target that is not origin-form."""
    scheme, sep, rest = target.partition(b"://")
    if not sep or scheme.lower() not in (b"http", b"https"):
        # asterisk-form ("*"), authority-form (CONNECT) or garbage: kept as the path,
        # which matches no route.
        path, _, query = target.partition(b"?")
        return path, query, None
    end = len(rest)
    for mark in (b"/", b"?"):
        found = rest.find(mark)
        if 0 <= found < end:
            end = found
    authority = rest[:end]
    if not authority or b"@" in authority:  # RFC 9110 §4.2.4: no userinfo in http(s) URIs
        raise ProtocolError(400, f"invalid authority in the request target {target[:100]!r}")
    path, _, query = rest[end:].partition(b"?")
    return path or b"/", query, authority
