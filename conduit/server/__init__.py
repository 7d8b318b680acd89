"""The server: the only package that does socket IO, with trio.

One nursery per server and per connection; every connection is one trio task
feeding the sans-IO HTTP/1.1 codec (:mod:`conduit.http.h1`: the Numba head
scanner, h11 for the rest). Requests become :class:`conduit.http.Request`
objects and go through ``app.handle``. Limits, deadlines, the connection cap,
graceful shutdown and ``--workers`` live here too (docs/production.md).
"""

from .config import ServerConfig
from .serve import STARTUP_FAILED, StartupError, run, serve

__all__ = ["STARTUP_FAILED", "ServerConfig", "StartupError", "run", "serve"]
