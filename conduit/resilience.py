"""Resilience for calls to models and upstreams: timeout, retry, circuit breaker, fallback.

Each piece is a decorator over an async function (a sync function is run in a
worker thread); :class:`Resilient` composes them in the one order that makes
sense::

    fallback( retry( breaker( timeout( call ) ) ) )

- the timeout bounds each attempt (a trio cancel scope) → :class:`UpstreamTimeout` (504);
- the breaker counts every attempt; while open it fails fast with
  :class:`CircuitOpenError` (503, with ``Retry-After``), which is not retried;
- retry repeats retryable failures with exponential backoff and full jitter,
  at most ``attempts`` times in all;
- fallback turns the final failure into a value (or the result of a function).

State is exported to Prometheus (see :mod:`conduit.observability.metrics`)::

    conduit_circuit_breaker_state{name}      gauge: 0 closed, 1 half-open, 2 open
    conduit_circuit_breaker_opened_total{name}
    conduit_resilience_calls_total{name, outcome}   outcome: success|failure|timeout|rejected
    conduit_retries_total{name}
    conduit_fallbacks_total{name}
"""

from __future__ import annotations

import enum
import functools
import inspect
import random
import threading
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import trio

from .exceptions import BadGateway, GatewayTimeout, HTTPError, ServiceUnavailable

AsyncFn = Callable[..., Awaitable[Any]]


class CircuitOpenError(ServiceUnavailable):
    """The circuit is open: the call was not attempted (503)."""


class UpstreamTimeout(GatewayTimeout, TimeoutError):
    """An attempt ran past its timeout and was cancelled (504)."""


class BreakerState(enum.IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


# ------------------------------------------------------------------- metrics

_metrics_lock = threading.Lock()
_metrics: SimpleNamespace | None = None


def _m() -> SimpleNamespace:
    global _metrics
    if _metrics is None:
        with _metrics_lock:
            if _metrics is None:
                from prometheus_client import Counter, Gauge

                _metrics = SimpleNamespace(
                    state=Gauge("conduit_circuit_breaker_state",
                                "Circuit breaker state: 0 closed, 1 half-open, 2 open.", ["name"],
                                multiprocess_mode="livemax"),
                    opened=Counter("conduit_circuit_breaker_opened", "Times a breaker opened.", ["name"]),
                    calls=Counter("conduit_resilience_calls", "Guarded calls by outcome.",
                                  ["name", "outcome"]),
                    retries=Counter("conduit_retries", "Retry attempts (beyond the first).", ["name"]),
                    fallbacks=Counter("conduit_fallbacks", "Fallbacks used.", ["name"]),
                )
    return _metrics


def _as_async(fn: Callable[..., Any]) -> AsyncFn:
    if inspect.iscoroutinefunction(fn):
        return fn

    @functools.wraps(fn)
    async def in_thread(*args: Any, **kwargs: Any) -> Any:
        # abandon_on_cancel: a timeout returns at once; the thread finishes on its own.
        return await trio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), abandon_on_cancel=True)
    return in_thread


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


# ------------------------------------------------------------------ timeout

def timeout(seconds: float, *, name: str | None = None):
    """Decorator: cancel an attempt after ``seconds`` and raise :class:`UpstreamTimeout`."""
    def decorator(fn: Callable[..., Any]) -> AsyncFn:
        call = _as_async(fn)
        label = name or _name_of(fn)

        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            with trio.move_on_after(seconds) as scope:
                return await call(*args, **kwargs)
            # Only our own scope's expiry lands here; an outer cancellation propagates.
            _m().calls.labels(label, "timeout").inc()
            raise UpstreamTimeout(detail=f"{label} did not answer within {seconds} s")
        return guarded
    return decorator


# ------------------------------------------------------------------- retry

def is_retryable(exc: BaseException) -> bool:
    """Transient by default: timeouts, connection errors, 502/503/504 (but not an open circuit)."""
    if isinstance(exc, CircuitOpenError):
        return False
    if isinstance(exc, HTTPError):
        return exc.status_code in (502, 503, 504)
    return isinstance(exc, (TimeoutError, ConnectionError, trio.TooSlowError, trio.BrokenResourceError))


def backoff_delays(attempts: int, base: float, maximum: float, multiplier: float = 2.0,
                   rng: random.Random | None = None) -> list[float]:
    """Full-jitter delays (AWS architecture blog, "Exponential Backoff and Jitter"):
    ``uniform(0, min(maximum, base * multiplier**i))`` before retry ``i``."""
    rng = rng or random.Random()
    return [rng.uniform(0, min(maximum, base * multiplier ** i)) for i in range(attempts - 1)]


def retry(attempts: int = 3, *, base_delay: float = 0.1, max_delay: float = 2.0, multiplier: float = 2.0,
          retry_on: Callable[[BaseException], bool] | tuple[type[BaseException], ...] = is_retryable,
          name: str | None = None, rng: random.Random | None = None):
    """Decorator: up to ``attempts`` calls in all, sleeping a jittered backoff between them.

    ``retry_on`` is a predicate or a tuple of exception types; anything else is
    raised at once. The last failure is raised when attempts run out.
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    if isinstance(retry_on, tuple):
        types = retry_on
        retry_on = lambda exc: isinstance(exc, types)  # noqa: E731
    should_retry = retry_on

    def decorator(fn: Callable[..., Any]) -> AsyncFn:
        call = _as_async(fn)
        label = name or _name_of(fn)

        @functools.wraps(fn)
        async def retrying(*args: Any, **kwargs: Any) -> Any:
            delays = backoff_delays(attempts, base_delay, max_delay, multiplier, rng)
            for attempt in range(attempts):
                try:
                    return await call(*args, **kwargs)
                except Exception as exc:
                    if attempt == attempts - 1 or not should_retry(exc):
                        raise
                _m().retries.labels(label).inc()
                await trio.sleep(delays[attempt])
            raise AssertionError("unreachable")
        return retrying
    return decorator


# ----------------------------------------------------------- circuit breaker

class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures; open for
    ``recovery_time`` seconds, then half-open: up to ``half_open_max_calls`` trial
    calls; a success closes it, a failure opens it again.

    Only exceptions for which ``counts(exc)`` is true are failures (by default any
    exception except a 4xx ``HTTPError``: a bad request is not the upstream's fault).
    Use it as a decorator (``@breaker``) or ``await breaker.call(fn, ...)``.
    """

    def __init__(self, name: str, *, failure_threshold: int = 5, recovery_time: float = 30.0,
                 half_open_max_calls: int = 1, counts: Callable[[BaseException], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_time = recovery_time
        self.half_open_max_calls = half_open_max_calls
        self.counts = counts or _counts_as_failure
        self.clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0
        _m().state.labels(name).set(0)

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self.clock() - self._opened_at >= self.recovery_time:
            self._set(BreakerState.HALF_OPEN)
            self._trials = 0
        return self._state

    def _set(self, state: BreakerState) -> None:
        self._state = state
        _m().state.labels(self.name).set(int(state))

    def _before(self) -> None:
        state = self.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN
                                          and self._trials >= self.half_open_max_calls):
            _m().calls.labels(self.name, "rejected").inc()
            retry_in = max(1, int(self.recovery_time - (self.clock() - self._opened_at)) + 1)
            raise CircuitOpenError(detail=f"circuit {self.name!r} is open",
                                   headers={"retry-after": str(retry_in)})
        if state is BreakerState.HALF_OPEN:
            self._trials += 1

    def record_success(self) -> None:
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._opened_at = self.clock()
            if self._state is not BreakerState.OPEN:
                _m().opened.labels(self.name).inc()
            self._set(BreakerState.OPEN)

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._before()
        try:
            result = await _as_async(fn)(*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, Exception) and self.counts(exc):
                _m().calls.labels(self.name, "failure").inc()
                self.record_failure()
            elif self._state is BreakerState.HALF_OPEN:
                self._trials = max(0, self._trials - 1)  # cancelled trial: let another try
            raise
        _m().calls.labels(self.name, "success").inc()
        self.record_success()
        return result

    def __call__(self, fn: Callable[..., Any]) -> AsyncFn:
        call = _as_async(fn)

        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            return await self.call(call, *args, **kwargs)
        return guarded

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state.name.lower()} failures={self._failures}>"


def _counts_as_failure(exc: BaseException) -> bool:
    return not (isinstance(exc, HTTPError) and exc.status_code < 500)


def circuit_breaker(name: str, **options: Any) -> CircuitBreaker:
    """Alias of :class:`CircuitBreaker` for decorator style: ``@circuit_breaker("db")``."""
    return CircuitBreaker(name, **options)


# ----------------------------------------------------------------- fallback

def fallback(value: Any = None, *, function: Callable[[BaseException], Any] | None = None,
             on: tuple[type[BaseException], ...] = (Exception,), name: str | None = None):
    """Decorator: on a failure of type ``on``, return ``value`` or ``function(exc)`` (sync or async).

    A callable ``value`` is called with the failed call's arguments (sync or async) and
    its result returned: ``fallback(cached_answer)`` answers from ``cached_answer(*args)``.
    """
    def decorator(fn: Callable[..., Any]) -> AsyncFn:
        call = _as_async(fn)
        label = name or _name_of(fn)

        @functools.wraps(fn)
        async def with_fallback(*args: Any, **kwargs: Any) -> Any:
            try:
                return await call(*args, **kwargs)
            except on as exc:
                _m().fallbacks.labels(label).inc()
                if function is not None:
                    result = function(exc)
                elif callable(value):
                    result = value(*args, **kwargs)
                else:
                    return value
                return await result if inspect.isawaitable(result) else result
        return with_fallback
    return decorator


# ---------------------------------------------------------------- composition

class Resilient:
    """Wrap ``fn`` with any of timeout, circuit breaker, retry and fallback.

    >>> guarded = Resilient(call_model, name="model", timeout=2.0, attempts=3,   # doctest: +SKIP
    ...                     breaker=CircuitBreaker("model"), fallback={"label": None})
    >>> await guarded(x)                                                        # doctest: +SKIP

    ``fallback`` is a value, or a callable called with the same arguments as the
    guarded call (sync or async; its result is the answer), or pass
    ``fallback_function=f(exc)`` to answer from the error. Without
    ``fallback``/``fallback_function`` the final error propagates (and maps to its
    HTTP status: 503 open circuit, 504 timeout, 502 for anything else that
    :meth:`__call__` raised and ``as_bad_gateway`` asks to wrap).
    """

    _NO_FALLBACK = object()

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, timeout: float | None = None,
                 attempts: int = 1, base_delay: float = 0.1, max_delay: float = 2.0,
                 retry_on: Callable[[BaseException], bool] | tuple[type[BaseException], ...] = is_retryable,
                 breaker: CircuitBreaker | None = None, fallback: Any = _NO_FALLBACK,
                 fallback_function: Callable[[BaseException], Any] | None = None,
                 as_bad_gateway: bool = False, rng: random.Random | None = None):
        self.name = name or _name_of(fn)
        self.breaker = breaker
        call: AsyncFn = _as_async(fn)
        if timeout is not None:
            call = globals()["timeout"](timeout, name=self.name)(call)
        if breaker is not None:
            call = breaker(call)
        if attempts > 1:
            call = retry(attempts, base_delay=base_delay, max_delay=max_delay, retry_on=retry_on,
                         name=self.name, rng=rng)(call)
        if as_bad_gateway:
            call = _bad_gateway(call, self.name)
        if fallback is not self._NO_FALLBACK or fallback_function is not None:
            call = globals()["fallback"](None if fallback is self._NO_FALLBACK else fallback,
                                         function=fallback_function, name=self.name)(call)
        self._call = call
        functools.update_wrapper(self, fn)

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call(*args, **kwargs)


def _bad_gateway(call: AsyncFn, name: str) -> AsyncFn:
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return await call(*args, **kwargs)
        except HTTPError:
            raise
        except Exception as exc:
            raise BadGateway(detail=f"{name} failed: {type(exc).__name__}") from exc
    return wrapped


def resilient(**options: Any):
    """Decorator form of :class:`Resilient`: ``@resilient(timeout=1, attempts=3)``."""
    def decorator(fn: Callable[..., Any]) -> Resilient:
        return Resilient(fn, **options)
    return decorator


__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "Resilient",
    "UpstreamTimeout",
    "backoff_delays",
    "circuit_breaker",
    "fallback",
    "is_retryable",
    "resilient",
    "retry",
    "timeout",
]
