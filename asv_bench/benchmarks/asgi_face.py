"""Conduit under granian (its ASGI face) beside Conduit on its own trio + h11 server.

The same app (``peer_apps/hello_conduit.py``), the same three endpoints and wrk
settings as ``http_server.py``, both servers measured in one ``setup_cache`` so
the ratio is from one run. Under granian (an asyncio-side server) every ASGI call
is bridged to the app's trio loop in a thread (see ``conduit.asgi.http``), so this
measures what that bridge costs against serving natively.
"""

from __future__ import annotations

from . import _servers
from .http_server import CONNECTIONS, SECONDS, HTTPThroughput

SERVERS = ("conduit", "granian+conduit")


class ASGIFaceThroughput(HTTPThroughput):
    """``HTTPThroughput``'s figures for the two ways of serving Conduit only (one short run)."""

    timeout = 300
    params = (list(SERVERS), list(_servers.ENDPOINTS))

    def setup_cache(self):
        return _servers.measure_all(SECONDS, CONNECTIONS, names=SERVERS)
