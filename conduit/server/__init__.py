"""The server: the only package that does socket IO, with trio.

One nursery per server and per connection; every connection is one trio task
feeding the sans-IO HTTP/1.1 codec (:mod:`conduit.http.h1`: the Numba head
scanner, h11 for the rest). Requests become :class:`conduit.http.Request`
objects and go through the app's lifecycle (``app.lifecycle``: the request policy
is the app's). Socket deadlines, the connection cap, graceful shutdown and
``--workers`` live here (docs/production.md)::

    served_app.py  ServedApp: what the server needs of an app (a typed protocol)
    connection.py  HTTPConnection: one connection's IO, deadlines and streaming
    sendfile.py  a file body by os.sendfile on a plain socket
    websocket.py the WebSocket face: handshake rules, then app.handle_websocket
    serve.py     serve(app, ...): pure trio, listening, accepting, draining
    process.py   serve_forever: trio.run, signals, exit statuses (one process)
    workers.py   run(app, ...): the process entry; the supervisor of N workers
    worker_board.py  heartbeats and retirements shared by the supervisor and its workers
"""

from .config import ServerConfig
from .process import STARTUP_FAILED
from .serve import StartupError, serve
from .served_app import ServedApp
from .workers import run

__all__ = ["STARTUP_FAILED", "ServedApp", "ServerConfig", "StartupError", "run", "serve"]
