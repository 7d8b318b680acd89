"""Newline-delimited JSON framing (the stdio transport, both ends), sans-IO.

``LineFramer.feed(chunk)`` returns the complete lines in ``chunk`` (stripped, empty ones
left out) plus :data:`OVERSIZED` once for each line that grew past ``max_bytes``; such a
line is dropped as it arrives, never buffered whole, so a peer that never sends a newline
costs at most ``max_bytes`` of memory.
"""

from __future__ import annotations

__all__ = ["LineFramer", "OVERSIZED"]

OVERSIZED = object()  # stands in for a dropped line, so the reader can say so


class LineFramer:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, chunk: bytes) -> list[bytes | object]:
        out: list[bytes | object] = []
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                if not self._discarding:
                    self._buffer += chunk[start:]
                    if len(self._buffer) > self.max_bytes:
                        self._buffer.clear()
                        self._discarding = True
                        out.append(OVERSIZED)
                return out
            if self._discarding:
                self._discarding = False
            else:
                self._buffer += chunk[start:newline]
                line = bytes(self._buffer)
                self._buffer.clear()
                if len(line) > self.max_bytes:  # the same bound whether it came whole or in pieces
                    out.append(OVERSIZED)
                elif line.strip():
                    out.append(line.strip())
            start = newline + 1
