"""The bulk chunked-body decoder against h11's, whole and in arbitrary splits."""

from __future__ import annotations

import h11
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit_kernels.chunked import (DONE, ERR_FRAMING, ERR_OVERHEAD, ERR_SIZE, ERR_TOO_LARGE, MAX_LINE,
                                     decode_chunked, new_state)


@pytest.fixture(autouse=True, scope="module")
def _jit_then_aot(kernel_impl):
    """Every case runs against the JIT kernel, then the ahead-of-time one (conftest.kernel_impl)."""
    global decode_chunked
    decode_chunked = kernel_impl.decode_chunked


def decode(pieces, limit=1 << 20, budget=1 << 20):
    """(data, error code, done) decoding the pieces as successive reads."""
    state = new_state(limit, budget)
    pending = bytearray()
    data = bytearray()
    for piece in pieces:
        pending += piece
        out = np.empty(len(pending), np.uint8)
        stop = decode_chunked(pending, 0, len(pending), out, state)
        data += out[:state[2]].tobytes()
        if state[3]:
            return bytes(data), int(state[3]), False
        del pending[:stop]
    return bytes(data), 0, state[0] == DONE


def h11_decode(framed: bytes) -> bytes:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + framed)
    assert isinstance(conn.next_event(), h11.Request)
    data = b""
    while isinstance(event := conn.next_event(), h11.Data):
        data += event.data
    assert isinstance(event, h11.EndOfMessage)
    return data


def frame(chunks, ext=b"", trailer=b""):
    return b"".join(b"%x%s\r\n%s\r\n" % (len(c), ext, c) for c in chunks) + b"0\r\n" + trailer + b"\r\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=20), st.sampled_from([b"", b";a=b", b";x;y=\"q\""]),
       st.sampled_from([b"", b"X-T: 1\r\n"]), st.integers(1, 50))
def test_same_data_as_h11_in_any_split(chunks, ext, trailer, step):
    framed = frame(chunks, ext, trailer)
    expected = h11_decode(framed)
    assert decode([framed]) == (expected, 0, True)
    assert decode([framed[i:i + step] for i in range(0, len(framed), step)]) == (expected, 0, True)


def test_whitespace_before_an_extension_is_accepted():
    # RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS ext-name ... ); h11 refuses the BWS.
    assert decode([b"3 ;x\r\nabc\r\n0\r\n\r\n"]) == (b"abc", 0, True)


def test_one_byte_chunks_in_one_call():
    framed = frame([b"a"] * 10000)
    assert decode([framed]) == (b"a" * 10000, 0, True)


def test_bytes_after_the_body_are_not_consumed():
    framed = frame([b"abc"]) + b"GET /next"
    state = new_state(100, 100)
    out = np.empty(len(framed), np.uint8)
    assert decode_chunked(framed, 0, len(framed), out, state) == len(framed) - len(b"GET /next")


@pytest.mark.parametrize("framed, error", [
    (b"10000000000000000\r\n", ERR_SIZE),                 # 17 hex digits: past int64
    (b"ffffffffffffffffffffffffff\r\n", ERR_SIZE),
    (b"0000000000000000000005\r\nhello\r\n0\r\n\r\n", 0),  # leading zeros are fine
    (b"x\r\n", ERR_FRAMING),
    (b"\r\n", ERR_FRAMING),
    (b"5\nhello", ERR_FRAMING),
    (b"5\r\nhelloXX", ERR_FRAMING),
    (b"5;\x01\r\nhello\r\n", ERR_FRAMING),
    (b"0\r\nno colon\r\n\r\n", ERR_FRAMING),
    (b"65\r\n", ERR_TOO_LARGE),                           # 101 bytes, limit 100
    (b"1;" + b"x" * MAX_LINE, ERR_FRAMING),               # a size line that never ends
])
def test_errors(framed, error):
    assert decode([framed], limit=100)[1] == error


def test_framing_budget():
    assert decode([frame([b"a"] * 100)], budget=200)[1] == ERR_OVERHEAD
    assert decode([frame([b"a"] * 10)], budget=200)[1] == 0
