"""The handler deadline on the host's asyncio loop: one watchdog task instead of a timer per request.

A deadline per request (``asyncio.timeout``, or an anyio cancel scope) was the largest
single cost of a request on the host loop (a fifth of the GIL-held samples of hello
under granian). Every request of an app has the same timeout (``app.handler_timeout``),
so deadlines fall in the order requests start: requests in flight are a dict in
insertion order, and one watchdog task per loop sleeps until the oldest deadline,
cancels the requests past it and sleeps again; it ends when none are left. The native
server keeps its deadline the same way (a watchdog, not a cancel scope per request).

A request past its deadline is cancelled with ``Task.cancel()`` and, once the
cancellation has unwound the handler, answered by the lifecycle's 504
(:meth:`~conduit.lifecycle.RequestLifecycle.deadline_response`); a cancellation from
anyone else (the server, the client gone) propagates as it came.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..http.request import Request
from ..http.response import Response


class HostDeadlines:
    """Requests in flight on one asyncio loop, cancelled past ``timeout`` seconds by one watchdog."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self._deadlines: dict[asyncio.Task, float] = {}  # oldest first: one timeout for all
        self._passed: set[asyncio.Task] = set()
        self._watchdog: asyncio.Task | None = None

    async def handle(self, lifecycle: Any, request: Request) -> Response:
        """``lifecycle.handle`` under the deadline: the handler's answer, or the 504 past it."""
        task = asyncio.current_task()
        entered = task.cancelling()  # cancellations already asked for are not the deadline's
        self._deadlines[task] = self.loop.time() + self.timeout
        if self._watchdog is None:
            self._watchdog = self.loop.create_task(self._watch())
        try:
            response = await lifecycle.handle_without_deadline(request)
        except asyncio.CancelledError:
            if not self._took_back(task, entered):
                raise
            return await lifecycle.deadline_response(request)
        finally:
            self._deadlines.pop(task, None)
        self._took_back(task, entered)  # a handler that swallowed the cancellation keeps its answer
        return response

    def _took_back(self, task: asyncio.Task, entered: int) -> bool:
        """Undo the deadline's cancellation of ``task``; True when it was the only one."""
        if task not in self._passed:
            return False
        self._passed.discard(task)
        return task.uncancel() <= entered

    async def _watch(self) -> None:
        try:
            while self._deadlines:
                now = self.loop.time()
                for task, deadline in list(self._deadlines.items()):
                    if deadline > now:
                        break
                    del self._deadlines[task]
                    self._passed.add(task)
                    task.cancel()
                if self._deadlines:
                    await asyncio.sleep(next(iter(self._deadlines.values())) - now)
        finally:
            self._watchdog = None


__all__ = ["HostDeadlines"]
