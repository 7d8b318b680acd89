"""Circuit breaker, retry, timeout guard, fallback and their composition."""

from __future__ import annotations

import random

import pytest
import trio

from conduit import Conduit, TestClient
from conduit.exceptions import BadRequest, ServiceUnavailable
from conduit.observability import install
from conduit.resilience import (
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    Resilient,
    UpstreamTimeout,
    backoff_delays,
    fallback,
    retry,
    timeout,
)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_breaker_closed_open_half_open_closed():
    clock = Clock()
    breaker = CircuitBreaker("t-cycle", failure_threshold=2, recovery_time=10, clock=clock)

    async def fail():
        raise ConnectionError("down")

    async def ok():
        return "up"

    async def main():
        for _ in range(2):
            with pytest.raises(ConnectionError):
                await breaker.call(fail)
        assert breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpenError) as info:
            await breaker.call(ok)
        assert info.value.status_code == 503 and "retry-after" in info.value.headers
        clock.now = 10.5
        assert breaker.state is BreakerState.HALF_OPEN
        with pytest.raises(ConnectionError):
            await breaker.call(fail)  # a failed trial re-opens
        assert breaker.state is BreakerState.OPEN
        clock.now = 21
        assert await breaker.call(ok) == "up"
        assert breaker.state is BreakerState.CLOSED

    trio.run(main)


def test_client_errors_do_not_trip_the_breaker():
    breaker = CircuitBreaker("t-4xx", failure_threshold=1)

    @breaker
    async def bad_input():
        raise BadRequest(detail="no")

    async def main():
        for _ in range(3):
            with pytest.raises(BadRequest):
                await bad_input()
        assert breaker.state is BreakerState.CLOSED

    trio.run(main)


def test_retry_only_retryable_and_bounded():
    calls = {"n": 0}

    @retry(3, base_delay=0.001, max_delay=0.002, name="t-retry")
    async def flaky():
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("blip")
        return "ok"

    @retry(5, base_delay=0.001, name="t-retry-no")
    async def broken():
        calls["n"] += 1
        raise ValueError("a bug, not a blip")

    assert trio.run(flaky) == "ok" and calls["n"] == 3
    calls["n"] = 0
    with pytest.raises(ValueError):
        trio.run(broken)
    assert calls["n"] == 1


def test_backoff_is_exponential_with_full_jitter():
    delays = backoff_delays(6, 0.1, 1.0, rng=random.Random(1))
    caps = [0.1, 0.2, 0.4, 0.8, 1.0]
    assert len(delays) == 5 and all(0 <= d <= c for d, c in zip(delays, caps))


def test_timeout_guard_and_sync_functions():
    @timeout(0.05, name="t-timeout")
    async def slow():
        await trio.sleep(5)

    with pytest.raises(UpstreamTimeout) as info:
        trio.run(slow)
    assert info.value.status_code == 504 and isinstance(info.value, TimeoutError)

    @timeout(1.0)
    def sync_add(a, b):
        return a + b

    assert trio.run(sync_add, 2, 3) == 5


def test_fallback_value_and_function():
    @fallback({"label": None})
    async def down():
        raise ServiceUnavailable()

    @fallback(function=lambda exc: type(exc).__name__)
    async def down2():
        raise ConnectionError()

    assert trio.run(down) == {"label": None}
    assert trio.run(down2) == "ConnectionError"


def test_resilient_composition_and_metrics():
    breaker = CircuitBreaker("t-model", failure_threshold=3, recovery_time=60)
    attempts = {"n": 0}

    async def model(x):
        attempts["n"] += 1
        await trio.sleep(1)  # always too slow
        return x

    guarded = Resilient(model, name="t-model", timeout=0.01, attempts=3, base_delay=0.001,
                        breaker=breaker, fallback="cached")
    assert trio.run(guarded, 1) == "cached"
    assert attempts["n"] == 3 and breaker.state is BreakerState.OPEN
    assert trio.run(guarded, 1) == "cached" and attempts["n"] == 3  # open: not even tried

    app = Conduit()
    install(app)
    with TestClient(app) as client:
        text = client.get("/metrics").text
    assert 'conduit_circuit_breaker_state{name="t-model"} 2.0' in text
    assert 'conduit_retries_total{name="t-model"}' in text
    assert 'conduit_fallbacks_total{name="t-model"}' in text
    assert 'conduit_resilience_calls_total{name="t-model",outcome="timeout"}' in text
