"""Admission control: which requests the process takes on when it is under pressure.

Three guards, each a small sans-IO object, and one gate that asks them in order
before a request reaches the app's handler:

- :class:`MemoryGuard`: past ``--max-memory`` (process RSS) new requests are
  refused with 503 and ``Retry-After`` while in-flight ones finish; ``/ready``
  turns 503; it lets traffic in again only once RSS falls under a low-water mark
  (hysteresis, so it does not flap at the limit);
- :class:`ConcurrencyLimiter`: at most ``--max-concurrency`` requests in flight,
  a short FIFO queue behind them, 503 at once beyond it; optionally adaptive
  (:class:`AIMDLimit`, driven by latency against ``--latency-target``);
- a request budget (``--max-requests``) after which a worker drains and is
  replaced by its supervisor.

The gate (:class:`Admission`) is installed by the server (``app.admission``);
probe and metrics paths are never refused, so an overloaded process still says
so. This package knows nothing of sockets; the only trio it uses is the queue's
wait. Metrics families are listed in :mod:`.metrics`.
"""

from __future__ import annotations

from .gate import Admission, admission_from_config
from .limiter import AIMDLimit, ConcurrencyLimiter
from .memory import MemoryGuard, parse_size, process_rss

__all__ = [
    "AIMDLimit",
    "Admission",
    "ConcurrencyLimiter",
    "MemoryGuard",
    "admission_from_config",
    "parse_size",
    "process_rss",
]
