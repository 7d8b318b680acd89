"""The chunked decoder's phases, error codes and state array, without Numba.

Kept apart from :mod:`.chunked` so that a server running the ahead-of-time
compiled decoder (:mod:`.aot`) reads them without importing Numba.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DATA", "DATA_END", "DONE", "ERR_FRAMING", "ERR_OVERHEAD", "ERR_SIZE", "ERR_TOO_LARGE",
           "MAX_LINE", "SIZE", "STATE_FIELDS", "TRAILER", "new_state"]

SIZE, DATA, DATA_END, TRAILER, DONE = range(5)
#: Malformed framing (bad size line, missing CRLF after data, bad trailer line) → 400.
ERR_FRAMING = 1
#: A chunk size of more than 15 significant hex digits (it could overflow int64) → 400.
ERR_SIZE = 2
#: The body's data would exceed the body limit → 413.
ERR_TOO_LARGE = 3
#: The framing bytes exceed their budget (a body of tiny chunks, huge extensions) → 400.
ERR_OVERHEAD = 4
#: Longest size line or trailer line, CRLF included.
MAX_LINE = 4096
STATE_FIELDS = 8


def new_state(limit: int, overhead_budget: int) -> np.ndarray:
    """A fresh decoder state for a body of at most ``limit`` data bytes."""
    state = np.zeros(STATE_FIELDS, np.int64)
    state[4] = limit
    state[5] = overhead_budget
    return state
