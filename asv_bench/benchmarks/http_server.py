"""Requests/sec, latency and memory under wrk: conduit beside uvicorn, hypercorn and FastAPI.

One worker each, 127.0.0.1, the same two endpoints (``GET /`` plain text and
``GET /users/{id}`` JSON with a path parameter), one wrk run of a few seconds per
server and endpoint, all in one ``setup_cache`` so every figure comes from the same run.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from . import _servers

SECONDS = int(os.environ.get("CONDUIT_BENCH_SECONDS", "5"))
CONNECTIONS = 32


class HTTPThroughput:
    timeout = 900
    params = (list(_servers.SERVERS), list(_servers.ENDPOINTS))
    param_names = ["server", "endpoint"]

    def setup_cache(self):
        return _servers.measure_all(SECONDS, CONNECTIONS)

    def track_requests_per_second(self, results, server, endpoint):
        return results[server][endpoint]["req_per_s"]

    track_requests_per_second.unit = "req/s"

    def track_p50_ms(self, results, server, endpoint):
        return results[server][endpoint]["p50_ms"]

    track_p50_ms.unit = "ms"

    def track_p99_ms(self, results, server, endpoint):
        return results[server][endpoint]["p99_ms"]

    track_p99_ms.unit = "ms"

    def track_errors(self, results, server, endpoint):
        return results[server][endpoint]["errors"]

    track_errors.unit = "responses"

    def track_rss_mib_after_load(self, results, server, endpoint):
        return results[server]["rss_mib"]

    track_rss_mib_after_load.unit = "MiB"


class ColdStart:
    """Process start to the first 200, with an empty and with a warm Numba cache."""

    timeout = 600
    params = ["empty-cache", "warm-cache"]
    param_names = ["cache"]

    def setup_cache(self):
        cache_dir = tempfile.mkdtemp(prefix="conduit-numba-cache-")
        try:
            env = {"NUMBA_CACHE_DIR": cache_dir}
            results = {}
            for label in ("empty-cache", "warm-cache"):  # the first run fills the cache
                server = _servers.Server("conduit", env=env)
                results[label] = server.startup_seconds
                server.stop()
            return results
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)

    def track_seconds_to_first_200(self, results, cache):
        return results[cache]

    track_seconds_to_first_200.unit = "s"
