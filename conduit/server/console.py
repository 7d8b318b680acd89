"""What a server process tells the person who started it, on stderr.

``conduit run`` and ``app.run()`` print where they serve, how far the kernel
warm-up is (a line per warm-up group, then the total: on an empty Numba cache
the demo compiles for half a minute), a one-line ``error: ...`` for an address
that cannot be bound, and, when asked, one access-log line per request. These
are plain prints, not log records, so they show without any logging setup;
:func:`conduit.server.serve` (embedded in other trio code, or in tests) prints
nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from .config import ServerConfig

PREFIX = "conduit: "


def say(line: str) -> None:
    print(PREFIX + line, file=sys.stderr, flush=True)


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def _url(config: ServerConfig, port: int) -> str:
    host = config.host or "0.0.0.0"
    scheme = "https" if config.ssl_certfile else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def serving(config: ServerConfig, port: int) -> None:
    workers = config.workers
    plural = "worker" if workers == 1 else "workers"
    say(f"serving on {_url(config, port)} with {workers} {plural} (pid {os.getpid()}); Ctrl+C stops")


class WarmupReporter:
    """``progress`` for :meth:`conduit.Conduit.warmup`: a line per group, then the total."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.finished = False

    def __call__(self, index: int, total: int, name: str, seconds: float | None) -> None:
        if seconds is None:
            if self.started is None:
                self.started = time.perf_counter()
                say(f"loading {total} kernel groups (compiled on first start, then loaded from Numba's cache)")
            return
        say(f"  [{index}/{total}] {name}: {seconds:.1f} s")

    def done(self) -> None:
        if self.started is not None and not self.finished:
            self.finished = True
            say(f"kernels ready in {time.perf_counter() - self.started:.1f} s")


class AccessLineFormatter(logging.Formatter):
    """Renders the access-log record as ``client "METHOD path" status bytes duration``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = getattr(record, "access", None)
        if entry is None:
            return super().format(record)
        size = "-" if entry["bytes"] is None else f"{entry['bytes']} B"
        return (f'{PREFIX}{entry["client"] or "-"} "{entry["method"]} {entry["path"]}" {entry["status"]} '
                f'{size} {entry["duration_ms"]:.2f} ms')


def enable_access_log(app: Any) -> None:
    """Log every request of ``app``: AccessLog as the outermost middleware, a line each on stderr.

    A ``conduit.access`` logger the user configured (with handlers of its own) is
    left as it is; otherwise it gets a stderr handler with the one-line format.
    """
    from ..middleware.access_log import AccessLog

    app.middleware.insert(0, AccessLog())
    logger = logging.getLogger("conduit.access")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(AccessLineFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
