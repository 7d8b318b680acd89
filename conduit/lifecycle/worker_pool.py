"""Persistent worker threads for sync handlers: a hand-off of a few µs instead of ~60-100.

Why not ``trio.to_thread.run_sync`` per call: under load it wakes one thread per call,
writes trio's wakeup socket once per completion, and passes the GIL among up to 40
threads (measured in docs/benchmarks.md, "where the microseconds go"). Here workers take
jobs from one ``queue.SimpleQueue`` and run them back to back; a finished job goes into
its run's deque, and the trio loop is woken once per batch of completions
(``run_sync_soon`` only when no wake-up is pending).

Threads are added when the oldest waiting job has not started within
:data:`SPAWN_AFTER` seconds (every worker busy or blocked), one, then twice as many each
tick it stays stuck, up to the size of trio's default thread limiter: quick handlers share a thread or two, blocking ones still get a
thread each. Each call holds a token of that limiter from submission until its job has
returned, so a job abandoned at its deadline keeps its slot while it runs (the bound on
threads that ``trio.to_thread`` gives). Idle workers exit after :data:`IDLE_SECONDS`.

A job runs in a copy of the caller's context (contextvars), as with ``trio.to_thread``.
What it gives up: ``trio.from_thread.run`` inside the job needs ``trio_token=`` (the
thread was not started by trio).
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import outcome
import trio
from trio.lowlevel import Abort, RunVar, current_task, current_trio_token, reschedule, wait_task_rescheduled

#: Seconds the oldest waiting job may wait unstarted before another worker is started.
SPAWN_AFTER = 0.005
#: Seconds an idle worker waits for a job before it exits.
IDLE_SECONDS = 10.0



class WorkerPool:
    """The threads and their one job queue (one per process: :data:`_pool`)."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.threads = 0
        self._lock = threading.Lock()

    def start_worker(self) -> None:
        with self._lock:
            self.threads += 1
        threading.Thread(target=self._work, name="conduit-sync-worker", daemon=True).start()

    def _work(self) -> None:
        get = self.jobs.get
        while True:
            try:
                job = get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    self.threads -= 1
                return
            job.started = True
            job.result = outcome.capture(job.context.run, job.fn)
            job.run.finished(job)
            del job


class _Job:
    __slots__ = ("fn", "context", "task", "run", "started", "abandoned", "result")

    def __init__(self, fn: Callable[[], Any], run: _Run) -> None:
        self.fn = fn
        self.context = contextvars.copy_context()
        self.task = current_task()
        self.run = run
        self.started = False
        self.abandoned = False
        self.result: outcome.Outcome | None = None


class _Run:
    """One trio run's side of the pool: its finished jobs and the watcher that adds threads."""

    def __init__(self) -> None:
        self.token = current_trio_token()
        self.limiter = trio.to_thread.current_default_thread_limiter()
        self.done: deque[_Job] = deque()
        self.wake_pending = False
        self.waiting: deque[_Job] = deque()
        self.kick = trio.Event()
        trio.lowlevel.spawn_system_task(self._watch, name="conduit sync-worker watcher")

    def finished(self, job: _Job) -> None:
        """In a worker: queue the finished job; wake the loop unless a wake-up is pending."""
        self.done.append(job)
        if not self.wake_pending:
            self.wake_pending = True
            try:
                self.token.run_sync_soon(self._drain)
            except trio.RunFinishedError:
                pass  # the run is over: nobody waits for the result

    def _drain(self) -> None:
        # Clear the flag before popping: a job appended after the last pop schedules a new drain.
        self.wake_pending = False
        done, release = self.done, self.limiter.release_on_behalf_of
        while done:
            job = done.popleft()
            release(job)
            if not job.abandoned:
                reschedule(job.task, job.result)

    async def _watch(self) -> None:
        # A head still unstarted after SPAWN_AFTER adds 1, then 2, 4... threads per tick
        # while it stays stuck (blocking handlers reach the limiter in a few ticks; a
        # worker that was only slow to get the GIL costs one extra thread).
        waiting, burst = self.waiting, 1
        while True:
            while waiting and waiting[0].started:
                waiting.popleft()
            if not waiting:
                burst = 1
                await self.kick.wait()
                self.kick = trio.Event()
                continue
            head = waiting[0]
            await trio.sleep(SPAWN_AFTER)
            if head.started:
                burst = 1
                continue
            for _ in range(min(burst, len(waiting), self.limiter.total_tokens - _pool.threads)):
                _pool.start_worker()
            burst *= 2


_pool = WorkerPool()
_runs: RunVar[_Run] = RunVar("conduit_sync_workers")


async def run_in_worker(fn: Callable[[], Any]) -> Any:
    """``fn()`` in a pool thread. Cancelling the caller abandons the job (it still runs)."""
    try:
        run = _runs.get()
    except LookupError:
        run = _Run()
        _runs.set(run)
    job = _Job(fn, run)
    await run.limiter.acquire_on_behalf_of(job)
    run.waiting.append(job)
    if not run.kick.is_set():
        run.kick.set()
    pool = _pool
    pool.jobs.put(job)
    if pool.threads == 0:
        pool.start_worker()

    def abort(_: Any) -> Abort:
        job.abandoned = True
        return Abort.SUCCEEDED

    return await wait_task_rescheduled(abort)


def _new_pool_after_fork() -> None:
    global _pool
    _pool = WorkerPool()  # the parent's threads do not exist in the child


os.register_at_fork(after_in_child=_new_pool_after_fork)


def worker_count() -> int:
    """Worker threads alive now (for tests and the benchmarks)."""
    return _pool.threads


__all__ = ["IDLE_SECONDS", "SPAWN_AFTER", "WorkerPool", "run_in_worker", "worker_count"]
