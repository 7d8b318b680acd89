"""The gate every request passes when admission control is on (``app.admission``).

Order: exempt paths (probes, metrics) pass; then the memory guard; then the
concurrency limiter; the request budget counts what was admitted. A refusal is
a 503 with ``Retry-After`` in the one error shape, decided before the handler
runs, so a refused request costs a few attribute reads.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..exceptions import error_response
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

    def refuse(self, reason: str, request: Request) -> Response:
        self._shed.labels(reason).inc()
        return error_response(503, _DETAIL[reason], request.headers.get("x-request-id"),
                              headers={"retry-after": self.retry_after})

    async def handle(self, request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.raw_path in self.exempt:
            return await handler(request)
        if self.memory is not None and self.memory.check():
            return self.refuse("memory", request)
        limiter = self.limiter
        if limiter is not None:
            refused = await limiter.acquire()
            if refused is not None:
                return self.refuse(refused, request)
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
