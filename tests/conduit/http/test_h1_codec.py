"""The HTTP/1.1 codec in memory, in h11's style: bytes in, events out.

Every case of the table is fed whole, one byte at a time and in random splits,
and must give the same events (or the same error status) each way. Heads the
Numba scanner accepts must parse to the same :class:`RequestHead` through h11.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit.http import Response
from conduit.http.h1 import NEED_DATA, Data, EndOfMessage, HTTP1Codec, ProtocolError, RequestHead
from conduit.http.h1.heads import H11HeadParser, new_scan_buffer, scan, simple_head

# Every case runs with the JIT head scanner and chunk decoder, then the ahead-of-time ones.
pytestmark = pytest.mark.usefixtures("http_kernels")

H = b"Host: t\r\n"


def summarise(event) -> tuple:
    if isinstance(event, RequestHead):
        host = dict(event.headers).get(b"host")
        return ("head", event.method, event.path, event.query, host, event.http_version)
    if isinstance(event, Data):
        return ("data", event.data)
    assert isinstance(event, EndOfMessage)
    return ("end",)


def run(pieces, **limits) -> list[tuple]:
    """Feed ``pieces`` to one codec; answer each request so the next can start."""
    codec = HTTP1Codec(**limits)
    events: list[tuple] = []
    try:
        for piece in pieces:
            codec.receive_data(piece)
            while (event := codec.next_event()) is not NEED_DATA:
                summary = summarise(event)
                if summary[0] == "data" and events and events[-1][0] == "data":
                    events[-1] = ("data", events[-1][1] + summary[1])  # splits only cut data finer
                else:
                    events.append(summary)
                if summary[0] == "end":
                    codec.send_response(Response(b"ok"))
                    if not codec.keep_alive:
                        return events + [("close",)]
                    codec.start_next_cycle()
    except ProtocolError as exc:
        events.append(("error", exc.status))
    return events


def head(method="GET", path=b"/", query=b"", host=b"t", version="1.1"):
    return ("head", method, path, query, host, version)


def chunked(*parts: bytes) -> bytes:
    return b"POST /up HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(parts)


CASES = {
    "simple GET": (b"GET / HTTP/1.1\r\n" + H + b"\r\n", [head(), ("end",)]),
    "query": (b"GET /a/b?x=1&y=2 HTTP/1.1\r\n" + H + b"\r\n", [head(path=b"/a/b", query=b"x=1&y=2"), ("end",)]),
    "content-length body": (b"POST /up HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello",
                            [head("POST", b"/up"), ("data", b"hello"), ("end",)]),
    "chunked body, extensions, trailer": (
        chunked(b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n"),
        [head("POST", b"/up"), ("data", b"hello world"), ("end",)]),
    "chunk size with leading zeros and upper-case hex": (
        chunked(b"000A\r\n0123456789\r\n0\r\n\r\n"), [head("POST", b"/up"), ("data", b"0123456789"), ("end",)]),
    "pipelined": (b"GET /1 HTTP/1.1\r\n" + H + b"\r\nGET /2 HTTP/1.1\r\n" + H + b"\r\n",
                  [head(path=b"/1"), ("end",), head(path=b"/2"), ("end",)]),
    "simple then chunked then simple": (
        b"GET /1 HTTP/1.1\r\n" + H + b"\r\n" + chunked(b"1\r\na\r\n0\r\n\r\n") + b"GET /3 HTTP/1.1\r\n" + H + b"\r\n",
        [head(path=b"/1"), ("end",), head("POST", b"/up"), ("data", b"a"), ("end",), head(path=b"/3"), ("end",)]),
    # RFC 9112 §2.2: empty lines before a request line are ignored.
    "stray CRLF before the request line": (b"\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n", [head(), ("end",)]),
    "stray LF before the request line": (b"\nGET / HTTP/1.1\r\n" + H + b"\r\n", [head(), ("end",)]),
    "bare CR before the request line": (b"\rGET / HTTP/1.1\r\n" + H + b"\r\n", [("error", 400)]),
    "HTTP/1.0 closes after the response": (b"GET / HTTP/1.0\r\n\r\n", [head(host=None, version="1.0"), ("end",),
                                                                        ("close",)]),
    "Connection: close": (b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", [head(), ("end",), ("close",)]),
    # RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host.
    "absolute-form authority wins over Host": (b"GET http://real.example:81/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
                                               [head(path=b"/p", query=b"q=1", host=b"real.example:81"), ("end",)]),
    "absolute-form without a path": (b"GET http://a.example HTTP/1.1\r\nHost: b\r\n\r\n",
                                     [head(path=b"/", host=b"a.example"), ("end",)]),
    "absolute-form with userinfo": (b"GET http://u@a.example/ HTTP/1.1\r\nHost: b\r\n\r\n", [("error", 400)]),
    "Host with a space": (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", [("error", 400)]),
    "Host with a slash": (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", [("error", 400)]),
    "no Host on 1.1": (b"GET / HTTP/1.1\r\n\r\n", [("error", 400)]),
    "two Hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", [("error", 400)]),
    "garbage": (b"GARBAGE\r\n\r\n", [("error", 400)]),
    "HTTP/2.0": (b"GET / HTTP/2.0\r\n" + H + b"\r\n", [("error", 505)]),
    "Content-Length and Transfer-Encoding": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n"
                                             b"Transfer-Encoding: chunked\r\n\r\n", [("error", 400)]),
    "unsupported Transfer-Encoding": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n",
                                      [("error", 501)]),
    "Content-Length over the limit": (b"POST /up HTTP/1.1\r\n" + H + b"Content-Length: 2000\r\n\r\n",
                                      [head("POST", b"/up"), ("error", 413)]),
    "chunk over the limit": (chunked(b"7d1\r\n"), [head("POST", b"/up"), ("error", 413)]),
    # A size that overflows 64 bits is an error at once, not a wait for data that never comes.
    "chunk size overflowing 64 bits": (chunked(b"ffffffffffffffffffffffff\r\n"), [head("POST", b"/up"), ("error", 400)]),
    "chunk size not hex": (chunked(b"zz\r\n"), [head("POST", b"/up"), ("error", 400)]),
    "chunk size with a space inside": (chunked(b"5 5\r\nhello\r\n"), [head("POST", b"/up"), ("error", 400)]),
    "chunk size empty": (chunked(b"\r\nhello\r\n"), [head("POST", b"/up"), ("error", 400)]),
    "chunk data longer than its size": (chunked(b"3\r\nhello\r\n0\r\n\r\n"),
                                        [head("POST", b"/up"), ("data", b"hel"), ("error", 400)]),
    "bare LF after the chunk size": (chunked(b"3\nabc\r\n"), [head("POST", b"/up"), ("error", 400)]),
    "trailer line without a colon": (chunked(b"0\r\nnocolon\r\n\r\n"), [head("POST", b"/up"), ("error", 400)]),
    "oversized head": (b"GET / HTTP/1.1\r\n" + H + b"X: " + b"a" * 1100 + b"\r\n\r\n", [("error", 431)]),
    "oversized non-simple head": (b"GET / HTTP/1.0\r\nX: " + b"a" * 1100 + b"\r\n\r\n", [("error", 431)]),
}

LIMITS = {"max_head_size": 1024, "max_body_size": 1000}


def _splits(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(data):
        step = rng.randint(1, 7)
        pieces.append(data[i:i + step])
        i += step
    return pieces


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_whole_byte_by_byte_and_split(name):
    data, expected = CASES[name]
    assert run([data], **LIMITS) == expected, "whole"
    assert run([data[i:i + 1] for i in range(len(data))], **LIMITS) == expected, "byte by byte"
    for seed in range(3):
        assert run(_splits(data, seed), **LIMITS) == expected, f"split {seed}"


def test_body_limit_is_the_one_set_for_the_request():
    codec = HTTP1Codec(max_body_size=10)
    codec.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n" + b"x" * 20)
    assert isinstance(codec.next_event(), RequestHead)
    codec.body_limit = 50  # a route with a larger limit
    assert codec.next_event() == Data(b"x" * 20)
    assert isinstance(codec.next_event(), EndOfMessage)


def test_tiny_chunks_are_refused_once_their_framing_passes_its_budget():
    # 1-byte chunks spend 5 framing bytes per data byte; the framing budget is the
    # body limit (at least 64 KiB), so such a body is refused long before its end.
    codec = HTTP1Codec(max_body_size=1 << 20)
    codec.receive_data(chunked())
    assert isinstance(codec.next_event(), RequestHead)
    data = 0
    with pytest.raises(ProtocolError) as caught:
        for _ in range(100):
            codec.receive_data(b"1\r\na\r\n" * 20000)
            while (event := codec.next_event()) is not NEED_DATA:
                data += len(event.data)
    assert caught.value.status == 400 and "budget" in caught.value.detail
    assert data < (1 << 20) // 4
    assert not codec.keep_alive


def test_100_continue_only_for_an_acceptable_body():
    codec = HTTP1Codec(max_body_size=10)
    codec.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    assert codec.next_event().expect_continue
    assert codec.continue_response() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert codec.continue_response() == b""  # once
    big = HTTP1Codec(max_body_size=10)
    big.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 50\r\n\r\n")
    big.next_event()
    assert big.continue_response() == b""
    head = big.send_response(Response(b"no"))
    assert b"connection: close" in head and not big.keep_alive  # the body never comes: close


def test_unread_body_within_the_limit_keeps_the_connection():
    codec = HTTP1Codec(max_body_size=100)
    codec.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n")
    codec.next_event()
    assert b"connection: close" not in codec.send_response(Response(b"ok"))
    assert codec.next_event() == Data(b"hello")  # the server drains it
    assert isinstance(codec.next_event(), EndOfMessage)
    codec.start_next_cycle()
    assert codec.next_event().path == b"/"


def test_unread_body_over_the_limit_closes():
    codec = HTTP1Codec(max_body_size=3)
    codec.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
    codec.next_event()
    assert b"connection: close" in codec.send_response(Response(b"ok"))
    assert not codec.keep_alive


def test_start_next_cycle_refuses_an_unfinished_cycle():
    codec = HTTP1Codec()
    codec.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhe")
    codec.next_event()
    with pytest.raises(RuntimeError):
        codec.start_next_cycle()


# ------------------------------------------------------------ the two parsers agree

def _both(data: bytes):
    out = new_scan_buffer()
    length = scan(bytearray(data), out)
    if length <= 0:
        return None
    fast = simple_head(data[:length], out)
    parser = H11HeadParser(1 << 20)
    parser.feed(data[:length])
    slow, rest = parser.next_head()
    assert rest == b""
    return fast, slow


SIMPLE_HEADS = [  # the scanner's own table is in tests/kernels/test_http1.py; these add the shared rules
    b"GET /?a=1 HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n",
    b"GET http://auth.example/p?q HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET https://auth.example HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nHost: \r\nContent-Length: 0\r\n\r\n",
]


@pytest.mark.parametrize("data", SIMPLE_HEADS)
def test_scanner_and_h11_give_the_same_head(data):
    fast, slow = _both(data)
    assert fast == slow


def test_scanner_and_h11_give_the_same_error_for_a_bad_host():
    data = b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"
    with pytest.raises(ProtocolError) as fast:
        _both(data)
    parser = H11HeadParser(1 << 20)
    parser.feed(data)
    with pytest.raises(ProtocolError) as slow:
        parser.next_head()
    assert fast.value.status == slow.value.status == 400


_pieces = st.sampled_from([b"GET", b"POST", b" ", b"/", b"a", b":", b"\r\n", b"\t", b"Host", b"host: x",
                           b"Content-Length", b"1", b"HTTP/1.1", b"\xff", b"-", b"?", b"%", b"Connection",
                           b"close", b"keep-alive", b"http://h", b"[", b"@"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pieces, max_size=30))
def test_every_head_the_scanner_accepts_parses_identically_through_h11(pieces):
    data = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(pieces) + b"\r\n\r\n"
    try:
        both = _both(data)
    except ProtocolError as exc:  # a shared rule (Host, target) refused it: h11's path must too
        parser = H11HeadParser(1 << 20)
        out = new_scan_buffer()
        parser.feed(data[:scan(bytearray(data), out)])
        with pytest.raises(ProtocolError) as slow:
            parser.next_head()
        assert slow.value.status == exc.status
        return
    if both is not None:
        assert both[0] == both[1]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 40))
def test_any_bytes_give_events_or_a_4xx_or_5xx_never_a_crash(data, step):
    events = run([data[i:i + step] for i in range(0, len(data), step)], **LIMITS)
    for event in events:
        if event[0] == "error":
            assert 400 <= event[1] <= 505
