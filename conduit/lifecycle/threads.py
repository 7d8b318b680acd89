"""Sync (``def``) handlers in worker threads, under the same deadline as async ones.

A thread cannot be cancelled. At the deadline the request is answered 504 and the
thread is *abandoned* (trio's ``abandon_on_cancel``): it runs on, and when it
returns its result (or its exception) is dropped with a log line. It keeps its
slot of trio's thread limiter until then, so abandoned handlers cannot grow the
pool past the limiter's size (40 by default): further sync handlers wait for a slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..anyloop import cancelled_error, run_in_thread

logger = logging.getLogger("conduit.error")


async def run_sync_handler(fn: Callable[[], Any], name: str) -> Any:
    """``fn()`` in a worker thread; cancelling the caller abandons the thread (see module doc)."""
    abandoned = False

    def call() -> Any:
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
        return await run_in_thread(call, abandon_on_cancel=True)
    except cancelled_error():
        abandoned = True
        raise


__all__ = ["run_sync_handler"]
