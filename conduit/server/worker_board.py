"""What a supervisor and its forked workers tell each other, through one shared page.

A signal carries no payload and may arrive before a worker can handle it (the
default action of most signals kills the process), so the supervisor and the
workers write into an anonymous shared mapping (inherited by fork) and poll it.
Per worker slot:

- a heartbeat: ``time.monotonic()`` (one clock for every process on the host),
  written from the worker's event loop; 0 means "has not beaten yet" (still
  warming up), which the worker timeout does not count;
- a retirement state: :data:`SERVING`, :data:`RETIRE` (the supervisor asks the
  worker to drain gently: over the hard memory limit) or :data:`RETIRING` (the
  worker has stopped accepting; its replacement may start now).
"""

from __future__ import annotations

import mmap
import struct
import time

SERVING, RETIRE, RETIRING = 0, 1, 2

_SLOT = 16  # a float64 heartbeat, then the state as a float64 (aligned, one format)


class WorkerBoard:
    """Heartbeats and retirement states of ``slots`` workers, shared across fork."""

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, _SLOT * slots)

    def beat(self, slot: int) -> None:
        struct.pack_into("d", self._map, _SLOT * slot, time.monotonic())

    def last(self, slot: int) -> float:
        return struct.unpack_from("d", self._map, _SLOT * slot)[0]

    def reset(self, slot: int) -> None:
        """A fresh worker takes the slot: no beat yet, serving."""
        struct.pack_into("dd", self._map, _SLOT * slot, 0.0, float(SERVING))

    def state(self, slot: int) -> int:
        return int(struct.unpack_from("d", self._map, _SLOT * slot + 8)[0])

    def set_state(self, slot: int, state: int) -> None:
        struct.pack_into("d", self._map, _SLOT * slot + 8, float(state))


__all__ = ["RETIRE", "RETIRING", "SERVING", "WorkerBoard"]
