"""The in-flight cap: a counter, a short FIFO queue, and an optional adaptive limit.

``acquire()`` takes a slot at once when one is free; otherwise it joins the queue
(at most ``queue_size`` waiters) and waits up to ``queue_timeout`` seconds for a
slot to be handed over by ``release()``; a full queue refuses at once. Slots are
handed over directly, FIFO, so a newcomer never overtakes a waiter.

Adaptive mode (:class:`AIMDLimit`): additive increase, multiplicative decrease,
driven by latency. Every completion whose latency is under ``target`` counts
toward one extra slot (``+1`` after ``limit`` good completions, i.e. about one
per round trip of the whole window); a completion over ``target`` cuts the limit
to ``limit * backoff`` (at most once per ``limit`` completions, so one slow burst
is one cut). The limit stays within ``[minimum, maximum]``. Under an overload
the limit falls until latency is back under the target and the excess is shed
with 503 at once, instead of every request queuing and timing out (the figure
of the overload test is in docs/operations.md).
"""

from __future__ import annotations

from collections import deque

import trio

from .metrics import admission_metrics


class AIMDLimit:
    """Additive-increase / multiplicative-decrease limit driven by request latency."""

    def __init__(self, initial: int, *, target: float, minimum: int = 1, maximum: int | None = None,
                 backoff: float = 0.75) -> None:
        if target <= 0:
            raise ValueError(f"latency target must be > 0 seconds, got {target}")
        if not 0 < backoff < 1:
            raise ValueError(f"backoff must be in (0, 1), got {backoff}")
        self.maximum = maximum or initial
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = float(min(max(initial, self.minimum), self.maximum))
        self.target = target
        self.backoff = backoff
        self._good = 0
        self._since_cut = 0

    def on_sample(self, latency: float) -> int:
        """Feed one completion's latency; returns the new (integer) limit."""
        self._since_cut += 1
        if latency > self.target:
            if self._since_cut >= int(self.limit):
                self.limit = max(self.minimum, self.limit * self.backoff)
                self._since_cut = 0
            self._good = 0
        else:
            self._good += 1
            if self._good >= int(self.limit):
                self.limit = min(self.maximum, self.limit + 1)
                self._good = 0
        return int(self.limit)


class ConcurrencyLimiter:
    """At most ``limit`` holders; ``queue_size`` waiters for up to ``queue_timeout`` s."""

    def __init__(self, limit: int, *, queue_size: int | None = None, queue_timeout: float = 1.0,
                 adaptive: AIMDLimit | None = None) -> None:
        if limit < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {limit}")
        queue_size = max(1, limit // 4) if queue_size is None else queue_size
        if queue_size < 0:
            raise ValueError(f"the concurrency queue size must be >= 0, got {queue_size}")
        if not queue_timeout > 0:
            raise ValueError(f"the queue timeout must be > 0 seconds, got {queue_timeout}")
        self.limit = limit
        self.queue_size = queue_size
        self.queue_timeout = queue_timeout
        self.adaptive = adaptive
        self.in_flight = 0
        self._waiters: deque[trio.Event] = deque()
        self._metrics = admission_metrics()
        self._metrics.limit.set(self.current_limit)

    @property
    def current_limit(self) -> int:
        return int(self.adaptive.limit) if self.adaptive is not None else self.limit

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> str | None:
        """Take a slot: None when taken, else the reason for refusing (``concurrency``, ``queue_timeout``)."""
        if self.in_flight < self.current_limit and not self._waiters:
            self.in_flight += 1
            return None
        if len(self._waiters) >= self.queue_size:
            return "concurrency"
        event = trio.Event()
        self._waiters.append(event)
        queued = self._metrics.queued
        queued.inc()
        try:
            with trio.move_on_after(self.queue_timeout):
                await event.wait()
        except BaseException:
            if event.is_set():  # handed a slot while being cancelled: give it back
                self.release()
            raise
        finally:
            queued.dec()
            if not event.is_set():
                self._waiters.remove(event)
        # A slot handed over just as the wait was cancelled is still ours to use.
        return None if event.is_set() else "queue_timeout"

    def release(self, latency: float | None = None) -> None:
        """Give the slot back (handing it to the first waiter) and feed the adaptive limit."""
        if self.adaptive is not None and latency is not None:
            self._metrics.limit.set(self.adaptive.on_sample(latency))
        if self._waiters and self.in_flight <= self.current_limit:
            self._waiters.popleft().set()  # the slot passes on; in_flight is unchanged
        else:
            self.in_flight -= 1
