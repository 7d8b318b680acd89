"""An app on its own trio loop in a daemon thread, driven from other threads.

The in-process :func:`conduit.testing.client.TestClient`, :class:`conduit.testing.client.LiveServer`
and the ASGI face under an asyncio server (:mod:`conduit.asgi.http`) all need the same
thing: the app started once on a trio loop that lives as long as they do (state made
at startup, such as locks, channels and batchers, stays in that one loop), with calls
handed to it from the caller's thread.
"""

from __future__ import annotations

import threading
from typing import Any

import trio


class LoopThread:
    """A trio loop in a daemon thread that runs ``main(ready)`` until stopped."""

    def __init__(self, main):
        self._main = main
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.token: trio.lowlevel.TrioToken | None = None
        self.value: Any = None
        self._scope: trio.CancelScope | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="conduit-test-loop")

    def _run(self) -> None:
        async def root():
            self.token = trio.lowlevel.current_trio_token()
            with trio.CancelScope() as scope:
                self._scope = scope
                await self._main(self)
        try:
            trio.run(root)
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
        finally:
            self._ready.set()

    def started(self, value: Any = None) -> None:
        self.value = value
        self._ready.set()

    def start(self, timeout: float = 120) -> Any:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the app did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the app failed to start: {self._error!r}") from self._error
        return self.value

    def call(self, async_fn, *args):
        return trio.from_thread.run(async_fn, *args, trio_token=self.token)

    def stop(self, timeout: float = 60) -> None:
        if self._thread.is_alive() and self.token is not None:
            try:
                trio.from_thread.run_sync(self._scope.cancel, trio_token=self.token)
            except trio.RunFinishedError:
                pass
        self._thread.join(timeout)
        if self._error is not None and not isinstance(self._error, trio.Cancelled):
            raise self._error


def app_loop(app) -> LoopThread:
    """Start ``app`` (warm-ups, startup hooks) on its own trio loop in a thread; ``stop()`` shuts it down."""

    async def main(loop: LoopThread):
        await app.startup()
        loop.started()
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await app.shutdown()

    loop = LoopThread(main)
    loop.start()
    return loop


__all__ = ["LoopThread", "app_loop"]
