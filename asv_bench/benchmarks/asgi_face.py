"""Conduit under granian (its ASGI face) beside Starlette under granian and Conduit on its own server.

The same endpoints and wrk settings as ``http_server.py``; the three servers are started
together and measured in one ``setup_cache`` in alternating rounds, so the ratios are from
one run. Under granian (an asyncio server) an app that needs no trio runs on granian's own
loop with no thread hop (``conduit.asgi.placement``); ``peer_apps/hello_conduit.py`` is such
an app. ``python scripts/bench_asgi_face.py`` prints the same figures as markdown rows.
"""

from __future__ import annotations

from . import _servers
from .http_server import CONNECTIONS, SECONDS, HTTPThroughput

SERVERS = ("granian+starlette", "granian+conduit", "conduit")


class ASGIFaceThroughput(HTTPThroughput):
    """``HTTPThroughput``'s figures for Conduit and Starlette under granian, and Conduit's own server."""

    timeout = 400
    params = (list(SERVERS), list(_servers.ENDPOINTS))

    def setup_cache(self):
        return _servers.measure_all(SECONDS, CONNECTIONS, names=SERVERS)
