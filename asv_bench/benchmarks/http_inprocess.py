"""Conduit's own CPU per HTTP request, without a socket: the part of a request that is Python.

The real ``HTTPConnection`` serves the hello app (``peer_apps/hello_conduit.py``) over an
in-memory stream that hands it one request per read and drops what it writes, under a
server-like setting (deadlines as floats, as ``serve`` sets them). The figure is the
process CPU time (``time.process_time``) per request, best of several batches: it
leaves out the socket system calls and trio's epoll wait, which the wrk suites include,
and moves much less with the machine's load than req/s. ``metrics`` adds
``MetricsMiddleware`` (prometheus_client), so the difference is the metrics cost per
request. Run directly: ``python -m benchmarks.http_inprocess`` from ``asv_bench``.
"""

from __future__ import annotations

import sys
import time

from ._servers import PEERS

BATCH = 20_000
ENDPOINTS = {"hello": "/", "json": "/users/42"}


def _app(metrics: bool):
    sys.path.insert(0, str(PEERS))
    import importlib

    import hello_conduit

    app = importlib.reload(hello_conduit).app  # a fresh app: middleware never accumulates
    if metrics:
        from conduit.observability.metrics import MetricsMiddleware

        app.add_middleware(MetricsMiddleware())
    app.warmup()
    return app


def cpu_us_per_request(app, path: str, requests: int = BATCH) -> float:
    import trio

    from conduit.server.config import ServerConfig
    from conduit.server.connection import HTTPConnection

    class OneRequestPerRead(trio.abc.Stream):
        def __init__(self) -> None:
            self.left, self.sent = requests, 0
            self.request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()

        async def receive_some(self, max_bytes=None) -> bytes:
            if not self.left:
                return b""
            self.left -= 1
            return self.request

        async def send_all(self, data) -> None:
            self.sent += 1

        async def wait_send_all_might_not_block(self) -> None:
            pass

        async def send_eof(self) -> None:
            pass

        async def aclose(self) -> None:
            pass

    class Server:
        draining = False  # with a server, deadlines are floats the watchdog reads

    stream = OneRequestPerRead()
    connection = HTTPConnection(stream, app, ServerConfig(), server=Server())
    started = time.process_time()
    trio.run(connection.serve)
    if stream.sent != requests:
        raise RuntimeError(f"{stream.sent} responses for {requests} requests")
    return (time.process_time() - started) / requests * 1e6


def measure(batches: int = 5) -> dict:
    results = {}
    for label, metrics in (("plain", False), ("metrics", True)):
        app = _app(metrics)
        for endpoint, path in ENDPOINTS.items():
            cpu_us_per_request(app, path, 2000)  # warm
            results[(label, endpoint)] = min(cpu_us_per_request(app, path) for _ in range(batches))
    return results


class InProcessRequest:
    timeout = 300
    params = (["plain", "metrics"], list(ENDPOINTS))
    param_names = ["middleware", "endpoint"]

    def setup_cache(self):
        return {f"{k[0]}/{k[1]}": v for k, v in measure().items()}

    def track_cpu_us_per_request(self, results, middleware, endpoint):
        return results[f"{middleware}/{endpoint}"]

    track_cpu_us_per_request.unit = "us"


if __name__ == "__main__":
    import os

    for (label, endpoint), value in measure().items():
        print(f"{label:8s} {endpoint:6s} {value:6.2f} µs/request  (load average {os.getloadavg()[0]:.1f})")
