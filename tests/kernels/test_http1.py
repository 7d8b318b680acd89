"""The simple-head scanner: whatever it accepts, h11 accepts identically."""

from __future__ import annotations

import h11
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit_kernels.http1 import FLAG_CLOSE, HEAD_FIELDS, INCOMPLETE, NOT_SIMPLE, scan_request_head


@pytest.fixture(autouse=True, scope="module")
def _jit_then_aot(kernel_impl):
    """Every case runs against the JIT kernel, then the ahead-of-time one (conftest.kernel_impl)."""
    global scan_request_head
    scan_request_head = kernel_impl.scan_request_head


def scan(data: bytes, max_headers: int = 16):
    out = np.zeros(HEAD_FIELDS + 4 * max_headers, np.int64)
    return scan_request_head(data, len(data), out), out


def parts(data: bytes, out: np.ndarray):
    headers = [(data[out[HEAD_FIELDS + 4 * i]: out[HEAD_FIELDS + 4 * i + 1]].lower(),
                data[out[HEAD_FIELDS + 4 * i + 2]: out[HEAD_FIELDS + 4 * i + 3]]) for i in range(out[4])]
    return data[out[0]:out[1]], data[out[2]:out[3]], headers


def h11_parse(data: bytes):
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    event = conn.next_event()
    assert isinstance(event, h11.Request)
    return event.method, event.target, list(event.headers)


SIMPLE = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /users/42?x=1&y=%20 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n",
    b"POST /items HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nContent-Type: application/json\r\n\r\n",
    b"DELETE /a HTTP/1.1\r\nhost: a\r\nX-Empty:\r\nX-Pad: \t padded \t\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
    b"PURGE /cache HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9\r\n\r\n",
]


@pytest.mark.parametrize("data", SIMPLE)
def test_simple_heads_parse_like_h11(data):
    length, out = scan(data)
    assert length == len(data)
    assert parts(data, out) == h11_parse(data)


def test_content_length_and_close_flag():
    length, out = scan(SIMPLE[2])
    assert out[5] == 12 and out[6] == 0
    _, out = scan(SIMPLE[4])
    assert out[5] == -1 and out[6] & FLAG_CLOSE


def test_incomplete_head():
    assert scan(b"GET / HTTP/1.1\r\nHost: x\r\n")[0] == INCOMPLETE
    assert scan(b"")[0] == INCOMPLETE


def test_only_the_first_head_is_scanned():
    data = SIMPLE[0] + b"GET /next HTTP/1.1\r\n"
    assert scan(data)[0] == len(SIMPLE[0])


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.0\r\nHost: x\r\n\r\n",                              # HTTP/1.0 keep-alive rules
    b"GET / HTTP/1.1\r\n\r\n",                                         # no Host
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",                   # two Hosts
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",              # obs-fold
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nY: b\r\n\r\n",                  # bare LF
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",                   # NUL
    b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n",
    b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
    b"G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
])
def test_anything_unusual_is_left_to_h11(data):
    assert scan(data)[0] == NOT_SIMPLE


def test_too_many_headers_for_the_output_is_left_to_h11():
    data = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: 1\r\n" * 20 + b"\r\n"
    assert scan(data, max_headers=8)[0] == NOT_SIMPLE
    assert scan(data, max_headers=32)[0] == len(data)


_bytes = st.sampled_from([b"GET", b"POST", b" ", b"/", b"a", b":", b"\r\n", b"\n", b"\t", b"Host", b"host: x",
                          b"Content-Length", b"1", b"HTTP/1.1", b"\x00", b"\xff", b"-", b"Transfer-Encoding",
                          b"chunked", b"?", b"%", b"Connection", b"close"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_bytes, max_size=30))
def test_scanner_never_accepts_what_h11_rejects(pieces):
    data = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(pieces) + b"\r\n\r\n"
    length, out = scan(data, max_headers=64)
    if length > 0:
        head = data[:length]
        assert parts(head, out) == h11_parse(head)


@pytest.mark.parametrize("partial", [
    b"GET / HTTP/1.1\nHost: x\n",           # bare LF: no CRLF CRLF will ever come
    b"\x16\x03\x01\x02\x00\x01\x00",         # a TLS ClientHello on the plain port
    b"GET / HTTP/1.1\r\nX: \x00",
    b"G(T / HTTP/1.1\r\n",
    b" GET / HTTP/1.1\r\n",
])
def test_partial_input_that_can_never_be_simple_is_handed_over_at_once(partial):
    assert scan(partial)[0] == NOT_SIMPLE
