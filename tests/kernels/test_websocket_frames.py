"""The WebSocket frame kernel against wsproto's own masking and framing (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from wsproto.frame_protocol import XorMaskerSimple

from _client_frames import client_frame
from conduit_kernels.websocket_frames import BINARY, OTHER, TEXT, TOO_BIG, new_frame_rows, scan_frames, unmask


def scan(data: bytes, max_payload: int = 1 << 20, rows: int = 64):
    buf = np.frombuffer(bytearray(data), np.uint8)
    out = new_frame_rows(rows)
    frames, consumed = scan_frames(buf, len(buf), out, max_payload)
    return buf, out[:frames].tolist(), consumed


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4), st.integers(0, 7))
def test_unmask_equals_wsproto_masker(payload, key, offset):
    expected_key = key[offset % 4:] + key[:offset % 4]
    expected = bytes(XorMaskerSimple(expected_key).process(bytearray(payload)))
    data = np.frombuffer(bytearray(payload), np.uint8)
    unmask(data, np.frombuffer(key, np.uint8).copy(), offset)
    assert data.tobytes() == expected


def test_unmask_piece_by_piece_equals_whole():
    rng = np.random.default_rng(7)
    payload = rng.integers(0, 256, 1001, dtype=np.uint8)
    key = rng.integers(0, 256, 4, dtype=np.uint8)
    whole = payload.copy()
    unmask(whole, key)
    pieces = payload.copy()
    for start, stop in ((0, 3), (3, 10), (10, 511), (511, 1001)):
        unmask(pieces[start:stop], key, start)
    assert pieces.tobytes() == whole.tobytes()


def test_unmask_refuses_a_bad_key_or_data():
    with pytest.raises(ValueError, match="4 uint8 bytes"):
        unmask(np.zeros(4, np.uint8), np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="one-dimensional uint8"):
        unmask(np.zeros(4, np.int32), np.zeros(4, np.uint8))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=70_000), st.binary(min_size=4, max_size=4), st.sampled_from([1, 2])),
                max_size=5))
def test_simple_frames_unmask_to_their_payloads(messages):
    data = b"".join(client_frame(payload, key, opcode) for payload, key, opcode in messages)
    buf, rows, consumed = scan(data)
    assert consumed == len(data)
    assert [(kind, buf[start:end].tobytes()) for kind, start, end in rows] == \
        [(opcode, payload) for payload, _, opcode in messages]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 400))
def test_an_incomplete_frame_is_never_consumed(payload, cut):
    frame = client_frame(payload, b"abcd")
    cut = min(cut, len(frame) - 1)
    _, rows, consumed = scan(frame[:cut])
    assert rows == [] and consumed == 0


@pytest.mark.parametrize(("frame", "why"), [
    (client_frame(b"x", b"abcd", opcode=9), "ping"),
    (client_frame(b"x", b"abcd", opcode=8), "close"),
    (client_frame(b"x", b"abcd", opcode=0), "continuation"),
    (client_frame(b"x", b"abcd", fin=False), "first fragment"),
    (client_frame(b"x", b"abcd", rsv=4), "RSV1 without an extension"),
    (client_frame(b"x", b"abcd", masked=False), "unmasked client frame"),
    (client_frame(b"x", b"abcd", length_bytes=2), "2-byte length where 1 would do"),
    (client_frame(b"x" * 200, b"abcd", length_bytes=8), "8-byte length where 2 would do"),
    (client_frame(b"x", b"abcd", opcode=3), "reserved opcode"),
])
def test_every_frame_that_is_not_simple_goes_to_wsproto_whole(frame, why):
    before = client_frame(b"first", b"wxyz")
    buf, rows, consumed = scan(before + frame + client_frame(b"after", b"wxyz"))
    assert rows[0][0] == TEXT and buf[rows[0][1]:rows[0][2]].tobytes() == b"first"
    assert rows[1] == [OTHER, len(before), len(before) + len(frame)], why
    assert consumed == len(before) and len(rows) == 2


def test_a_length_with_the_top_bit_set_is_handed_over_with_no_end():
    frame = b"\x81\xff" + b"\x80" + b"\x00" * 7 + b"abcd"
    _, rows, consumed = scan(frame)
    assert rows == [[OTHER, 0, -1]] and consumed == 0


def test_a_frame_over_the_limit_is_refused_from_its_header():
    head = client_frame(b"y" * 5000, b"abcd")[:8]  # only the header has arrived
    _, rows, consumed = scan(head, max_payload=4096)
    assert rows == [[TOO_BIG, 0, 8 + 5000]] and consumed == 0


def test_rows_fill_up_and_the_rest_waits():
    data = b"".join(client_frame(b"%d" % i, b"abcd", opcode=2) for i in range(10))
    buf, rows, consumed = scan(data, rows=4)
    assert [kind for kind, _, _ in rows] == [BINARY] * 4
    assert [buf[s:e].tobytes() for _, s, e in rows] == [b"0", b"1", b"2", b"3"]
    assert consumed == rows[-1][2]
