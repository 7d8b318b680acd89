"""CPU per request of one request cycle in-process, by face: the native connection and the ASGI face.

No sockets and no load generator: the native face is ``HTTPConnection`` over a trio
memory stream pair (keep-alive GETs one after another), the ASGI face is ``app(scope,
receive, send)`` called on trio (the path a trio ASGI server takes). CPU time of the
process (``time.process_time``) over a few thousand requests after a warm-up, in µs
per request, so the figure depends far less on the machine's load than wall time does.
This is the cost of the codec, the app's lifecycle and the face's adaptation together;
run it on two commits to compare them (docs/benchmarks.md, "Request cycle").
"""

from __future__ import annotations

import os
import sys
import time

REQUESTS = int(os.environ.get("CONDUIT_CYCLE_REQUESTS", "4000"))
PATHS = ["/", "/users/42"]


def _app():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "peer_apps"))
    from hello_conduit import app

    return app


async def _native(app, path: bytes, n: int) -> float:
    import trio
    import trio.testing

    from conduit.server.config import ServerConfig
    from conduit.server.connection import HTTPConnection
    from conduit.server.serve import ServerState

    request = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
    config = ServerConfig()
    server_end, client_end = trio.testing.memory_stream_pair()
    connection = HTTPConnection(server_end, app, config, ("127.0.0.1", 1), ServerState(config, app.handler_timeout))

    async def run(count: int) -> None:
        answered = 0
        for i in range(count):
            await client_end.send_all(request)
            while answered <= i:
                answered += (await client_end.receive_some(65536)).count(b"HTTP/1.1 200")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(connection.serve)
        await run(min(500, n))
        start = time.process_time()
        await run(n)
        spent = time.process_time() - start
        await client_end.aclose()
    return spent / n * 1e6


async def _asgi(app, path: bytes, n: int) -> float:
    scope = {"type": "http", "method": "GET", "path": path.decode(), "raw_path": path, "query_string": b"",
             "headers": [(b"host", b"x")], "client": ("127.0.0.1", 1), "http_version": "1.1"}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    for _ in range(min(500, n)):
        await app(scope, receive, send)
    start = time.process_time()
    for _ in range(n):
        await app(scope, receive, send)
    return (time.process_time() - start) / n * 1e6


def cycle_cpu_us(face: str, path: str, n: int = REQUESTS) -> float:
    """CPU µs per request of ``face`` ("native" or "asgi") serving ``GET path``."""
    import trio

    app = _app()

    async def main() -> float:
        await app.startup()
        try:
            return await (_native if face == "native" else _asgi)(app, path.encode(), n)
        finally:
            await app.shutdown()

    return trio.run(main)


class RequestCycle:
    timeout = 300
    params = (["native", "asgi"], PATHS)
    param_names = ["face", "path"]

    def track_cpu_us_per_request(self, face, path):
        return cycle_cpu_us(face, path)

    track_cpu_us_per_request.unit = "µs"


if __name__ == "__main__":  # python asv_bench/benchmarks/request_cycle.py: one line per face and path
    for face in ("native", "asgi"):
        for path in PATHS:
            print(face, path, round(cycle_cpu_us(face, path), 1), "load1", os.getloadavg()[0])
