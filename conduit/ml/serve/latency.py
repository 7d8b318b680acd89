"""Batching to a latency target: how long a batch may wait, how big it may grow, whom to refuse.

Owns :class:`LatencyPolicy`, which a :class:`~conduit.ml.serve.batching.DynamicBatcher`
consults when ``app.predict(..., latency_target=0.010)`` is set (BentoML's adaptive dispatcher
is the model: learn the cost of a batch, wait for company only while the wait pays). It keeps

- a cost model of one batch, ``seconds = a + b * rows`` (least squares over the last 64
  batches, with the residuals' spread added so the estimate is a high percentile, not a mean);
- the arrival rate of requests and their mean size (exponentially weighted);

and from them answers three questions against the target ``T`` (the time a request spends in
the batcher: queue wait and inference; HTTP parsing and encoding come on top):

- ``max_rows()``: the largest batch whose cost fits half of the allowance (``headroom``, by
  default half the target: the rest is for the spread of the server's own work);
- ``flush_after(rows)``: how long an open batch waits for company: no wait when less than one
  request is expected in the time left, else until the batch is expected to be full, and never
  beyond the target minus the cost of a full batch;
- ``admits(latency)``: refuse (503 + ``Retry-After``) a request whose predicted latency --
  the open batch's remaining wait, the batches still running, how late batches have been
  starting (the measured queue of the event loop: under overload this is what grows), its
  batch's cost -- is over ``T``.

Until a few batches have been measured the policy is optimistic (cost 0): it learns from the
first batches, which run at once.
"""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np

__all__ = ["LatencyPolicy"]

_WINDOW = 64
_MIN_SAMPLES = 4
_SPREAD = 3.0  # residual standard deviations added to the mean cost (a high percentile)
_ALPHA = 0.2  # weight of the newest arrival in the rate estimate
_LAG_MEMORY = 1.0  # seconds without a batch after which the measured start lag is forgotten


class LatencyPolicy:
    """Batch sizing and admission for one batcher (see the module docstring)."""

    def __init__(self, target: float, *, max_rows: int = 1024, headroom: float = 0.5) -> None:
        if not target > 0 or math.isinf(target):
            raise ValueError(f"latency_target must be a positive number of seconds, got {target!r}")
        self.target = float(target)
        self.ceiling = int(max_rows)
        self.headroom = headroom
        self._samples: deque[tuple[int, float]] = deque(maxlen=_WINDOW)
        self._fit = (0.0, 0.0, 0.0)  # a, b, spread
        self._rate = 0.0  # requests per second
        self._rows_per_request = 1.0
        self._last_arrival: float | None = None
        self._lags: deque[float] = deque(maxlen=256)
        self._lag = 0.0  # 95th percentile of recent start delays
        self._lag_at = 0.0

    # -- learning ----------------------------------------------------------------

    def observe(self, rows: int, seconds: float, lag: float = 0.0) -> None:
        """One batch of ``rows`` took ``seconds``, and started ``lag`` seconds later than planned
        (the event loop was busy: other batches, other connections)."""
        self._lags.append(max(lag, 0.0))
        self._lag = float(np.percentile(self._lags, 95))
        self._lag_at = time.perf_counter()
        self._samples.append((rows, seconds))
        if len(self._samples) >= _MIN_SAMPLES:
            n, t = np.array(self._samples, dtype=np.float64).T
            if np.ptp(n) > 0:
                b, a = np.polyfit(n, t, 1)
            else:
                a, b = 0.0, float(t.mean() / max(n.mean(), 1.0))
            b = max(float(b), 0.0)
            a = max(float(t.mean() - b * n.mean()), 0.0)
            spread = float(np.std(t - (a + b * n)))
            self._fit = (a, b, spread)

    def arrived(self, rows: int, now: float | None = None) -> None:
        """A request of ``rows`` rows arrived (the arrival rate and mean size follow it)."""
        now = time.perf_counter() if now is None else now
        if self._last_arrival is not None:
            gap = max(now - self._last_arrival, 1e-6)
            self._rate = (1 - _ALPHA) * self._rate + _ALPHA / gap
        self._last_arrival = now
        self._rows_per_request = (1 - _ALPHA) * self._rows_per_request + _ALPHA * rows

    # -- deciding ------------------------------------------------------------------

    def cost(self, rows: int) -> float:
        """A high estimate of the seconds one batch of ``rows`` takes."""
        a, b, spread = self._fit
        return a + b * rows + _SPREAD * spread

    def max_rows(self) -> int:
        """The largest batch whose cost fits half of the allowance (``headroom`` of the target;
        the other half is the most a batch waits for company), at least 1."""
        a, b, spread = self._fit
        room = self.headroom * self.target / 2 - a - _SPREAD * spread
        if b <= 0:  # no measurable cost per row: as big as allowed, if a batch fits at all
            return self.ceiling if room >= 0 else 1
        return int(max(1, min(self.ceiling, room // b)))

    def flush_after(self, rows: int) -> float:
        """Seconds an open batch holding ``rows`` rows waits for company."""
        cap = self.max_rows()
        budget = self.headroom * self.target - self.cost(cap) - self.lag
        if budget <= 0 or rows >= cap or self._rate * budget < 1.0:
            return 0.0
        fill = (cap - rows) / (self._rate * self._rows_per_request)
        return max(0.0, min(budget, fill))

    @property
    def lag(self) -> float:
        """How late batches start (95th percentile of the recent ones): the loop's own queue.

        Forgotten after a second without a batch, so that a policy shedding everything lets
        requests through again and measures afresh."""
        if self._lag and time.perf_counter() - self._lag_at > _LAG_MEMORY:
            self._lags.clear()
            self._lag = 0.0
        return self._lag

    def admits(self, predicted_latency: float) -> bool:
        return predicted_latency <= self.target

    def describe(self) -> dict[str, float | int]:
        a, b, spread = self._fit
        return {"target_s": self.target, "batch_overhead_s": a, "row_cost_s": b, "spread_s": spread,
                "start_lag_s": self._lag, "max_rows": self.max_rows(), "arrival_rate_per_s": self._rate}
