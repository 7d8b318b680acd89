"""The guards as sans-IO objects: sizes, hysteresis, AIMD steps, the limiter's FIFO hand-over."""

from __future__ import annotations

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from conduit.admission import AIMDLimit, ConcurrencyLimiter, MemoryGuard, parse_size
from conduit.server.config import ServerConfig


@pytest.mark.parametrize("text, size", [("1GB", 10**9), ("512MiB", 512 * 2**20), ("1000", 1000), ("1.5 GB", 15 * 10**8),
                                        ("64kb", 64_000), ("2GiB", 2 * 2**30), (123, 123)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "1 XB", "-1GB", "0", "1e9", "one GB", 0])
def test_bad_sizes_name_the_problem(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


@given(st.text(max_size=12))
def test_parse_size_answers_a_size_or_a_clear_error(text):
    try:
        assert parse_size(text) >= 1
    except ValueError as exc:
        assert "size" in str(exc)


def test_server_config_reads_sizes_and_derives_the_hard_limit():
    config = ServerConfig.from_options(max_memory="1GB")
    assert config.max_memory == 10**9 and config.max_memory_hard == 15 * 10**8
    with pytest.raises(ValueError, match="memory_low_water"):
        ServerConfig.from_options(max_memory="1GB", memory_low_water="2GB")
    with pytest.raises(ValueError, match="max_concurrency"):
        ServerConfig.from_options(max_concurrency=0)


def test_memory_guard_hysteresis_and_sampling_interval():
    now = [0.0]
    readings = iter([50, 150, 95, 85, 120])
    guard = MemoryGuard(100, low_water=90, interval=1.0, read_rss=lambda: next(readings), clock=lambda: now[0])
    states = []
    for _ in range(5):
        states.append(guard.check())
        states.append(guard.check())  # within the interval: no new reading
        now[0] += 1.0
    assert states == [False, False, True, True, True, True, False, False, True, True]


def test_aimd_cuts_once_per_window_and_grows_one_per_window():
    limit = AIMDLimit(10, target=0.1, minimum=2)
    assert [limit.on_sample(1.0) for _ in range(10)][-1] == 7
    for _ in range(100):
        limit.on_sample(1.0)
    assert limit.limit == 2  # never under the minimum
    for _ in range(2 + 3):
        limit.on_sample(0.01)
    assert int(limit.limit) == 4
    with pytest.raises(ValueError):
        AIMDLimit(4, target=0)


def test_limiter_hands_slots_over_in_fifo_order_and_refuses_when_the_queue_is_full():
    async def main():
        limiter = ConcurrencyLimiter(1, queue_size=2, queue_timeout=10)
        assert await limiter.acquire() is None
        order = []

        async def waiter(name):
            assert await limiter.acquire() is None
            order.append(name)
            limiter.release(0.0)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter, "first")
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(waiter, "second")
            await trio.testing.wait_all_tasks_blocked()
            assert limiter.queued == 2
            assert await limiter.acquire() == "concurrency"  # two waiting: the queue is full
            limiter.release(0.0)
        assert order == ["first", "second"] and limiter.in_flight == 0

    import trio.testing  # noqa: F401

    trio.run(main)


def test_a_cancelled_waiter_leaves_the_queue_and_keeps_no_slot():
    async def main():
        limiter = ConcurrencyLimiter(1, queue_size=4, queue_timeout=10)
        assert await limiter.acquire() is None
        with trio.move_on_after(0.01):
            await limiter.acquire()
        assert limiter.queued == 0
        limiter.release(0.0)
        assert limiter.in_flight == 0
        assert await limiter.acquire() is None

    trio.run(main)
