"""WebSocket frames from a client (RFC 6455 §5.2): scan headers and unmask payloads in bulk.

A server receives every client frame masked with a 4-byte key (§5.3); unmasking
is a byte-wise XOR, a Python loop's worst case. :func:`scan_frames` walks every
complete frame in a buffer in one call: it reads each header, classifies the
frame and, for a *simple* frame — a whole text or binary message in one frame
(FIN set, RSV bits clear, opcode 1 or 2, masked, its length in the shortest
encoding) — unmasks the payload in place. Everything else (control frames,
fragments, malformed or unmasked headers) is reported as :data:`OTHER` with its
extent, so the caller hands exactly those bytes to a full protocol
implementation (wsproto), which owns every rule the kernel does not check. The
kernel stops at the first frame that is not simple or not complete, so the
caller never loses its place in the stream.

``out`` rows (int64[:, 3]), one per frame reported::

    out[i, 0]  kind: TEXT (1), BINARY (2), OTHER (0), TOO_BIG (-1)
    out[i, 1]  start: payload start (TEXT/BINARY), frame start (OTHER, TOO_BIG)
    out[i, 2]  end: payload end (TEXT/BINARY), frame end (OTHER; may lie past ``n``,
               or -1 when the header is malformed and the frame's end unknown)
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

__all__ = ["BINARY", "OTHER", "TEXT", "TOO_BIG", "new_frame_rows", "scan_frames", "unmask"]

#: Kinds of frame in ``out[:, 0]`` (TEXT and BINARY are the RFC 6455 opcodes).
OTHER, TEXT, BINARY, TOO_BIG = 0, 1, 2, -1


@kernel
def _unmask(data, key, offset):
    k0 = key[(offset + 0) & 3]
    k1 = key[(offset + 1) & 3]
    k2 = key[(offset + 2) & 3]
    k3 = key[(offset + 3) & 3]
    n = data.shape[0]
    body = n - (n & 3)
    for i in range(0, body, 4):
        data[i] ^= k0
        data[i + 1] ^= k1
        data[i + 2] ^= k2
        data[i + 3] ^= k3
    rotated = (k0, k1, k2)
    for i in range(body, n):
        data[i] ^= rotated[i - body]


@kernel
def _scan(buf, n, out, max_payload):
    frames = 0
    pos = 0
    rows = out.shape[0]
    while frames < rows and n - pos >= 2:
        b0 = buf[pos]
        b1 = buf[pos + 1]
        fin = b0 & 0x80
        rsv = b0 & 0x70
        opcode = b0 & 0x0F
        masked = b1 & 0x80
        length = np.int64(b1 & 0x7F)
        header = 2
        minimal = True
        if length == 126:
            if n - pos < 4:
                break
            length = (np.int64(buf[pos + 2]) << 8) | np.int64(buf[pos + 3])
            header = 4
            minimal = length >= 126
        elif length == 127:
            if n - pos < 10:
                break
            if buf[pos + 2] & 0x80:  # the most significant bit must be 0 (§5.2)
                out[frames, 0] = OTHER
                out[frames, 1] = pos
                out[frames, 2] = -1
                return frames + 1, pos
            length = np.int64(0)
            for j in range(8):
                length = (length << 8) | np.int64(buf[pos + 2 + j])
            header = 10
            minimal = length > 0xFFFF
        if masked:
            header += 4
        simple = fin != 0 and rsv == 0 and (opcode == 1 or opcode == 2) and masked != 0 and minimal
        if not simple:
            out[frames, 0] = OTHER
            out[frames, 1] = pos
            out[frames, 2] = pos + header + length
            return frames + 1, pos
        if length > max_payload:
            out[frames, 0] = TOO_BIG
            out[frames, 1] = pos
            out[frames, 2] = pos + header + length
            return frames + 1, pos
        if n - pos < header + length:
            break  # an incomplete simple frame: wait for the rest
        start = pos + header
        end = start + length
        _unmask(buf[start:end], buf[start - 4:start], 0)
        out[frames, 0] = opcode
        out[frames, 1] = start
        out[frames, 2] = end
        frames += 1
        pos = end
    return frames, pos


def new_frame_rows(rows: int = 64) -> np.ndarray:
    """An ``out`` array for :func:`scan_frames`: at most ``rows`` frames per call."""
    return np.empty((rows, 3), np.int64)


def scan_frames(buf: np.ndarray, n: int, out: np.ndarray, max_payload: int) -> tuple[int, int]:
    """Scan the client frames in ``buf[:n]``; unmask simple ones in place.

    Parameters
    ----------
    buf : uint8[::1], writable
        Received bytes, starting at a frame boundary.
    n : int
        How many bytes of ``buf`` hold data.
    out : int64[rows, 3]
        Receives one row per frame (see the module docstring).
    max_payload : int
        A simple frame with a longer payload is reported as :data:`TOO_BIG` as soon
        as its header is read, before its payload arrives.

    Returns
    -------
    (frames, consumed)
        Rows written, and the offset of the first byte not consumed as a simple
        frame (the start of the OTHER/TOO_BIG frame, of an incomplete frame, or ``n``).

    >>> frame = bytearray(b"\\x81\\x83\\x01\\x02\\x03\\x04") + bytes(b ^ k for b, k in zip(b"abc", b"\\x01\\x02\\x03"))
    >>> buf = np.frombuffer(frame, np.uint8).copy()
    >>> rows = new_frame_rows()
    >>> frames, consumed = scan_frames(buf, len(buf), rows, 1024)
    >>> frames, consumed, rows[0].tolist(), buf[6:9].tobytes()
    (1, 9, [1, 6, 9], b'abc')
    """
    return _scan(buf, n, out, max_payload)


def unmask(data: np.ndarray, key: np.ndarray, offset: int = 0) -> None:
    """XOR ``data`` in place with the 4-byte masking ``key`` (RFC 6455 §5.3).

    ``offset`` is the position of ``data[0]`` within the masked payload (its index
    modulo 4 picks the key byte), so a payload may be unmasked piece by piece.

    >>> data = np.frombuffer(b"\\x00\\x00\\x00\\x00\\x00", np.uint8).copy()
    >>> unmask(data, np.array([1, 2, 3, 4], np.uint8), offset=1)
    >>> data.tolist()
    [2, 3, 4, 1, 2]
    """
    if key.shape != (4,) or key.dtype != np.uint8:
        raise ValueError(f"a masking key is 4 uint8 bytes, got shape {key.shape} and dtype {key.dtype}")
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"data must be a one-dimensional uint8 array, got {data.ndim}-d {data.dtype}")
    _unmask(data, key, offset)
