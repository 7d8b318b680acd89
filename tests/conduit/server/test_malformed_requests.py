"""A malformed-request corpus over a real socket: each case gets its 4xx (or a close),
and the server answers a normal request right after each one.

Where RFC 9112 lets a server either reject or repair (obs-fold §5.2, bare LF §2.2,
identical duplicate Content-Length §6.3), the accepted outcomes say so.
"""

from __future__ import annotations

import logging

import pytest

from conduit.testing.client import LiveServer

from _apps import echo_app
from _raw_http import exchange, get

# Every case runs with the JIT head scanner and chunk decoder, then the ahead-of-time ones.
pytestmark = pytest.mark.usefixtures("http_kernels")

CLOSE = None  # "the server closed the connection without a response" is acceptable
H = b"Host: t\r\n"


@pytest.fixture(scope="module")
def server():
    with LiveServer(echo_app(), head_timeout=1.0, body_timeout=1.0, keepalive_timeout=2.0,
                    max_body_size=1024) as live:
        yield live


def chunked(*lines: bytes) -> bytes:
    return b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(lines)


CASES = {
    # ---- request line
    "garbage": (b"GARBAGE\r\n\r\n", {400}),
    "method only": (b"GET\r\n\r\n", {400}),
    "http/0.9": (b"GET /\r\n\r\n", {400}),
    "extra token": (b"GET / HTTP/1.1 extra\r\n" + H + b"\r\n", {400}),
    "double space": (b"GET  / HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "bad method char": (b"G@T / HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "absurd version 9.9": (b"GET / HTTP/9.9\r\n" + H + b"\r\n", {400, 505}),
    "version 1.1000": (b"GET / HTTP/1.1000\r\n" + H + b"\r\n", {400, 505}),
    "version 2.0": (b"GET / HTTP/2.0\r\n" + H + b"\r\n", {400, 505}),
    "not http": (b"GET / FTP/1.1\r\n" + H + b"\r\n", {400}),
    "lowercase http": (b"GET / http/1.1\r\n" + H + b"\r\n", {400}),
    "space in target": (b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "control char in target": (b"GET /\x01 HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "NUL in target": (b"GET /\x00 HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "NUL in method": (b"G\x00T / HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "tab separators": (b"GET\t/\tHTTP/1.1\r\n" + H + b"\r\n", {400}),
    "missing Host on 1.1": (b"GET / HTTP/1.1\r\n\r\n", {400}),
    "two Host headers": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {400}),
    "leading empty lines then garbage": (b"\r\n\r\nGARBAGE\r\n\r\n", {400}),
    "binary junk": (bytes(range(256)), {400}),
    # ---- header names and values
    "header without colon": (b"GET / HTTP/1.1\r\n" + H + b"Foo\r\n\r\n", {400}),
    "space before colon": (b"GET / HTTP/1.1\r\n" + H + b"Foo : bar\r\n\r\n", {400}),
    "bad header name char": (b"GET / HTTP/1.1\r\n" + H + b"Fo(o: bar\r\n\r\n", {400}),
    "empty header name": (b"GET / HTTP/1.1\r\n" + H + b": bar\r\n\r\n", {400}),
    "NUL in header value": (b"GET / HTTP/1.1\r\n" + H + b"Foo: a\x00b\r\n\r\n", {400}),
    "NUL in header name": (b"GET / HTTP/1.1\r\n" + H + b"Fo\x00o: b\r\n\r\n", {400}),
    "bare CR in value": (b"GET / HTTP/1.1\r\n" + H + b"Foo: a\rb\r\n\r\n", {400}),
    "bare CR line end": (b"GET / HTTP/1.1\r" + H + b"\r\n", {400}),
    # RFC 9110 §5.5: CTLs other than CR, LF, NUL MAY be retained (h11 does).
    "DEL in value": (b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\nFoo: a\x7fb\r\n\r\n", {400, 200}),
    "first header folded": (b"GET / HTTP/1.1\r\n Foo: bar\r\n" + H + b"\r\n", {400}),
    # RFC 9112 §5.2: reject, or replace each obs-fold with SP.
    "obs-fold": (b"GET / HTTP/1.1\r\n" + H + b"Foo: a\r\n b\r\nConnection: close\r\n\r\n", {400, 200}),
    # RFC 9112 §2.2: a recipient MAY accept a bare LF as a line terminator.
    "bare LF": (b"GET / HTTP/1.1\n" + H.replace(b"\r\n", b"\n") + b"Connection: close\n\n", {400, 200}),
    # ---- framing: Content-Length and Transfer-Encoding
    "conflicting Content-Length": (b"POST /echo HTTP/1.1\r\n" + H +
                                   b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", {400}),
    # RFC 9110 §8.6: identical repeated values may be taken as one.
    "duplicate equal Content-Length": (b"POST /echo HTTP/1.1\r\n" + H + b"Connection: close\r\n"
                                       b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", {400, 200}),
    "Content-Length list": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!", {400}),
    "negative Content-Length": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", {400}),
    "non-numeric Content-Length": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n", {400}),
    "signed Content-Length": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello", {400}),
    "hex Content-Length": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 0x5\r\n\r\nhello", {400}),
    "overflowing Content-Length": (b"POST /echo HTTP/1.1\r\n" + H +
                                   b"Content-Length: 99999999999999999999999999\r\n\r\n", {400, 413}),
    "Content-Length and Transfer-Encoding": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n"
                                             b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                                             {400}),
    "unsupported Transfer-Encoding": (b"POST /echo HTTP/1.1\r\n" + H +
                                      b"Transfer-Encoding: gzip, chunked\r\n\r\n", {400, 501}),
    "chunked not last": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n",
                         {400, 501}),
    "obfuscated Transfer-Encoding": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n",
                                     {400, 501}),
    "Transfer-Encoding on 1.0": (b"POST /echo HTTP/1.0\r\n" + H +
                                 b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400, 501}),
    # ---- chunk sizes
    "chunk size 0x10": (chunked(b"0x10\r\n", b"a" * 16, b"\r\n0\r\n\r\n"), {400}),
    "chunk size +5": (chunked(b"+5\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk size 1_0": (chunked(b"1_0\r\n", b"a" * 16, b"\r\n0\r\n\r\n"), {400}),
    "chunk size -5": (chunked(b"-5\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk size overflow": (chunked(b"ffffffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), {400, 413}),
    "chunk size empty": (chunked(b"\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk size with space inside": (chunked(b"5 5\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk data longer than size": (chunked(b"3\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk without CRLF after data": (chunked(b"5\r\nhelloXX0\r\n\r\n"), {400}),
    "chunked over the body limit": (chunked(b"400\r\n", b"a" * 1024, b"\r\n400\r\n", b"a" * 1024,
                                            b"\r\n0\r\n\r\n"), {413}),
    # ---- sizes
    "oversized head": (b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n", {431}),
    "too many headers": (b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: v\r\n" % i for i in range(3000))
                         + b"\r\n", {431}),
    "oversized target": (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n" + H + b"\r\n", {431, 414}),
    "oversized body": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 4096\r\n\r\n" + b"a" * 4096, {413}),
    # ---- truncation (the body deadline answers 408 or the server closes)
    "truncated body": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n\r\nhello", {408, CLOSE}),
    "truncated chunk": (chunked(b"a\r\nhel"), {408, CLOSE}),
    "truncated head": (b"GET / HTTP/1.1\r\nHost: t\r\nX-Par", {408, CLOSE}),
    # ---- odd but well-formed: never a 5xx
    "unknown method": (b"FOO / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", {405, 501}),
    "bad percent-encoding": (b"GET /%zz HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", {400, 404}),
    "non-ascii path": (b"GET /\xff\xfe HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", {400, 404}),
    "asterisk-form GET": (b"GET * HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", {400, 404}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_request(server, name, caplog):
    data, expected = CASES[name]
    with caplog.at_level(logging.ERROR, logger="conduit"):
        response = exchange(server.port, data)
    assert response.status in expected, (name, response)
    if response.status is not None and response.status >= 400:
        assert response.closed, f"{name}: the connection stays open after a {response.status}"
        assert response.status < 500 or response.status in (501, 505)
        if response.body and response.headers.get("content-type") == "application/json":
            assert b'"error"' in response.body
    assert not [r for r in caplog.records if "crashed" in r.getMessage()], name
    assert get(server.port).status == 200, f"server stopped answering after {name!r}"


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
