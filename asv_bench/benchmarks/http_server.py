"""Requests/sec, latency, CPU per request and memory under wrk: conduit beside its peers.

Peers: Starlette on uvicorn (h11; httptools + uvloop), on hypercorn (trio) and on
granian (ASGI), and FastAPI on uvicorn (httptools + uvloop). One worker each,
127.0.0.1, the same three endpoints (``GET /`` plain text, ``GET /users/{id}`` JSON
with a path parameter, ``GET /sync`` a ``def`` handler run in a worker thread), all
in one ``setup_cache`` so every figure comes from the same run: every server is
started, then alternating rounds run each endpoint on each server in turn (the
median over rounds is reported, with the highest 1-minute load average seen). Server CPU is user + system time of the
server's processes (all threads) over the run, divided by the requests served.

``TinyChunkBody`` posts a 1 MiB chunked body in one-byte and eight-byte chunks and
measures the CPU the server spends on it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from . import _servers

SECONDS = int(os.environ.get("CONDUIT_BENCH_SECONDS", "5"))
CONNECTIONS = 64  # wrk -t1 -c64, as issue 22 measured


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

    def track_cpu_us_per_request(self, results, server, endpoint):
        return results[server][endpoint]["cpu_us_per_request"]

    track_cpu_us_per_request.unit = "us"

    def track_load_average(self, results, server, endpoint):
        """The 1-minute load average (highest over the rounds): a figure taken at >= 2 is contended."""
        return results[server][endpoint]["load_avg"]

    track_load_average.unit = "load"

    def track_errors(self, results, server, endpoint):
        return results[server][endpoint]["errors"]

    track_errors.unit = "responses"

    def track_rss_mib_after_load(self, results, server, endpoint):
        return results[server]["rss_mib"]

    track_rss_mib_after_load.unit = "MiB"


class LatencyOneConnection:
    """p50 / p99 with one connection (``wrk -c1``): Conduit beside Starlette on uvicorn
    (httptools + uvloop), alternating rounds."""

    timeout = 300
    params = ["conduit", "uvicorn-httptools+starlette"]
    param_names = ["server"]

    def setup_cache(self):
        return _servers.measure_latency(tuple(self.params))

    def track_p50_ms(self, results, server):
        return results[server]["p50_ms"]

    track_p50_ms.unit = "ms"

    def track_p99_ms(self, results, server):
        return results[server]["p99_ms"]

    track_p99_ms.unit = "ms"

    def track_load_average(self, results, server):
        return results[server]["load_avg"]

    track_load_average.unit = "load"


class TinyChunkBody:
    """A 1 MiB body in tiny chunks (5-6 MiB on the wire): server CPU and wall time."""

    timeout = 600
    params = (list(_servers.TINY_CHUNK_SERVERS), [label for label, _, _ in _servers.TINY_CHUNK_CASES])
    param_names = ["server", "chunks"]

    def setup_cache(self):
        return _servers.measure_tiny_chunks()

    def setup(self, results, server, chunks):
        if chunks not in results[server]:
            raise NotImplementedError("the default-limit case is measured on conduit only")  # an asv skip

    def _result(self, results, server, chunks):
        return results[server][chunks]

    def track_cpu_seconds(self, results, server, chunks):
        return self._result(results, server, chunks)["cpu_s"]

    track_cpu_seconds.unit = "s"

    def track_wall_seconds(self, results, server, chunks):
        return self._result(results, server, chunks)["seconds"]

    track_wall_seconds.unit = "s"

    def track_status(self, results, server, chunks):
        return self._result(results, server, chunks)["status"]

    track_status.unit = "status"


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
