"""Conduit under granian (its ASGI face) beside Conduit on its own trio + h11 server.

The same app (``peer_apps/hello_conduit.py``), the same three endpoints and wrk
settings as ``http_server.py``, both servers measured in one ``setup_cache`` so
the ratio is from one run. Under granian (an asyncio-side server) every ASGI call
is bridged to the app's trio loop in a thread (see ``conduit.asgi``), so this
measures what that bridge costs against serving natively.
"""

from __future__ import annotations

import os

from . import _servers

SECONDS = int(os.environ.get("CONDUIT_BENCH_SECONDS", "5"))
CONNECTIONS = 32
SERVERS = ("conduit", "granian+conduit")


class ASGIFaceThroughput:
    timeout = 300
    params = (list(SERVERS), list(_servers.ENDPOINTS))
    param_names = ["server", "endpoint"]

    def setup_cache(self):
        return _servers.measure_all(SECONDS, CONNECTIONS, names=SERVERS)

    def track_requests_per_second(self, results, server, endpoint):
        return results[server][endpoint]["req_per_s"]

    track_requests_per_second.unit = "req/s"

    def track_p99_ms(self, results, server, endpoint):
        return results[server][endpoint]["p99_ms"]

    track_p99_ms.unit = "ms"

    def track_cpu_us_per_request(self, results, server, endpoint):
        return results[server][endpoint]["cpu_us_per_request"]

    track_cpu_us_per_request.unit = "us"
