"""Batching to a latency target: how big a batch may grow, when it waits, whom to refuse.

Owns :class:`LatencyPolicy`, which a :class:`~conduit.ml.serve.batching.DynamicBatcher`
consults when ``app.predict(..., latency_target=0.010)`` is set. BentoML's adaptive dispatcher
is the model (``CorkDispatcher``: one batch in flight, a linear cost model fitted to measured
batches, wait only while waiting keeps the oldest request inside the target). The target ``T``
is the time a request spends in the batcher: its queue wait and its batch's inference (HTTP
parsing and encoding come on top).

The policy knows one thing it measured -- the cost of a batch, ``seconds = a + b * rows``, a
Theil-Sen fit (the median of pairwise slopes) over the last 64 batches, so one batch slowed by
a busy machine moves nothing -- and the arrival rate of rows. From them it answers:

- ``max_rows()``: the largest batch whose cost fits ``T / 2``: a request may wait behind one
  running batch and then run in its own, and both fit ``T``.
- ``wait_for_company(oldest_wait, rows)``: the model is free; does the open batch go now?
  Waiting pays only when the next rows are expected within one batch overhead ``a`` (joining
  a batch costs ``b``, a batch of its own ``a + b``), and only while the oldest request's wait
  (behind the batch that ran before), the wait and a full batch still fit ``T``. Otherwise it goes at once: at low load no
  request waits for company that will not come, and under load batches grow by themselves
  while the previous one runs.
- ``completion(running_left, ahead, rows)``: the predicted time in the batcher of a new
  request: what is left of the running batch, the batches queued ahead of it, its own batch.
  The batcher sheds (503 + ``Retry-After``) a request that would open a batch whose completion
  is over ``T``, or whose joining the open batch would make that batch's oldest request late
  (``may_join``): a queue that really is too long, never a machine that is merely busy.

Until a few batches have been measured the policy is optimistic (cost 0): it learns from the
first batches, which run at once.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Callable, Iterable

import numpy as np

__all__ = ["LatencyPolicy"]

_WINDOW = 64  # batches the cost model remembers
_MIN_SAMPLES = 4  # batches measured before the cost model is used
_REFIT_EVERY = 16  # once the window is full, refit every this many batches (a fit is ~50 us)
_RATE_WINDOW = 0.02  # seconds: the time constant of the (exponentially decaying) arrival count
_PROBE_EVERY = 1.0  # seconds between requests let through to re-measure a model shed entirely
_PAIRS = np.triu_indices(_WINDOW, k=1)


def theil_sen(rows: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of ``seconds = a + b * rows``, robust to outliers (both clipped at 0).

    The slope is the median of the slopes between every two batches of different sizes; when
    every batch had the same size, the cost is taken as proportional (``a = 0``), which is the
    cautious guess for larger batches until some have been measured.
    """
    i, j = _PAIRS if len(rows) == _WINDOW else np.triu_indices(len(rows), k=1)
    dn = rows[j] - rows[i]
    distinct = dn != 0
    if not distinct.any():
        return 0.0, float(np.median(seconds / np.maximum(rows, 1)))
    b = max(float(np.median((seconds[j] - seconds[i])[distinct] / dn[distinct])), 0.0)
    a = max(float(np.median(seconds - b * rows)), 0.0)
    return a, b


class LatencyPolicy:
    """Batch sizing, waiting and admission for one batcher (see the module docstring).

    ``clock`` is the time source (``time.perf_counter``; tests pass a fake one).
    """

    def __init__(self, target: float, *, max_rows: int = 1024,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if not target > 0 or math.isinf(target):
            raise ValueError(f"latency_target must be a positive number of seconds, got {target!r}")
        self.target = float(target)
        self.ceiling = int(max_rows)
        self.clock = clock
        self._rows: deque[int] = deque(maxlen=_WINDOW)
        self._seconds: deque[float] = deque(maxlen=_WINDOW)
        self._since_fit = 0
        self._fit = (0.0, 0.0)  # a, b
        self._recent_rows = 0.0  # rows arrived, each weighted by exp(-age / _RATE_WINDOW)
        self._last_arrival = 0.0
        self._probed = -math.inf

    # -- learning ----------------------------------------------------------------

    def observe(self, rows: int, seconds: float) -> None:
        """One batch of ``rows`` rows took ``seconds`` of inference."""
        self._rows.append(int(rows))
        self._seconds.append(float(seconds))
        self._since_fit += 1
        n = len(self._rows)
        if n >= _MIN_SAMPLES and (n < _WINDOW or self._since_fit >= _REFIT_EVERY):
            self._fit = theil_sen(np.array(self._rows, dtype=np.float64),
                                  np.array(self._seconds, dtype=np.float64))
            self._since_fit = 0

    def arrived(self, rows: int) -> None:
        """A request of ``rows`` rows arrived (the arrival rate of rows follows it)."""
        now = self.clock()
        self._recent_rows = self._recent_rows * math.exp(-(now - self._last_arrival) / _RATE_WINDOW) + rows
        self._last_arrival = now

    def arrival_rate(self) -> float:
        """Rows per second arriving lately (an exponentially decaying count over ~20 ms, so a
        burst that is over stops counting within a few tens of milliseconds)."""
        age = self.clock() - self._last_arrival
        return self._recent_rows * math.exp(-age / _RATE_WINDOW) / _RATE_WINDOW

    # -- deciding ------------------------------------------------------------------

    def cost(self, rows: int) -> float:
        """The predicted seconds of inference for one batch of ``rows`` rows (0 until measured)."""
        a, b = self._fit
        return a + b * rows

    def max_rows(self) -> int:
        """The largest batch whose cost fits half the target, at least 1, at most the ceiling."""
        a, b = self._fit
        room = self.target / 2 - a
        if b <= 0:
            return self.ceiling if room >= 0 else 1
        return int(max(1, min(self.ceiling, room // b)))

    def wait_for_company(self, oldest_wait: float, rows: int) -> float:
        """Seconds an open batch of ``rows`` rows, whose oldest request has waited
        ``oldest_wait``, waits for more rows before it runs (0: run now)."""
        a, _ = self._fit
        cap = self.max_rows()
        rate = self.arrival_rate()
        if rows >= cap or rate * a < 1.0:  # full, or no company expected within one overhead
            return 0.0
        slack = self.target - oldest_wait - self.cost(cap)  # the model is free: no batch runs ahead
        fill = (cap - rows) / rate
        return max(0.0, min(a, fill, slack))

    def completion(self, running_left: float, ahead: Iterable[int], rows: int) -> float:
        """Predicted seconds until a request is answered: ``running_left`` of the batch now
        running, then the queued batches of ``ahead`` rows, then its own batch of ``rows``."""
        return running_left + sum(self.cost(r) for r in ahead) + self.cost(rows)

    def may_join(self, oldest_before: float, oldest_after: float) -> bool:
        """Whether a request may join an open batch whose oldest request is predicted to be
        answered after ``oldest_before`` seconds without it and ``oldest_after`` with it: unless
        it is the one that makes the oldest late. One that is late already (its batch waited for
        a busy event loop) is late anyway: refusing more rows would not make it faster, and every
        refusal costs the server as much work as an answer."""
        return oldest_after <= self.target or oldest_before > self.target

    def admits(self, predicted: float, *, idle: bool = False) -> bool:
        """Whether a request predicted to take ``predicted`` seconds is served. When the batcher
        is ``idle`` and even so the prediction misses, one request a second is let through all
        the same: it re-measures a model that may have become faster (the machine was busy)."""
        if predicted <= self.target:
            return True
        now = self.clock()
        if idle and now - self._probed >= _PROBE_EVERY:
            self._probed = now
            return True
        return False

    def describe(self) -> dict[str, float | int]:
        a, b = self._fit
        return {"target_s": self.target, "batch_overhead_s": a, "row_cost_s": b,
                "max_rows": self.max_rows(), "arrival_rows_per_s": self.arrival_rate(),
                "batches_measured": len(self._rows)}
