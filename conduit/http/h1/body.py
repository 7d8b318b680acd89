"""Request body framing (RFC 9112 §6): Content-Length and chunked, with their limits.

One reader per body, the same for both head parsers, and the same when the
application reads the body and when the server drains what it left unread, so
the limits below hold in every case:

- a declared ``Content-Length`` over the body limit is refused before a byte of
  the body is read (and before any ``100 Continue``): 413;
- a chunked body is decoded in bulk by ``conduit_kernels.chunked`` (one kernel
  call per read, whatever the chunk sizes), its data counted against the body
  limit (413), and its framing bytes (size lines, extensions, CRLFs, trailers)
  against a budget equal to the body limit, at least :data:`MIN_OVERHEAD_BUDGET`
  (400). So a client can make the server parse at most about twice the body limit
  per body: a body of one-byte chunks spends 5 framing bytes per data byte and is
  refused once its framing passes the budget.
"""

from __future__ import annotations

import numpy as np

from ..request import BODY_LIMIT_HINT
from .events import END_OF_MESSAGE, NEED_DATA, Data, ProtocolError

#: The least framing budget of a chunked body, so small limits still allow normal chunking.
MIN_OVERHEAD_BUDGET = 64 * 1024


class LengthBody:
    """A body of a declared length."""

    __slots__ = ("left", "_checked")

    def __init__(self, length: int):
        self.left = length
        self._checked = False

    def fits(self, limit: int) -> bool:
        """Whether what is left may be read (or drained) under ``limit``."""
        return self.left <= limit

    def next_event(self, buffer: bytearray, limit: int):
        if not self._checked:
            if self.left > limit:
                raise ProtocolError(413, f"request body of {self.left} bytes exceeds {limit} bytes; {BODY_LIMIT_HINT}")
            self._checked = True
        if not self.left:
            return END_OF_MESSAGE
        if not buffer:
            return NEED_DATA
        take = self.left
        if take >= len(buffer):
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:take])
            del buffer[:take]
        self.left -= len(data)
        return Data(data)


_decode_chunked = None  # set by _load
_ERRORS = {}  # filled by _load: kernel error code -> (status, detail)


class ChunkedBody:
    """A chunked body, decoded in bulk (see the module docstring for its limits)."""

    __slots__ = ("_state", "_done", "_error")

    def __init__(self):
        self._state: np.ndarray | None = None
        self._done = False
        self._error: ProtocolError | None = None  # found after data still to hand over

    def fits(self, limit: int) -> bool:
        return True  # unknown until read; draining stops at the limit

    def next_event(self, buffer: bytearray, limit: int):
        if self._error is not None:
            raise self._error
        if self._done:
            return END_OF_MESSAGE
        chunked = _load()
        if self._state is None:
            self._state = chunked.new_state(limit, max(limit, MIN_OVERHEAD_BUDGET))
        if not buffer:
            return NEED_DATA
        state = self._state
        out = np.empty(len(buffer), np.uint8)
        consumed = _decode_chunked(buffer, 0, len(buffer), out, state)
        phase, _left, written, error = state[:4].tolist()
        if error:
            # The data before the fault is handed over first, so that the events do
            # not depend on how the bytes were split into reads.
            status, detail = _ERRORS[error]
            self._error = ProtocolError(status, detail.format(limit=limit))
            if not written:
                raise self._error
        del buffer[:consumed]
        if phase == chunked.DONE:
            self._done = True
        if written:
            return Data(out[:written].tobytes())
        return END_OF_MESSAGE if self._done else NEED_DATA


def load_decoder() -> None:
    """Select the chunk decoder: the ahead-of-time one when built (no Numba), else
    ``conduit_kernels.chunked`` (the JIT, loaded from Numba's cache when it can)."""
    global _decode_chunked
    from conduit_kernels import aot

    compiled = aot.kernels()
    if compiled is not None:
        _decode_chunked = compiled.decode_chunked
    else:
        from conduit_kernels.chunked import decode_chunked

        _decode_chunked = decode_chunked


def _load():
    """The chunk decoder's constants, and the decoder on first use (numba stays out of ``import conduit``)."""
    from conduit_kernels import chunked_state as chunked

    if _decode_chunked is None:
        load_decoder()
    if not _ERRORS:
        _ERRORS.update({
            chunked.ERR_FRAMING: (400, "malformed chunked body"),
            chunked.ERR_SIZE: (400, "malformed chunked body: chunk size too large to represent"),
            chunked.ERR_TOO_LARGE: (413, "request body exceeds {limit} bytes; " + BODY_LIMIT_HINT),
            chunked.ERR_OVERHEAD: (400, "chunked body framing exceeds its budget (too many tiny chunks"
                                        " or oversized chunk extensions)"),
        })
    return chunked


def warmup() -> None:
    """Select the chunk decoder (:func:`load_decoder`) and run it once (compiling it, or
    loading it from Numba's cache, when it is the JIT one)."""
    load_decoder()
    reader = ChunkedBody()
    reader.next_event(bytearray(b"1\r\na\r\n0\r\n\r\n"), 16)
