"""One server process: ``trio.run`` the server, stop it on a signal, exit with a status.

Owns what belongs to an operating-system process rather than to trio serving
(:mod:`.serve`): the exit statuses, SIGINT/SIGTERM (the first drains gracefully, a
second exits at once), a worker noticing that its supervisor died, and the heartbeat
a supervisor watches. :func:`serve_forever` runs one process's server; both a single
``conduit run`` process and each forked worker (:mod:`.workers`) call it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket as stdlib_socket
from collections.abc import Callable
from typing import Any

import trio

from .binding import BindError
from .config import ServerConfig
from .serve import StartupError, serve
from .worker_board import RETIRE, RETIRING, WorkerBoard
from .served_app import ServedApp

logger = logging.getLogger("conduit.server")

#: Exit status of a process whose app failed to start (hooks or warm-ups raised).
STARTUP_FAILED = 3
#: Exit status after a second SIGINT/SIGTERM cut a graceful drain short.
FORCED_EXIT = 1


def serve_forever(app: ServedApp, config: ServerConfig, sockets: list[stdlib_socket.socket] | None = None, *,
                  warmup_progress: Any = None, on_ready: Callable[[int], Any] | None = None,
                  supervisor: int | None = None, board: WorkerBoard | None = None, slot: int = 0) -> None:
    """``trio.run`` the server until SIGINT/SIGTERM, then drain (raises StartupError).

    ``on_ready(port)`` is called once the socket accepts. A worker given its
    ``supervisor`` pid drains and exits if that process dies (no orphans). With a
    ``board`` (a supervisor's :class:`.worker_board.WorkerBoard`) the worker beats
    into its ``slot`` four times per ``worker_timeout`` from the event loop (so a
    loop blocked by a handler stops beating), retires when the supervisor asks, and
    says so once it retires (its request budget is spent, or it was asked), so the
    supervisor starts its replacement while it drains.
    """

    async def main() -> None:
        stop = trio.Event()
        retire = trio.Event() if board is not None else None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, stop)
            if supervisor is not None:
                nursery.start_soon(_stop_when_orphaned, supervisor, stop)
            if board is not None:
                if config.worker_timeout is not None:
                    nursery.start_soon(_beat, board, slot, config.worker_timeout / 4)
                nursery.start_soon(_follow_board, board, slot, retire)

            async def serving(task_status=trio.TASK_STATUS_IGNORED) -> None:
                await serve(app, config=config, sockets=sockets, shutdown_trigger=stop, retire_trigger=retire,
                            warmup_progress=warmup_progress, task_status=task_status)
                nursery.cancel_scope.cancel()  # drained: stop listening for signals too

            port = await nursery.start(serving)
            if on_ready is not None:
                on_ready(port)

    try:
        trio.run(main)
    except BaseExceptionGroup as group:  # the nursery wraps a failed startup or listen
        failed, _ = group.split((StartupError, BindError))
        if failed is None:
            raise
        while isinstance(failed, BaseExceptionGroup):
            failed = failed.exceptions[0]
        raise failed from failed.__cause__


async def _stop_when_orphaned(supervisor: int, stop: trio.Event) -> None:
    while os.getppid() == supervisor:
        await trio.sleep(1.0)
    logger.warning("supervisor %d is gone; worker %d drains and exits", supervisor, os.getpid())
    stop.set()


async def _beat(board: WorkerBoard, slot: int, interval: float) -> None:
    while True:
        board.beat(slot)
        await trio.sleep(interval)


async def _follow_board(board: WorkerBoard, slot: int, retire: trio.Event) -> None:
    """Retire when the supervisor asks; tell it once retiring (asked, or the request budget is spent)."""
    while not retire.is_set():
        if board.state(slot) == RETIRE:
            retire.set()
            break
        with trio.move_on_after(_BOARD_CHECK):
            await retire.wait()
    board.set_state(slot, RETIRING)


_BOARD_CHECK = 0.1


async def _stop_on_signal(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if not stop.is_set():
                logger.info("received %s, shutting down gracefully", signal.Signals(signum).name)
                stop.set()
            else:
                # A second signal: the user does not want to wait for the drain.
                logger.warning("received %s again while draining: exiting now with status %d",
                               signal.Signals(signum).name, FORCED_EXIT)
                logging.shutdown()  # flush the log: os._exit skips it
                os._exit(FORCED_EXIT)


__all__ = ["FORCED_EXIT", "STARTUP_FAILED", "serve_forever"]
