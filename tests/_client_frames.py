"""Client WebSocket frames built byte by byte, malformed ones included (for the frame tests)."""

from __future__ import annotations

from wsproto.frame_protocol import XorMaskerSimple


def client_frame(payload: bytes, key: bytes, opcode: int = 1, fin: bool = True, rsv: int = 0,
                 masked: bool = True, length_bytes: int | None = None) -> bytes:
    """A client frame (RFC 6455 §5.2); ``length_bytes`` forces a length encoding (0, 2 or 8)."""
    n = len(payload)
    if length_bytes is None:
        length_bytes = 0 if n < 126 else 2 if n <= 0xFFFF else 8
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    mask_bit = 0x80 if masked else 0
    if length_bytes == 0:
        head += bytes([mask_bit | n])
    elif length_bytes == 2:
        head += bytes([mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mask_bit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    return head + key + bytes(XorMaskerSimple(key).process(bytearray(payload)))
