"""Client WebSocket frames in, wsproto events out: simple frames through the kernel.

The same split as the HTTP codec (kernel scanner for simple heads, h11 for the
rest): :class:`FrameReader` sits in front of a server-side wsproto connection.
A whole text or binary message in one masked frame — what nearly every client
sends — is scanned and unmasked by :func:`conduit_kernels.websocket_frames.scan_frames`,
several frames per call, and becomes a wsproto ``TextMessage`` or
``BytesMessage`` without wsproto's per-frame Python. Every other frame (control
frames, fragments, anything malformed) is handed to wsproto byte for byte,
cut at frame boundaries, so wsproto keeps every protocol rule and its state
stays exact; while a fragmented message is open, or once the connection is
closing, every frame goes to wsproto.

Out, :func:`message_frame` writes a whole text or binary message as one unmasked
server frame, the bytes wsproto would write (no extension is ever negotiated), without
its per-frame Python; control frames and closing still go through wsproto.

Bounded: a simple frame longer than ``max_message_size`` is refused (1009) as
soon as its header is read; what is buffered is at most one incomplete frame
no longer than that. Sans-IO: no sockets, no trio.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
from wsproto import WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Message, TextMessage

#: Close code for a message over the size limit (RFC 6455 §7.4.1).
MESSAGE_TOO_BIG = 1009
#: Close code for a text message that is not UTF-8 (RFC 6455 §8.1).
INVALID_DATA = 1007


def warmup() -> None:
    """Compile (or load from Numba's cache) the frame kernel before a socket accepts."""
    from conduit_kernels import websocket_frames

    rows = websocket_frames.new_frame_rows(1)
    frame = np.frombuffer(b"\x81\x81\x01\x02\x03\x04\x60", np.uint8).copy()
    websocket_frames.scan_frames(frame, len(frame), rows, 16)


def message_frame(data: str | bytes | bytearray | memoryview) -> bytes:
    """One final, unmasked server frame (RFC 6455 §5.2) for a whole message: text for a
    ``str`` (UTF-8), binary for bytes, as wsproto frames it; no extension is negotiated."""
    if isinstance(data, str):
        first, payload = 0x81, data.encode("utf-8")
    else:
        first, payload = 0x82, bytes(data)
    length = len(payload)
    if length < 126:
        head = bytes((first, length))
    elif length < 0x10000:
        head = struct.pack("!BBH", first, 126, length)
    else:
        head = struct.pack("!BBQ", first, 127, length)
    return head + payload


class FrameReader:
    """Feeds a server-side wsproto connection; yields the same events it would."""

    __slots__ = ("_ws", "_buffer", "_events", "_passthrough", "_fragmented", "_refused", "_rows",
                 "_scan", "max_message_size")

    def __init__(self, connection: WSConnection, max_message_size: int):
        from conduit_kernels import websocket_frames  # numba loads with the first WebSocket

        self._ws = connection
        self._scan = websocket_frames.scan_frames
        self._rows = websocket_frames.new_frame_rows()
        self._buffer = bytearray()
        self._events: deque[Any] = deque()
        #: Bytes of the current frame still owed to wsproto (-1: the rest of the stream).
        self._passthrough = 0
        self._fragmented = False
        self._refused = False
        self.max_message_size = max_message_size

    def receive_data(self, data: bytes) -> None:
        if self._refused:
            return
        buffer = self._buffer
        buffer += data
        while buffer:
            if self._passthrough:
                take = len(buffer) if self._passthrough < 0 else min(self._passthrough, len(buffer))
                self._feed_wsproto(bytes(buffer[:take]))
                del buffer[:take]
                if self._passthrough > 0:
                    self._passthrough -= take
                continue
            if self._fragmented or self._ws.state is not ConnectionState.OPEN:
                self._passthrough = -1  # every later byte is wsproto's
                continue
            view = np.frombuffer(buffer, np.uint8)
            frames, consumed = self._scan(view, len(buffer), self._rows, self.max_message_size)
            del view  # the bytearray cannot shrink while numpy holds its buffer
            for kind, start, end in self._rows[:frames].tolist():
                if kind == 1:
                    try:
                        self._events.append(TextMessage(data=buffer[start:end].decode("utf-8")))
                    except UnicodeDecodeError as exc:  # wsproto's answer to the same frame
                        return self._refuse(INVALID_DATA, str(exc))
                elif kind == 2:
                    self._events.append(BytesMessage(data=bytes(buffer[start:end])))
                elif kind == 0:
                    self._passthrough = end - start if end >= 0 else -1
                else:
                    return self._refuse(MESSAGE_TOO_BIG, f"message over {self.max_message_size} bytes")
            del buffer[:consumed]
            if not self._passthrough and frames < len(self._rows):
                return  # all consumed, or an incomplete frame waits for more bytes

    def _feed_wsproto(self, data: bytes) -> None:
        ws = self._ws
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, Message):
                self._fragmented = not event.message_finished
            self._events.append(event)

    def _refuse(self, code: int, reason: str) -> None:
        """The stream cannot go on: a close event, and nothing read after it."""
        self._refused = True
        self._buffer.clear()
        self._events.append(CloseConnection(code=code, reason=reason))

    def events(self) -> Iterator[Any]:
        events = self._events
        while events:
            yield events.popleft()


__all__ = ["FrameReader", "message_frame", "warmup"]
