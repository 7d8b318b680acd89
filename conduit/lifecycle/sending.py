"""What happens to a response once the lifecycle has it: its chunks, then its after-work.

Every face sends a streaming body through :func:`response_chunks` and ends every
cycle with :func:`finish_response`, so a stream's iterator is closed (``aclose`` or
``close``) on every path — finished, failed, cancelled, client gone — and background
tasks and after-send hooks (closing uploads) run the same way under each face.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..anyloop import move_on_after, run_in_thread, shielded
from ..http.response import Response, StreamingResponse

#: Seconds a stream's iterator gets to close after the stream stopped.
CLOSE_TIMEOUT = 5.0


async def _closed(close) -> None:
    with shielded(), move_on_after(CLOSE_TIMEOUT):
        await close()


async def response_chunks(response: StreamingResponse) -> AsyncIterator[bytes]:
    """The encoded chunks of a streaming body; a sync iterator advances in a worker thread.

    Use it with ``contextlib.aclosing``: closing this generator closes the response's
    iterator, shielded, even when the caller was cancelled.
    """
    iterable = response.iterable
    if hasattr(iterable, "__aiter__"):
        iterator = iterable.__aiter__()
        try:
            async for item in iterator:
                yield response.encode_chunk(item)
        finally:
            if hasattr(iterator, "aclose"):
                await _closed(iterator.aclose)
        return
    iterator = iter(iterable)
    done = object()
    try:
        while (item := await run_in_thread(next, iterator, done)) is not done:
            yield response.encode_chunk(item)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            await _closed(lambda: run_in_thread(close))


async def finish_response(response: Response, *, sent: bool) -> None:
    """Background tasks (only when the response went out whole), then the after-send hooks (always)."""
    try:
        if sent and response.background is not None:
            await response.background()
    finally:
        if response.after_send:  # most responses have none: skip the shielded scope
            await response.run_after_send()


__all__ = ["CLOSE_TIMEOUT", "finish_response", "response_chunks"]
