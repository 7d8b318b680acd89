"""The server: the only package that does socket IO, with trio + h11.

One nursery per server and per connection; every connection is one trio task
driving an ``h11.Connection``. Requests become :class:`conduit.http.Request`
objects and go through ``app.handle``. Limits, deadlines, the connection cap,
graceful shutdown and ``--workers`` live here too (docs/production.md).
"""

from .config import ServerConfig
from .serve import STARTUP_FAILED, StartupError, run, serve

__all__ = ["STARTUP_FAILED", "ServerConfig", "StartupError", "run", "serve"]
