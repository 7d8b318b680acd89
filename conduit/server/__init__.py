"""The server: the only package that does socket IO, with trio + h11.

One nursery per server and per connection; every connection is one trio task
driving an ``h11.Connection``. Requests become :class:`conduit.http.Request`
objects and go through ``app.handle``.
"""

from .config import ServerConfig
from .serve import run, serve

__all__ = ["ServerConfig", "run", "serve"]
