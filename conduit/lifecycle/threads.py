"""Sync (``def``) handlers in worker threads, under the same deadline as async ones.

On trio the threads are :mod:`.worker_pool`'s persistent workers (a hand-off of a few
µs); on the host's asyncio loop (the ASGI face) anyio's worker threads. A
thread cannot be cancelled. At the deadline the request is answered 504 and the job
is *abandoned*: a handler already running runs on, and when it returns its result
(or its exception) is dropped with a log line; one that had not started yet is not
run (logged too). It keeps its slot of trio's thread limiter until then, so abandoned
handlers cannot grow the pool past the limiter's size (40 by default): further sync
handlers wait for a slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..anyloop import cancelled_error, on_trio, run_in_thread
from .worker_pool import run_in_worker

logger = logging.getLogger("conduit.error")


async def run_sync_handler(fn: Callable[[], Any], name: str) -> Any:
    """``fn()`` in a worker thread; cancelling the caller abandons the thread (see module doc)."""
    abandoned = False

    def call() -> Any:
        if abandoned:
            logger.warning("sync handler %s did not start before its deadline; it is not run", name)
            return None
        try:
            result = fn()
        except BaseException:
            if abandoned:
                logger.exception("sync handler %s failed after its deadline; the error is dropped", name)
            raise
        if abandoned:
            logger.warning("sync handler %s returned after its deadline; its result is dropped", name)
        return result

    try:
        if on_trio():
            return await run_in_worker(call)
        return await run_in_thread(call, abandon_on_cancel=True)  # the host's asyncio loop (ASGI face)
    except cancelled_error():
        abandoned = True
        raise


__all__ = ["run_sync_handler"]
