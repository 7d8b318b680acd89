"""The memory guard: process RSS against a limit, with hysteresis.

RSS is read from ``/proc/<pid>/statm`` (Linux; one small read, done at most once per
``interval`` seconds, never per request). The guard starts shedding when RSS goes
*over* ``limit`` and stops only when it is back *under* ``low_water`` (default 90 %
of the limit): between the two it keeps its state, so a process hovering at the
limit does not flap between serving and refusing.

Between two reads, request bodies arriving are *charged* to the last reading
(:meth:`MemoryGuard.charge`): RSS cannot be read per chunk, but the bytes held are
known, so a burst of uploads trips the guard as soon as the reading plus what
arrived since passes the limit — at most one read per connection late, not one
``interval``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

from .metrics import admission_metrics

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int) -> int:
    """``"1GB"`` → 1_000_000_000, ``"512MiB"`` → 536_870_912, ``"1000"`` → 1000 bytes.

    Decimal units (KB, MB, GB) are powers of 1000, binary ones (KiB, MiB, GiB) of 1024.
    """
    if isinstance(text, int):
        if text < 1:
            raise ValueError(f"a memory size must be positive, got {text}")
        return text
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"cannot read {text!r} as a size: use a number with B, KB, MB, GB (powers of "
                         f"1000) or KiB, MiB, GiB (powers of 1024), e.g. '1GB'")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size < 1:
        raise ValueError(f"a memory size must be positive, got {text!r}")
    return size


def process_rss(pid: int | str = "self") -> int:
    """Resident set size of ``pid`` in bytes (0 where ``/proc`` is not available)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class MemoryGuard:
    """Shed load while RSS is over ``limit``; resume under ``low_water``.

    Parameters
    ----------
    limit : bytes of RSS past which new requests are refused
    low_water : bytes under which they are taken again (default ``0.9 * limit``)
    interval : seconds between two RSS reads (checks in between reuse the last one)
    read_rss : the probe, ``() -> bytes`` (tests and other platforms pass their own)
    """

    def __init__(self, limit: int, *, low_water: int | None = None, interval: float = 0.25,
                 read_rss: Callable[[], int] = process_rss,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"max_memory must be positive, got {limit}")
        low_water = max(1, int(limit * 0.9)) if low_water is None else low_water
        if not 0 < low_water <= limit:
            raise ValueError(f"memory low-water mark must be in (0, limit={limit}], got {low_water}")
        self.limit = limit
        self.low_water = low_water
        self.interval = interval
        self.read_rss = read_rss
        self.clock = clock
        self.rss = 0
        #: Body bytes received since the last RSS reading (see :meth:`charge`).
        self.charged = 0
        self.shedding = False
        self._sampled_at = float("-inf")
        self._metrics = admission_metrics()

    def check(self) -> bool:
        """Whether the guard is shedding now (reads RSS if the last read is stale)."""
        now = self.clock()
        if now - self._sampled_at >= self.interval:
            self._sampled_at = now
            self.charged = 0
            self.update(self.read_rss())
        return self.shedding

    def charge(self, size: int) -> bool:
        """Count ``size`` body bytes just received; whether the guard sheds now.

        The estimate ``rss + charged`` is compared with the limit on every call;
        the next RSS reading replaces it (it then holds those bytes itself).
        """
        self.charged += size
        if self.check():
            return True
        if self.rss + self.charged > self.limit:
            self._start_shedding()
        return self.shedding

    def update(self, rss: int) -> bool:
        """Apply one RSS reading; returns whether the guard is shedding."""
        self.rss = rss
        m = self._metrics
        m.rss.set(rss)
        if not self.shedding and rss > self.limit:
            self._start_shedding()
        elif self.shedding and rss < self.low_water:
            self.shedding = False
            m.shedding.set(0)
        return self.shedding

    def _start_shedding(self) -> None:
        self.shedding = True
        self._metrics.transitions.inc()
        self._metrics.shedding.set(1)

    def describe(self) -> str:
        return (f"memory {self.rss / 1e6:.0f} MB over the {self.limit / 1e6:.0f} MB limit "
                f"(serving again under {self.low_water / 1e6:.0f} MB)")
