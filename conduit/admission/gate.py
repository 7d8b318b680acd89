"""The gate every request passes when admission control is on (``app.admission``).

Order: exempt paths (probes, metrics) pass; then the memory guard; then the
concurrency limiter; the request budget counts what was admitted. A refusal is
raised as a 503 :class:`Overloaded` with ``Retry-After`` and answered by the app's
one error mapping (request id included), decided before the handler runs, so a
refused request costs a few attribute reads. The memory guard is checked again
after each chunk of an admitted request's body (``Request.body_guard``), so a burst
of large uploads overshoots the limit by at most one read per connection.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..exceptions import ServiceUnavailable
from ..http.request import Request
from ..http.response import Response
from .limiter import AIMDLimit, ConcurrencyLimiter
from .memory import MemoryGuard
from .metrics import admission_metrics

#: Paths never refused: an overloaded process must still answer its probes and scrapes.
DEFAULT_EXEMPT = ("/health", "/ready", "/metrics")

_DETAIL = {
    "memory": "server is over its memory limit; retry shortly",
    "concurrency": "server is at its concurrency limit; retry shortly",
    "queue_timeout": "server is at its concurrency limit and no slot freed in time; retry shortly",
}


class Overloaded(ServiceUnavailable):
    """503: admission control refused the request (``reason``: memory, concurrency, queue_timeout)."""

    def __init__(self, reason: str, retry_after: str):
        super().__init__(_DETAIL[reason], headers={"retry-after": retry_after})
        self.reason = reason


class Admission:
    """Admit, queue or refuse each request before the app handles it.

    Parameters
    ----------
    memory : a :class:`MemoryGuard`, or None
    limiter : a :class:`ConcurrencyLimiter`, or None
    max_requests : after this many admitted requests ``on_budget_spent()`` is called once
        (a worker uses it to drain and be replaced)
    exempt : paths that are never refused
    retry_after : seconds for the ``Retry-After`` header
    """

    def __init__(self, *, memory: MemoryGuard | None = None, limiter: ConcurrencyLimiter | None = None,
                 max_requests: int | None = None, on_budget_spent: Callable[[], Any] | None = None,
                 exempt: tuple[str, ...] = DEFAULT_EXEMPT, retry_after: int = 1) -> None:
        self.memory = memory
        self.limiter = limiter
        self.max_requests = max_requests
        self.on_budget_spent = on_budget_spent
        self.exempt = frozenset(p.encode() for p in exempt)
        self.retry_after = str(retry_after)
        self.admitted = 0
        self._shed = admission_metrics().shed

    @property
    def overloaded(self) -> bool:
        """True while the memory guard sheds (``/ready`` answers 503 then)."""
        return self.memory is not None and self.memory.check()

    def exempt_path(self, path: str) -> None:
        self.exempt = self.exempt | {path.encode()}

    def refuse(self, reason: str) -> Overloaded:
        """The 503 to raise for ``reason`` (counted in the shed metric)."""
        self._shed.labels(reason).inc()
        return Overloaded(reason, self.retry_after)

    def _check_memory_mid_body(self, request: Request, size: int) -> None:
        if self.memory.charge(size):
            raise self.refuse("memory")

    async def handle(self, request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.raw_path in self.exempt:
            return await handler(request)
        if self.memory is not None:
            if self.memory.check():
                raise self.refuse("memory")
            request.body_guard = self._check_memory_mid_body
        limiter = self.limiter
        if limiter is not None:
            refused = await limiter.acquire()
            if refused is not None:
                raise self.refuse(refused)
        self._count()
        if limiter is None:
            return await handler(request)
        start = time.perf_counter()
        try:
            return await handler(request)
        finally:
            limiter.release(time.perf_counter() - start)

    def _count(self) -> None:
        self.admitted += 1
        if self.max_requests is not None and self.admitted == self.max_requests and self.on_budget_spent:
            self.on_budget_spent()


def admission_from_config(config: Any, on_budget_spent: Callable[[], Any] | None = None,
                          max_requests: int | None = None) -> Admission | None:
    """The gate a :class:`~conduit.server.ServerConfig` asks for, or None when it asks for none."""
    memory = limiter = None
    if config.max_memory is not None:
        memory = MemoryGuard(config.max_memory, low_water=config.memory_low_water,
                             interval=config.memory_check_interval)
    if config.max_concurrency is not None:
        adaptive = None
        if config.latency_target is not None:
            adaptive = AIMDLimit(config.max_concurrency, target=config.latency_target,
                                 maximum=config.max_concurrency)
        limiter = ConcurrencyLimiter(config.max_concurrency, queue_size=config.concurrency_queue,
                                     queue_timeout=config.queue_timeout, adaptive=adaptive)
    if memory is None and limiter is None and max_requests is None:
        return None
    return Admission(memory=memory, limiter=limiter, max_requests=max_requests,
                     on_budget_spent=on_budget_spent)
