"""``--workers N``: a supervisor process forks N workers that share one listening socket.

The supervisor binds the socket once and each forked worker accepts on the
inherited descriptor: the kernel keeps one accept queue, so a crashed worker
loses no queued connection (with per-worker ``SO_REUSEPORT`` sockets a dying
worker's queue would be reset). The supervisor never runs the app or trio.

- A worker that dies is replaced (with a back-off if they keep dying at once).
- A worker whose startup fails (exit status 3) aborts the whole server: every
  worker is stopped and the supervisor exits 3.
- SIGTERM/SIGINT reach every worker, which drain as a single process would
  (stop accepting, finish in-flight requests within the grace period); the
  supervisor exits 0 once all have.
- Prometheus multiprocess mode is switched on: ``PROMETHEUS_MULTIPROC_DIR`` is
  set (a fresh temporary folder unless the operator set one, which is emptied),
  and a dead worker's live gauges are dropped.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from .binding import bind
from .config import ServerConfig

logger = logging.getLogger("conduit.server")


def bind_socket(config: ServerConfig) -> socket.socket:
    """The one listening socket every worker inherits (raises :class:`.binding.BindError`)."""
    sock = bind(config)
    sock.listen(config.backlog)
    return sock


def _prepare_multiprocess_metrics() -> str | None:
    """Point prometheus_client at a shared folder before any worker creates a metric."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    created = None
    if not folder:
        folder = created = tempfile.mkdtemp(prefix="conduit-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    else:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):  # stale files from an earlier run
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))
    if "prometheus_client" in sys.modules:  # imported already: pick the mmap-backed values now
        from prometheus_client import values

        values.ValueClass = values.get_value_class()
    return created


def _mark_dead(pid: int) -> None:
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
    except Exception:  # metrics are best effort
        pass


def _worker(app: Any, config: ServerConfig, sock: socket.socket) -> int:
    from .serve import STARTUP_FAILED, StartupError, serve_forever

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    try:
        serve_forever(app, config, sockets=[sock])
    except StartupError as exc:
        logger.critical("worker %d: %s", os.getpid(), exc, exc_info=exc.__cause__)
        return STARTUP_FAILED
    except BaseException:
        logger.exception("worker %d crashed", os.getpid())
        return 1
    return 0


def supervise(app: Any, config: ServerConfig, sock: socket.socket | None = None) -> int:
    """Run ``config.workers`` workers until SIGTERM/SIGINT; the process exit status.

    ``sock`` is the already-bound socket (``conduit.server.run`` binds first, to
    report a busy port at once); without it the supervisor binds here.
    """
    from ..http import h1
    from .serve import STARTUP_FAILED

    # Load the codec's kernels once, before forking: the workers share those pages
    # and a replacement worker starts without loading them again.
    h1.warmup()
    sock = bind_socket(config) if sock is None else sock
    sock.listen(config.backlog)
    created = _prepare_multiprocess_metrics()
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    workers: dict[int, float] = {}  # pid -> start time
    quick_deaths = 0

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _worker(app, config, sock)
            finally:
                logging.shutdown()
                os._exit(code)
        workers[pid] = time.monotonic()

    logger.info("conduit supervisor %d: %d workers on http://%s:%d", os.getpid(), config.workers,
                config.host, sock.getsockname()[1])
    status = 0
    try:
        for _ in range(config.workers):
            spawn()
        while not stopping:
            pid, code = _reap()
            if pid is None:
                time.sleep(0.1)
                continue
            started = workers.pop(pid, time.monotonic())
            _mark_dead(pid)
            if os.WIFEXITED(code) and os.WEXITSTATUS(code) == STARTUP_FAILED:
                logger.critical("worker %d failed to start; stopping the server", pid)
                status = STARTUP_FAILED
                break
            logger.warning("worker %d died (%s); starting a replacement", pid, _describe(code))
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < 1.0 else 0
            if quick_deaths >= 5:
                logger.critical("workers keep dying at start; stopping the server")
                status = 1
                break
            time.sleep(min(2.0, 0.1 * 2 ** quick_deaths) if quick_deaths else 0)
            spawn()
    finally:
        _stop_all(workers, config.grace_period + 5.0)
        sock.close()
        if created:
            shutil.rmtree(created, ignore_errors=True)
    return status


def _reap() -> tuple[int | None, int]:
    try:
        pid, code = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return None, 0
    return (pid, code) if pid else (None, 0)


def _describe(code: int) -> str:
    if os.WIFSIGNALED(code):
        return f"signal {signal.Signals(os.WTERMSIG(code)).name}"
    return f"exit status {os.WEXITSTATUS(code)}"


def _stop_all(workers: dict[int, float], timeout: float) -> None:
    """SIGTERM every worker, wait for them to drain, SIGKILL what is left after ``timeout``."""
    for pid in workers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while workers and time.monotonic() < deadline:
        pid, code = _reap()
        if pid is None:
            time.sleep(0.05)
            continue
        workers.pop(pid, None)
        _mark_dead(pid)
        if not (os.WIFEXITED(code) and os.WEXITSTATUS(code) == 0):
            logger.warning("worker %d ended with %s", pid, _describe(code))
    for pid in list(workers):
        logger.error("worker %d did not stop in time; killing it", pid)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        _mark_dead(pid)
