"""Background tasks: work that runs after the response has been sent.

A handler that takes a :class:`BackgroundTasks` parameter gets one per request;
what it adds runs, in order, once the response is on the wire (the server awaits
it in the connection's task, so a graceful drain waits for it within the grace
period and cancels it after). A task that raises is logged with its traceback
and the next one still runs; the client never sees it.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from .anyloop import run_in_thread

logger = logging.getLogger("conduit.background")


class BackgroundTasks:
    """Callables to run after the response, in the order added.

    >>> tasks = BackgroundTasks()
    >>> tasks.add_task(print, "sent")
    >>> len(tasks)
    1
    """

    def __init__(self) -> None:
        self.tasks: list[tuple[Callable[..., Any], tuple, dict]] = []

    def add_task(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` after the response (sync functions in a worker thread)."""
        if not callable(fn):
            raise TypeError(f"add_task needs a callable, got {fn!r}")
        self.tasks.append((fn, args, kwargs))

    def __len__(self) -> int:
        return len(self.tasks)

    async def __call__(self) -> None:
        """Run every task; errors are logged, never raised (cancellation still propagates)."""
        tasks, self.tasks = self.tasks, []
        for fn, args, kwargs in tasks:
            try:
                if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):
                    await fn(*args, **kwargs)
                else:
                    result = await run_in_thread(functools.partial(fn, *args, **kwargs))
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                logger.exception("background task %r failed", getattr(fn, "__qualname__", fn))


def tasks_of(request: Any) -> BackgroundTasks:
    """The request's task list (made on first use; the app attaches it to the response)."""
    state = request.state
    tasks = getattr(state, "background", None)
    if tasks is None:
        tasks = state.background = BackgroundTasks()
    return tasks


__all__ = ["BackgroundTasks", "tasks_of"]
