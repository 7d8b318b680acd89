"""Response heads from the codec: validated once, for both parsers, framing owned by the codec."""

from __future__ import annotations

import pytest

from conduit.http import Response, StreamingResponse
from conduit.http.h1 import HTTP1Codec, ResponseHeaderError

SIMPLE = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
NOT_SIMPLE = b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"  # h11 parses this head


def codec_after(head: bytes) -> HTTP1Codec:
    codec = HTTP1Codec()
    codec.receive_data(head)
    codec.next_event()
    return codec


BAD_HEADERS = {
    "CRLF in a value (injection)": ("x-a", "1\r\nSet-Cookie: evil=1"),
    "LF in a value": ("x-a", "1\nx"),
    "NUL in a value": ("x-a", "a\x00b"),
    "value outside latin-1": ("x-a", "snow \u2603"),
    "CRLF in a name": ("x-a\r\nSet-Cookie", "evil=1"),
    "framing name with a trailing space": ("Transfer-Encoding ", "chunked"),
    "space in a name": ("x a", "1"),
    "colon in a name": ("x:a", "1"),
    "empty name": ("", "1"),
    "non-str value": ("x-a", 5),
}


@pytest.mark.parametrize("head", [SIMPLE, NOT_SIMPLE], ids=["scanner", "h11"])
@pytest.mark.parametrize("name", sorted(BAD_HEADERS))
def test_a_bad_handler_header_is_refused_and_state_is_unchanged(head, name):
    codec = codec_after(head)
    response = Response(b"x")
    response.headers.append(BAD_HEADERS[name])
    with pytest.raises(ResponseHeaderError):
        codec.send_response(response)
    stream = StreamingResponse(iter([b"x"]))
    stream.headers.append(BAD_HEADERS[name])
    with pytest.raises(ResponseHeaderError):
        codec.send_stream_head(stream)
    error = codec.send_error(500, "Internal Server Error")  # the connection can still answer
    assert error.startswith(b"HTTP/1.1 500 ") and b"connection: close" in error
    assert b"evil" not in error


@pytest.mark.parametrize("head", [SIMPLE, NOT_SIMPLE], ids=["scanner", "h11"])
def test_framing_headers_from_handlers_are_replaced(head):
    codec = codec_after(head)
    response = Response(b"hello", headers=[("Content-Length", "999"), ("transfer-encoding", "chunked"),
                                           ("Connection", "keep-alive"), ("x-ok", "1")])
    data = codec.send_response(response)
    lower = data.lower()
    assert lower.count(b"content-length") == 1 and b"content-length: 5\r\n" in lower
    assert b"transfer-encoding" not in lower and b"keep-alive" not in lower
    assert b"x-ok: 1\r\n" in data and data.endswith(b"\r\n\r\nhello")
    assert codec.keep_alive


def test_connection_close_from_a_handler_is_honoured():
    codec = codec_after(SIMPLE)
    data = codec.send_response(Response(b"", headers={"connection": "Close"}))
    assert data.count(b"connection: close") == 1 and not codec.keep_alive


def test_stream_head_is_chunked_on_1_1_and_close_delimited_on_1_0():
    codec = codec_after(SIMPLE)
    head = codec.send_stream_head(StreamingResponse(iter([b"x"])))
    assert b"transfer-encoding: chunked" in head
    assert codec.send_chunk(b"abc") == b"3\r\nabc\r\n" and codec.send_end() == b"0\r\n\r\n"
    old = codec_after(b"GET / HTTP/1.0\r\n\r\n")
    head = old.send_stream_head(StreamingResponse(iter([b"x"])))
    assert b"transfer-encoding" not in head and b"connection: close" in head
    assert old.send_chunk(b"abc") == b"abc" and old.send_end() == b""


def test_no_body_statuses_and_head_requests():
    codec = codec_after(SIMPLE)
    assert b"content-length" not in codec.send_response(Response(b"", status_code=204))
    codec = codec_after(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
    data = codec.send_response(Response(b"hello"), head_only=True)
    assert b"content-length: 5\r\n" in data and data.endswith(b"\r\n\r\n")


def test_a_bad_status_is_refused():
    codec = codec_after(SIMPLE)
    with pytest.raises(ResponseHeaderError):
        codec.send_response(Response(b"", status_code=True))


def test_send_error_says_nothing_once_a_response_began():
    codec = codec_after(SIMPLE)
    codec.send_stream_head(StreamingResponse(iter([b"x"])))
    assert codec.send_error(500, "late") is None


# ---- the whole-head cache (issue 22): a cached head is the head that would be built


def fresh_head(status, headers, body, close):
    from conduit.http.h1 import writer

    writer._heads.clear()
    return writer.response_head(status, headers, b"conduit", body, close)


@pytest.mark.parametrize("status", [200, 204, 304, 404, 101])
@pytest.mark.parametrize("body", [0, 13, 70_000, -1, -2])
@pytest.mark.parametrize("close", [False, True])
def test_a_cached_head_equals_a_freshly_built_one(status, body, close):
    from conduit.http.h1 import writer

    headers = [("content-type", "text/plain; charset=utf-8"), ("x-a", "1")]
    expected = fresh_head(status, headers, body, close)
    assert writer.response_head(status, list(headers), b"conduit", body, close) == expected  # a cache hit
    other = 5 if body != 5 else 6
    head, _ = writer.response_head(status, list(headers), b"conduit", other, close)
    if status not in (204, 304, 101) and body >= 0:
        assert b"content-length: %d\r\n" % other in head  # the length is spliced, never cached


def test_a_cached_head_never_lets_a_bad_header_through():
    from conduit.http.h1 import writer

    good = [("x-a", "1")]
    writer.response_head(200, good, b"conduit", 1, False)
    for name in sorted(BAD_HEADERS):
        with pytest.raises(ResponseHeaderError):
            writer.response_head(200, [BAD_HEADERS[name]], b"conduit", 1, False)
        with pytest.raises(ResponseHeaderError):  # asked twice: never cached
            writer.response_head(200, [BAD_HEADERS[name]], b"conduit", 1, False)


@pytest.mark.parametrize("status", [200.0, True, "200"])
def test_a_status_equal_to_a_cached_one_but_not_an_int_is_refused(status):
    from conduit.http.h1 import writer

    writer.response_head(200, [], b"conduit", 1, False)
    with pytest.raises(ResponseHeaderError, match="three-digit integer"):
        writer.response_head(status, [], b"conduit", 1, False)


def test_a_handlers_connection_close_is_kept_by_the_cache():
    from conduit.http.h1 import writer

    for _ in range(2):
        head, close = writer.response_head(200, [("Connection", "close")], b"conduit", 2, False)
        assert close and head.endswith(b"content-length: 2\r\nconnection: close\r\n\r\n")


def test_the_cached_head_gets_a_new_date_each_second(monkeypatch):
    from conduit.http.h1 import writer

    monkeypatch.setattr(writer.time, "time", lambda: 1_000_000_000.2)
    first, _ = writer.response_head(200, [], b"conduit", 0, False)
    monkeypatch.setattr(writer.time, "time", lambda: 1_000_000_001.2)
    second, _ = writer.response_head(200, [], b"conduit", 0, False)
    assert b"date: Sun, 09 Sep 2001 01:46:40 GMT" in first
    assert b"date: Sun, 09 Sep 2001 01:46:41 GMT" in second


def test_unhashable_header_pairs_are_validated_and_not_cached():
    from conduit.http.h1 import writer

    head, _ = fresh_head(200, [["x-a", "1"]], 0, False)
    assert b"x-a: 1\r\n" in head and writer._heads == {}
    with pytest.raises(ResponseHeaderError):
        writer.response_head(200, [["x-a", "1\r\nx: y"]], b"conduit", 0, False)
