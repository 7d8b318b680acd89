"""The few async primitives the request path needs, on whichever event loop runs it.

The request lifecycle is plain Python (match, binding, the handler call, building the
response) around four things that need an event loop: a deadline, a shielded clean-up,
a worker thread and a task group. Under Conduit's own server (and the ``TestClient``)
the loop is trio; under an asyncio ASGI server (uvicorn, granian) the ASGI face runs
routes straight on the host's loop (:mod:`conduit.asgi.http`), with no thread hop per
message. These helpers pick the loop's own primitives: trio's directly on trio (the
native path gains no layer), anyio's on asyncio (imported only there, so
``import conduit`` stays light).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio


def on_trio() -> bool:
    """Whether the calling task runs on a trio loop (a thread-local look-up: sniffio's answer,
    without its ``asyncio.current_task()`` call on every request under asyncio)."""
    return trio.lowlevel.in_trio_run()


def move_on_after(seconds: float) -> Any:
    """A cancel scope with a deadline ``seconds`` from now (``cancelled_caught`` tells if it passed)."""
    if on_trio():
        return trio.move_on_after(seconds)
    import anyio

    return anyio.move_on_after(seconds)


def cancel_scope() -> Any:
    """A cancel scope to cancel from elsewhere (``scope.cancel()``; ``cancelled_caught`` after)."""
    if on_trio():
        return trio.CancelScope()
    import anyio

    return anyio.CancelScope()


async def sleep(seconds: float) -> None:
    """Sleep on whichever loop runs the caller."""
    if on_trio():
        await trio.sleep(seconds)
        return
    import anyio

    await anyio.sleep(seconds)


def shielded() -> Any:
    """A cancel scope that outer cancellation cannot reach: clean-up that must finish."""
    if on_trio():
        return trio.CancelScope(shield=True)
    import anyio

    return anyio.CancelScope(shield=True)


async def run_in_thread(fn: Callable[..., Any], *args: Any, abandon_on_cancel: bool = False) -> Any:
    """``fn(*args)`` in a worker thread of the loop's pool (40 at most at a time, both loops)."""
    if on_trio():
        return await trio.to_thread.run_sync(fn, *args, abandon_on_cancel=abandon_on_cancel)
    import anyio.to_thread

    return await anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=abandon_on_cancel)


def open_task_group() -> Any:
    """``async with open_task_group() as group``: ``group.start_soon(fn, *args)``, ``group.cancel_scope``."""
    if on_trio():
        return trio.open_nursery()
    import anyio

    return anyio.create_task_group()


def cancelled_error() -> type[BaseException]:
    """The exception a cancelled task sees on this loop (``trio.Cancelled``, ``asyncio.CancelledError``)."""
    if on_trio():
        return trio.Cancelled
    import anyio

    return anyio.get_cancelled_exc_class()


__all__ = ["cancel_scope", "cancelled_error", "move_on_after", "on_trio", "open_task_group", "run_in_thread", "shielded",
           "sleep"]
