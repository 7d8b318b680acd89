"""Bulk decoding of a chunked request body (RFC 9112 §7.1): framed bytes in, data out.

One call decodes every chunk present in a buffer, however small the chunks,
copying their data into a caller-allocated ``uint8`` array; the caller pays one
kernel call per read, never a Python step per chunk. The kernel keeps its
position in a small ``state`` array across calls, so a chunk, a size line or the
trailer may be split across reads at any byte.

A size line is decoded only once it is complete (the kernel stops before it
otherwise and the caller keeps those bytes); one longer than
:data:`MAX_LINE` bytes is an error, so an incomplete line is always bounded.

``state`` layout (int64[8], zeroed for a new body except the two budgets)::

    state[0]  phase: SIZE, DATA, DATA_END, TRAILER or DONE
    state[1]  data bytes still to come in the current chunk
    state[2]  data bytes written to ``out`` by the last call
    state[3]  error code of the last call (0: none)
    state[4]  data bytes the body may still carry (the body limit, counted down)
    state[5]  framing bytes (size lines, CRLFs, trailer) the body may still spend
    state[6]  chunks decoded so far
    state[7]  unused
"""

from __future__ import annotations

import numpy as np

from ._ascii import hex_value as _hex
from ._jit import kernel
from .chunked_state import (DATA, DATA_END, DONE, ERR_FRAMING, ERR_OVERHEAD, ERR_SIZE, ERR_TOO_LARGE, MAX_LINE,
                            SIZE, STATE_FIELDS, TRAILER, new_state)

__all__ = ["DATA", "DATA_END", "DONE", "ERR_FRAMING", "ERR_OVERHEAD", "ERR_SIZE", "ERR_TOO_LARGE",
           "MAX_LINE", "SIZE", "STATE_FIELDS", "TRAILER", "decode_chunked", "new_state"]


@kernel
def _decode(buf, start, n, out, state):
    phase = state[0]
    left = state[1]
    data_left = state[4]
    overhead_left = state[5]
    chunks = state[6]
    written = 0
    error = 0
    i = start
    while i < n and error == 0 and phase != DONE:
        if phase == DATA:
            take = min(left, n - i)
            for k in range(take):
                out[written + k] = buf[i + k]
            written += take
            i += take
            left -= take
            if left == 0:
                phase = DATA_END
        elif phase == DATA_END:
            if n - i < 2:
                break
            if buf[i] != 13 or buf[i + 1] != 10:
                error = ERR_FRAMING
                break
            i += 2
            overhead_left -= 2
            phase = SIZE
        else:  # SIZE or TRAILER: one whole line, or stop before it
            end = -1
            limit = min(n, i + MAX_LINE)
            for k in range(i, limit):
                if buf[k] == 10:
                    end = k
                    break
            if end < 0:
                if limit - i >= MAX_LINE:
                    error = ERR_FRAMING
                break
            if end == i or buf[end - 1] != 13:  # bare LF
                error = ERR_FRAMING
                break
            overhead_left -= end + 1 - i
            if overhead_left < 0:
                error = ERR_OVERHEAD
                break
            if phase == TRAILER:
                if end - 1 == i:  # the empty line ends the body
                    phase = DONE
                else:
                    # A trailer field line: no CR inside, no NUL, and a colon after a name.
                    colon = -1
                    for k in range(i, end - 1):
                        c = buf[k]
                        if c == 13 or c == 0:
                            error = ERR_FRAMING
                            break
                        if c == 58 and colon < 0:
                            colon = k
                    if error == 0 and colon <= i:
                        error = ERR_FRAMING
                i = end + 1
                continue
            # chunk-size [ BWS ";" chunk-ext ] CRLF, chunk-size = 1*HEXDIG.
            k = i
            while k < end - 1 and buf[k] == 48:  # leading zeros are not significant
                k += 1
            digits_start = k
            size = 0
            while k < end - 1 and _hex(buf[k]) >= 0:
                size = size * 16 + _hex(buf[k])
                k += 1
                if k - digits_start > 15:
                    error = ERR_SIZE
                    break
            if error:
                break
            if k == i:  # no hex digit at all
                error = ERR_FRAMING
                break
            while k < end - 1 and (buf[k] == 32 or buf[k] == 9):
                k += 1
            if k < end - 1:
                if buf[k] != 59:  # anything but an extension after the size
                    error = ERR_FRAMING
                    break
                for e in range(k + 1, end - 1):
                    c = buf[e]
                    if (c < 32 and c != 9) or c == 127:
                        error = ERR_FRAMING
                        break
                if error:
                    break
            i = end + 1
            if size == 0:
                phase = TRAILER
            else:
                if size > data_left:
                    error = ERR_TOO_LARGE
                    break
                data_left -= size
                chunks += 1
                left = size
                phase = DATA
    state[0] = phase
    state[1] = left
    state[2] = written
    state[3] = error
    state[4] = data_left
    state[5] = overhead_left
    state[6] = chunks
    return i


def decode_chunked(buf, start: int, n: int, out: np.ndarray, state: np.ndarray) -> int:
    """Decode chunked framing in ``buf[start:n]``; return the index decoding stopped at.

    Parameters
    ----------
    buf : bytes, bytearray or uint8[::1]
        The received bytes.
    start, n : int
        The span to decode.
    out : uint8[:], at least ``n - start`` long
        Receives the chunks' data; ``state[2]`` says how many bytes.
    state : int64[8]
        The decoder state (see the module docstring); ``state[3]`` is an error code
        after a failed call, ``state[0] == DONE`` once the last chunk and the trailer
        are through.

    >>> state = new_state(1 << 20, 1 << 16)
    >>> out = np.empty(32, np.uint8)
    >>> data = b"3\\r\\nabc\\r\\n1;x=y\\r\\nd\\r\\n0\\r\\n\\r\\n"
    >>> decode_chunked(data, 0, len(data), out, state) == len(data), out[:state[2]].tobytes()
    (True, b'abcd')
    """
    return _decode(buf, start, n, out, state)
