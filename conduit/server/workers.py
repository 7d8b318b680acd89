"""The process entry, ``run``: one server process, or a supervisor forking N workers.

:func:`run` binds the address first (a busy port is one line and exit status 1),
then serves in this process (:func:`.process.serve_forever`) or, with ``--workers N``
(or recycling, or a worker timeout), becomes the supervisor below.

``--workers N``: a supervisor process forks N workers that share one listening socket.

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
- Preload (default; ``--no-preload`` turns it off): the supervisor runs the app's
  warm-ups (kernel compilation or cache loads, model loading) once, collects and
  ``gc.freeze()``-s the heap, and only then forks, so the workers share those pages
  copy-on-write. Startup hooks (which open connections: Redis, databases) still run
  in each worker, after the fork, and each worker runs its own trio loop.
- Recycling loses no request. A worker that has served ``max_requests`` (plus up to
  ``max_requests_jitter``), or whose RSS passes ``max_memory_hard`` (the supervisor
  asks it through the shared :class:`.worker_board.WorkerBoard`), retires: it stops
  accepting (new connections wait in the shared queue for the other workers),
  finishes its in-flight requests, answers the next request of each idle keep-alive
  connection with ``Connection: close`` (closing one under a client that is sending
  would lose that request), and exits 0 once all are done (at most the keep-alive
  timeout for a silent connection, the grace period in all). The supervisor starts
  its replacement as soon as it retires.
- A worker whose supervisor dies (even by SIGKILL) drains and exits within a second.
- With ``worker_timeout``, each worker's event loop beats into a shared page; a
  worker that has beaten once and then stays silent that long is stuck (a handler
  blocking the loop) and is killed with SIGKILL and replaced.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from . import console
from . import tls
from .binding import BIND_FAILED, BindError, bind
from .config import ServerConfig
from .process import STARTUP_FAILED, serve_forever
from .serve import StartupError
from .worker_board import RETIRE, RETIRING, SERVING, WorkerBoard

logger = logging.getLogger("conduit.server")


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, *, access_log: bool = False,
        **options: Any) -> None:
    """Run the server until SIGINT or SIGTERM, then shut down gracefully.

    The address is bound first: a port in use, a host that cannot be bound or a
    permission error prints one line (``error: 127.0.0.1:8000 is already in use``)
    and exits with status 1. Then the kernels compile (or load from Numba's cache),
    with a progress line per warm-up group on stderr, and the server says where it
    serves. ``access_log=True`` prints one line per request (see
    :mod:`conduit.middleware.access_log`).

    With ``workers > 1`` a supervisor forks that many worker processes sharing the
    socket (see :mod:`conduit.server.workers`), after warming the kernels once so
    the workers start from a warm cache. A failing startup exits the process with
    status 3 and a one-line reason on the log.
    """
    config = ServerConfig.from_options(host=host, port=port, **options)
    try:
        tls.server_ssl_context(config)  # a certificate that does not load: one line, before any warm-up
        sock = bind(config)
    except (BindError, tls.TLSConfigError) as exc:
        console.error(str(exc))
        raise SystemExit(BIND_FAILED) from None
    if access_log:
        console.enable_access_log(app)
    progress = console.WarmupReporter()
    # Recycling and heartbeats need someone to start the replacement: the supervisor.
    if config.workers > 1 or config.max_requests is not None or config.worker_timeout is not None:
        raise SystemExit(supervise(app, config, sock, progress=progress))
    try:
        serve_forever(app, config, sockets=[sock], warmup_progress=progress,
                      on_ready=lambda port: (progress.done(), console.serving(config, port)))
    except StartupError as exc:
        logger.critical("%s", exc, exc_info=exc.__cause__)
        raise SystemExit(STARTUP_FAILED) from None
    except BindError as exc:
        console.error(str(exc))
        raise SystemExit(BIND_FAILED) from None


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


@dataclass
class _Worker:
    slot: int
    started: float
    retiring: bool = False  # draining (or killed) on purpose; its replacement is already running


def prefer_fork_safe_threading() -> None:
    """Pick Numba's TBB threading layer (fork- and thread-safe) before any parallel kernel runs.

    GNU OpenMP, Numba's usual layer on Linux, cannot be used in a child forked after
    the parent ran a parallel kernel (the child terminates itself), and the workqueue
    layer is not thread-safe; TBB is both. An explicit ``NUMBA_THREADING_LAYER`` wins.
    """
    if os.environ.get("NUMBA_THREADING_LAYER") or "numba" not in sys.modules:
        return
    try:
        from numba.np.ufunc import parallel, tbbpool  # noqa: F401 - importable only with libtbb
    except ImportError:
        if not _load_pip_tbb():
            return
        from numba.np.ufunc import parallel, tbbpool  # noqa: F401
    if not parallel._is_initialized:
        import numba

        numba.config.THREADING_LAYER = "tbb"


def _load_pip_tbb() -> bool:
    """Load the TBB runtime of the ``tbb`` wheel (``<prefix>/lib/libtbb.so.12``) by path.

    The wheel puts the library in the environment's ``lib`` folder, which the dynamic
    loader does not search, so Numba's TBB layer cannot find it by name; once loaded
    globally, it can.
    """
    import ctypes

    path = os.path.join(sys.prefix, "lib", "libtbb.so.12")
    if not os.path.exists(path):
        return False
    try:
        ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return False
    return True


def fork_safety_problem() -> str | None:
    """Why forking now would break parallel kernels in the workers, or None."""
    if "numba" not in sys.modules:
        return None
    from numba.np.ufunc import parallel

    if not parallel._is_initialized:
        return None
    import numba

    layer = numba.threading_layer()
    if layer == "omp":
        from numba.np.ufunc import omppool

        if getattr(omppool, "openmp_vendor", "GNU") == "GNU":
            return ("a parallel Numba kernel ran in the supervisor with the GNU OpenMP threading layer, "
                    "which cannot be used again after fork (every worker would terminate at its first "
                    "parallel kernel). Install the TBB layer (pip install 'conduit[workers]'), or use "
                    "--no-preload and run no parallel kernel at import time")
    return None


def preload(app: Any, progress: Any = None) -> None:
    """Warm the app in the supervisor and freeze the heap, so forked workers share it.

    ``gc.freeze()`` moves every object alive now into a generation the collector never
    scans: a worker's collections then never write to (and so never copy) those pages.
    """
    app.warmup(progress)
    gc.collect()
    gc.freeze()


def _worker(app: Any, config: ServerConfig, sock: socket.socket, slot: int, board: WorkerBoard) -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    try:
        serve_forever(app, config, sockets=[sock], supervisor=os.getppid(), board=board, slot=slot)
    except StartupError as exc:
        logger.critical("worker %d: %s", os.getpid(), exc, exc_info=exc.__cause__)
        return STARTUP_FAILED
    except BaseException:
        logger.exception("worker %d crashed", os.getpid())
        return 1
    return 0


def supervise(app: Any, config: ServerConfig, sock: socket.socket | None = None,
              progress: Any = None) -> int:
    """Run ``config.workers`` workers until SIGTERM/SIGINT; the process exit status.

    ``sock`` is the already-bound socket (``conduit.server.run`` binds first, to
    report a busy port at once); without it the supervisor binds here. ``progress``
    reports the preload's warm-up groups (``conduit.server.console.WarmupReporter``).
    """
    sock = bind_socket(config) if sock is None else sock
    created = _prepare_multiprocess_metrics()
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    prefer_fork_safe_threading()
    if config.preload:
        try:
            preload(app, progress)
        except Exception as exc:
            logger.critical("preloading the app failed: %s: %s", type(exc).__name__, exc, exc_info=exc)
            sock.close()
            return STARTUP_FAILED
    problem = fork_safety_problem()
    if problem is not None:
        logger.critical("cannot fork workers: %s", problem)
        sock.close()
        return STARTUP_FAILED
    sock.listen(config.backlog)  # after the preload: nothing waits in the backlog while kernels load
    if progress is not None:
        progress.done()
    console.serving(config, sock.getsockname()[1])
    board = WorkerBoard(2 * config.workers)
    workers: dict[int, _Worker] = {}
    quick_deaths = 0

    def spawn(slot: int) -> None:
        board.reset(slot)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _worker(app, config, sock, slot, board)
            finally:
                logging.shutdown()
                os._exit(code)
        workers[pid] = _Worker(slot, time.monotonic())

    def free_slot() -> int | None:
        # Retiring workers keep their slot until reaped (they still beat while draining).
        used = {w.slot for w in workers.values()}
        return next((i for i in range(2 * config.workers) if i not in used), None)

    def replace_early(pid: int) -> None:
        """Start the replacement of a worker that is draining; without a free slot, on its exit."""
        slot = free_slot()
        if slot is not None:
            workers[pid].retiring = True
            spawn(slot)

    logger.info("conduit supervisor %d: %d workers on http://%s:%d%s", os.getpid(), config.workers,
                config.host, sock.getsockname()[1], " (preloaded)" if config.preload else "")
    status = 0
    next_check = 0.0
    try:
        for slot in range(config.workers):
            spawn(slot)
        while not stopping:
            pid, code = _reap()
            if pid is None:
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + 0.5
                    # The old worker drains (or was killed) and is reaped later, not replaced again.
                    for victim in _over_limits(workers, config, board):
                        replace_early(victim)
                    for victim in _retiring(workers, board):
                        replace_early(victim)
                time.sleep(0.1)
                continue
            worker = workers.pop(pid, None)
            _mark_dead(pid)
            if worker is None or worker.retiring:
                continue  # replaced already
            if os.WIFEXITED(code) and os.WEXITSTATUS(code) == STARTUP_FAILED:
                logger.critical("worker %d failed to start; stopping the server", pid)
                status = STARTUP_FAILED
                break
            if os.WIFEXITED(code) and os.WEXITSTATUS(code) == 0:
                logger.info("worker %d recycled after its request budget; starting a replacement", pid)
                spawn(worker.slot)
                continue
            logger.warning("worker %d died (%s); starting a replacement", pid, _describe(code))
            quick_deaths = quick_deaths + 1 if time.monotonic() - worker.started < 1.0 else 0
            if quick_deaths >= 5:
                logger.critical("workers keep dying at start; stopping the server")
                status = 1
                break
            time.sleep(min(2.0, 0.1 * 2 ** quick_deaths) if quick_deaths else 0)
            spawn(worker.slot)
    finally:
        _stop_all(workers, config.grace_period + 5.0)
        sock.close()
        if created:
            shutil.rmtree(created, ignore_errors=True)
    return status


def _retiring(workers: dict[int, _Worker], board: WorkerBoard) -> list[int]:
    """Workers that stopped accepting on their own (request budget spent) and are not replaced yet."""
    return [pid for pid, worker in workers.items() if not worker.retiring and board.state(worker.slot) == RETIRING]


def _over_limits(workers: dict[int, _Worker], config: ServerConfig, board: WorkerBoard) -> list[int]:
    """Workers to replace now: over the hard memory limit (asked to retire) or stuck (killed)."""
    from ..admission.memory import process_rss

    victims = []
    now = time.monotonic()
    for pid, worker in workers.items():
        if worker.retiring or board.state(worker.slot) != SERVING:
            continue
        if config.max_memory_hard is not None:
            rss = process_rss(pid)
            if rss > config.max_memory_hard:
                logger.warning("worker %d uses %.0f MB, over the hard limit of %.0f MB: draining and "
                               "replacing it", pid, rss / 1e6, config.max_memory_hard / 1e6)
                board.set_state(worker.slot, RETIRE)  # a gentle drain: idle keep-alive requests still answered
                victims.append(pid)
                continue
        if config.worker_timeout is not None:
            last = board.last(worker.slot)
            if last and now - last > config.worker_timeout:
                logger.error("worker %d has not beaten for %.1f s (over the %.1f s worker timeout): "
                             "killing and replacing it", pid, now - last, config.worker_timeout)
                _signal(pid, signal.SIGKILL)
                victims.append(pid)
    return victims


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


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


def _stop_all(workers: dict[int, Any], timeout: float) -> None:
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


__all__ = ["bind_socket", "fork_safety_problem", "preload", "prefer_fork_safe_threading", "run", "supervise"]
