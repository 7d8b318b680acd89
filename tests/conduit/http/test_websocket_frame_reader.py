"""FrameReader yields what wsproto alone yields, for any stream of client frames cut anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, Pong, TextMessage
from wsproto.events import AcceptConnection

from conduit.http.websocket_frames import FrameReader
from conduit.websocket import handshake
from _client_frames import client_frame

HANDSHAKE = (b"GET /ws HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def open_connection():
    connection, request = handshake(HANDSHAKE)
    assert request is not None
    connection.send(AcceptConnection())
    return connection


def messages(events) -> list:
    """Events as whole messages: fragments and partial frames joined; stops at the first close."""
    out, parts = [], []
    for event in events:
        if isinstance(event, Message):
            parts.append(event.data)
            if event.message_finished:
                joined = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                out.append(("text" if isinstance(event, TextMessage) else "bytes", joined))
                parts = []
        elif isinstance(event, Ping):
            out.append(("ping", bytes(event.payload)))
        elif isinstance(event, Pong):
            out.append(("pong", bytes(event.payload)))
        elif isinstance(event, CloseConnection):
            out.append(("close", event.code))
            break
    return out


def run_wsproto(stream: bytes, cuts: list[int]) -> list:
    connection, events = open_connection(), []
    for piece in pieces(stream, cuts):
        connection.receive_data(piece)
        events.extend(connection.events())
        if any(isinstance(e, CloseConnection) for e in events):
            break
    return messages(events)


def run_reader(stream: bytes, cuts: list[int], max_message_size: int = 1 << 30) -> list:
    reader, events = FrameReader(open_connection(), max_message_size), []
    for piece in pieces(stream, cuts):
        reader.receive_data(piece)
        events.extend(reader.events())
        if any(isinstance(e, CloseConnection) for e in events):
            break
    return messages(events)


def pieces(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    return [stream[a:b] for a, b in zip(points, points[1:])]


keys = st.binary(min_size=4, max_size=4)
texts = st.text(max_size=200).map(lambda s: s.encode())
simple = st.builds(lambda p, k, op: client_frame(p, k, op), st.binary(max_size=300), keys, st.sampled_from([1, 2]))
simple_text = st.builds(lambda p, k: client_frame(p, k, 1), texts, keys)
fragmented = st.builds(
    lambda parts, k, op: b"".join(client_frame(p, k, op if i == 0 else 0, fin=i == len(parts) - 1)
                                  for i, p in enumerate(parts)),
    st.lists(texts, min_size=2, max_size=4), keys, st.sampled_from([1, 2]))
control = st.builds(lambda p, k, op: client_frame(p, k, op), st.binary(max_size=125), keys, st.sampled_from([9, 10]))
close = st.builds(lambda k, code: client_frame(code.to_bytes(2, "big"), k, 8), keys, st.sampled_from([1000, 1001, 4000]))
broken = st.one_of(
    st.builds(lambda p, k: client_frame(p, k, 1), st.sampled_from([b"\xff", b"ab\xc3", b"\xed\xa0\x80"]), keys),
    st.builds(lambda p, k: client_frame(p, k, 1, rsv=2), texts, keys),
    st.builds(lambda p: client_frame(p, b"", 2, masked=False), st.binary(max_size=20)),
    st.builds(lambda p, k: client_frame(p, k, 1, length_bytes=2), texts, keys),
    st.builds(lambda p, k: client_frame(p, k, 0), texts, keys),  # a continuation with nothing to continue
    st.builds(lambda p, k: client_frame(p, k, 9, fin=False), st.binary(max_size=10), keys),
    # a fragment left open: the next simple-looking frame must go to wsproto (1002 there)
    st.builds(lambda p, k, op: client_frame(p, k, op, fin=False), texts, keys, st.sampled_from([1, 2])),
)
frame_lists = st.lists(st.one_of(simple, simple, simple_text, fragmented, control, close, broken), max_size=8)


@settings(max_examples=400, deadline=None)
@given(frame_lists, st.lists(st.integers(0, 10_000), max_size=6))
def test_reader_yields_what_wsproto_yields(frames, cuts):
    stream = b"".join(frames)
    assert run_reader(stream, cuts) == run_wsproto(stream, cuts)


@settings(max_examples=100, deadline=None)
@given(frame_lists)
def test_reader_byte_at_a_time_equals_whole(frames):
    stream = b"".join(frames)
    assert run_reader(stream, list(range(len(stream)))) == run_reader(stream, [])


def test_a_simple_frame_over_the_limit_closes_1009_before_its_payload_arrives():
    frame = client_frame(b"z" * 10_000, b"abcd", 2)
    reader = FrameReader(open_connection(), max_message_size=4096)
    reader.receive_data(frame[:8])
    assert messages(reader.events()) == [("close", 1009)]
    reader.receive_data(frame[8:])  # nothing is read after the refusal
    assert list(reader.events()) == []


def test_invalid_utf8_in_one_frame_closes_1007_like_wsproto():
    stream = client_frame(b"ok", b"abcd", 1) + client_frame(b"\xc3\x28", b"abcd", 1) + client_frame(b"x", b"abcd", 1)
    assert run_reader(stream, []) == run_wsproto(stream, []) == [("text", "ok"), ("close", 1007)]


def test_many_frames_in_one_read_all_arrive_in_order():
    stream = b"".join(client_frame(b"%d" % i, b"abcd", 2) for i in range(500))
    assert run_reader(stream, []) == [("bytes", b"%d" % i) for i in range(500)]


def test_a_ping_between_messages_is_answered_in_order():
    stream = client_frame(b"a", b"abcd", 1) + client_frame(b"p", b"abcd", 9) + client_frame(b"b", b"abcd", 1)
    assert run_reader(stream, [3, 9]) == [("text", "a"), ("ping", b"p"), ("text", "b")]


def test_messages_are_the_classes_wsproto_uses():
    reader = FrameReader(open_connection(), 1024)
    reader.receive_data(client_frame(b"t", b"abcd", 1) + client_frame(b"b", b"abcd", 2))
    events = list(reader.events())
    assert [type(e) for e in events] == [TextMessage, BytesMessage]
    assert all(e.message_finished and e.frame_finished for e in events)


def test_a_new_message_inside_an_open_fragmented_one_is_wsprotos_1002():
    for first in (b"", b"ab"):
        stream = (client_frame(first, b"abcd", 1, fin=False) + client_frame(b"x", b"abcd", 1)
                  + client_frame(b"y", b"abcd", 0))
        assert run_reader(stream, []) == run_wsproto(stream, []) == [("close", 1002)]


def test_frames_after_the_client_close_are_wsprotos_to_ignore():
    stream = client_frame(b"a", b"abcd", 1) + client_frame((1000).to_bytes(2, "big"), b"abcd", 8) \
        + client_frame(b"late", b"abcd", 1)
    reader = FrameReader(open_connection(), 1024)
    reader.receive_data(stream)
    events = list(reader.events())
    assert messages(events) == [("text", "a"), ("close", 1000)]
    assert not any(isinstance(e, TextMessage) and e.data == "late" for e in events)  # never the fast path


# ---------------------------------------------------------------- frames out


def _wsproto_server_frame(data) -> bytes:
    """What wsproto writes for one whole message on an open server connection."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="h", target="/")))
    next(server.events())
    server.send(AcceptConnection())
    event = TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)
    return server.send(event)


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 0xFFFF, 0x10000, 0x10001])
def test_message_frame_matches_wsproto_at_every_length_boundary(length):
    from conduit.http.websocket_frames import message_frame

    assert message_frame("é" * (length // 2) + "a" * (length % 2)) == _wsproto_server_frame(
        "é" * (length // 2) + "a" * (length % 2))
    assert message_frame(b"\x00" * length) == _wsproto_server_frame(b"\x00" * length)
    assert message_frame(bytearray(b"x" * length)) == _wsproto_server_frame(bytearray(b"x" * length))


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_message_frame_is_byte_for_byte_wsproto(data):
    from conduit.http.websocket_frames import message_frame

    assert message_frame(data) == _wsproto_server_frame(data)


def test_message_frame_refuses_a_lone_surrogate_as_wsproto_does():
    from conduit.http.websocket_frames import message_frame

    with pytest.raises(UnicodeEncodeError):
        message_frame("\ud800")
    with pytest.raises(UnicodeEncodeError):
        _wsproto_server_frame("\ud800")
