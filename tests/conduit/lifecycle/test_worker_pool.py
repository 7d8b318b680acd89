"""The persistent worker pool behind sync handlers keeps trio.to_thread's guarantees.

Blocking handlers still each get a thread (none waits behind another), results and
exceptions come back to their own caller under concurrency, contextvars are the
caller's, the limiter bounds threads, and a job cancelled before it starts is not run.
"""

from __future__ import annotations

import contextvars
import logging
import os
import signal
import time
import threading

import pytest
import trio

from conduit import Conduit
from conduit.lifecycle.threads import run_sync_handler
from conduit.lifecycle.worker_pool import run_in_worker, worker_count
from conduit.testing import TestClient


def test_many_concurrent_jobs_each_get_their_own_result_or_error():
    async def main() -> dict[int, object]:
        results: dict[int, object] = {}

        async def one(i: int) -> None:
            def job() -> int:
                if i % 7 == 0:
                    raise ValueError(f"job {i}")
                return i * i
            try:
                results[i] = await run_in_worker(job)
            except ValueError as exc:
                results[i] = str(exc)

        async with trio.open_nursery() as nursery:
            for i in range(500):
                nursery.start_soon(one, i)
        return results

    results = trio.run(main)
    assert results == {i: (f"job {i}" if i % 7 == 0 else i * i) for i in range(500)}


def test_blocking_jobs_do_not_wait_behind_each_other():
    """Ten jobs that each wait for all ten to be running: only possible with ten threads."""
    barrier = threading.Barrier(10, timeout=20)

    async def main() -> list[int]:
        out: list[int] = []

        async def one() -> None:
            out.append(await run_in_worker(barrier.wait))

        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(one)
        return out

    assert sorted(trio.run(main)) == list(range(10))  # no BrokenBarrierError
    assert worker_count() >= 10


def test_the_limiter_bounds_the_threads_a_blocking_burst_can_start():
    release = threading.Event()

    async def main() -> int:
        limiter = trio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 3
        running = 0
        peak = 0
        lock = threading.Lock()

        def job() -> None:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            release.wait(20)
            with lock:
                running -= 1

        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(run_in_worker, job)
            await trio.sleep(0.3)
            assert limiter.borrowed_tokens == 3
            release.set()
        return peak

    assert trio.run(main) == 3


def test_a_job_runs_in_the_callers_context():
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> str:
        var.set("the caller's")
        return await run_in_worker(var.get)

    assert trio.run(main) == "the caller's"


def test_a_job_cancelled_while_waiting_for_a_slot_is_not_run():
    release = threading.Event()
    ran = []

    async def main() -> int:
        limiter = trio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 1
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_in_worker, lambda: release.wait(20))
            await trio.sleep(0.05)
            with trio.move_on_after(0.1):  # waits for the one slot, then is cancelled
                await run_sync_handler(lambda: ran.append(1), "queued")
            release.set()
        return limiter.borrowed_tokens

    assert trio.run(main) == 0
    assert ran == []


def test_a_queued_job_abandoned_before_a_thread_takes_it_is_not_run(monkeypatch, caplog):
    """All threads busy, no new one yet: at the deadline the queued handler is dropped, logged."""
    import conduit.lifecycle.worker_pool as pool

    monkeypatch.setattr(pool, "SPAWN_AFTER", 60.0)  # no second thread during the test
    monkeypatch.setattr(pool, "_pool", pool.WorkerPool())  # threads of earlier tests stay with the old one
    release = threading.Event()
    ran = []

    async def main() -> int:
        limiter = trio.to_thread.current_default_thread_limiter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_in_worker, lambda: release.wait(20))
            await trio.sleep(0.05)
            with trio.move_on_after(0.1):
                await run_sync_handler(lambda: ran.append(1), "queued")
            held = limiter.borrowed_tokens  # the queued job keeps its slot until a thread drops it
            release.set()
        while limiter.borrowed_tokens:
            await trio.sleep(0.01)
        return held

    with caplog.at_level(logging.WARNING, logger="conduit.error"):
        held = trio.run(main)
    assert held == 2
    assert ran == []
    assert any("queued did not start before its deadline" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("path", ["/sync", "/sync-error"])
def test_sync_routes_answer_through_the_pool_across_runs(path):
    """Each TestClient is its own trio run; the pool's threads serve them all."""
    app = Conduit()

    @app.get("/sync")
    def sync():
        return {"thread": threading.current_thread().name}

    @app.get("/sync-error")
    def sync_error():
        raise RuntimeError("boom")

    for _ in range(3):
        with TestClient(app) as client:
            response = client.get(path)
            if path == "/sync":
                assert response.status_code == 200
                assert response.json() == {"thread": "conduit-sync-worker"}
            else:
                assert response.status_code == 500
                assert "boom" not in response.text


def test_idle_workers_exit_and_a_later_job_starts_a_new_one(monkeypatch):
    import conduit.lifecycle.worker_pool as pool

    monkeypatch.setattr(pool, "_pool", pool.WorkerPool())
    monkeypatch.setattr(pool, "IDLE_SECONDS", 0.2)

    async def one() -> str:
        return await run_in_worker(lambda: threading.current_thread().name)

    assert trio.run(one) == "conduit-sync-worker"
    assert worker_count() == 1
    deadline = time.monotonic() + 20
    while worker_count():
        assert time.monotonic() < deadline, "the idle worker did not exit"
        time.sleep(0.05)
    assert trio.run(one) == "conduit-sync-worker"  # a fresh thread takes it


def test_a_forked_child_starts_its_own_workers(monkeypatch):
    """The parent's threads do not exist after fork: the child must not wait for them
    (the watcher's late thread is turned off, so only a fresh pool lets the job run)."""
    import conduit.lifecycle.worker_pool as pool

    monkeypatch.setattr(pool, "SPAWN_AFTER", 60.0)
    assert trio.run(run_in_worker, lambda: 1) == 1  # the parent has a worker now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if a sync job runs here within the timeout
        code = 1
        try:
            signal.alarm(20)  # a child that waits for the parent's threads dies of SIGALRM
            code = 0 if trio.run(run_in_worker, lambda: 7) == 7 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
