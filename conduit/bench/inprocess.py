"""A route's cost in-process: the server's own connection, no socket, CPU µs per request.

Each sample request is replayed into :class:`~conduit.server.connection.HTTPConnection`
(the connection class the ``TestClient``'s transport and the socket server run)
over a stream that hands it one request per read and keeps only the status lines
it writes back, for a bounded time. So a request passes through the HTTP/1.1
codec, the app's lifecycle (admission, middleware, limits, errors) and the
handler as on a socket; the figure is the process CPU time (every thread: sync
handlers run in worker threads) per request, which moves much less with the
machine's load than wall time. Routes are measured in alternating rounds, and
every figure carries the 1-minute load average seen during it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import trio

from ..server.config import ServerConfig
from ..server.connection import HTTPConnection
from .samples import Sample


class _ReplayStream(trio.abc.Stream):
    """Hands the connection the same request on every read until ``deadline``; counts the answers."""

    def __init__(self, request: bytes, deadline: float) -> None:
        self.request = request
        self.deadline = deadline
        self.sent = 0
        self.statuses: Counter[int] = Counter()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self.sent and time.perf_counter() >= self.deadline:  # every connection serves one at least
            return b""
        self.sent += 1
        return self.request

    async def send_all(self, data: Any) -> None:
        if bytes(data[:9]) == b"HTTP/1.1 ":
            self.statuses[int(bytes(data[9:12]))] += 1

    async def wait_send_all_might_not_block(self) -> None:
        pass

    async def send_eof(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class _Server:
    draining = False  # with a server, deadlines are floats the watchdog reads, as under `serve`


async def _replay(app: Any, sample: Sample, seconds: float) -> tuple[int, Counter[int], float]:
    """(requests answered, statuses, CPU seconds) for ``seconds`` of replaying ``sample``."""
    request, statuses, answered = sample.to_bytes(), Counter[int](), 0
    deadline = time.perf_counter() + seconds
    started = time.process_time()
    while time.perf_counter() < deadline:  # a response with Connection: close ends a connection
        stream = _ReplayStream(request, deadline)
        await HTTPConnection(stream, app, ServerConfig(), client=("127.0.0.1", 50000), server=_Server()).serve()
        statuses += stream.statuses
        answered += sum(stream.statuses.values())
        if not stream.statuses:
            raise RuntimeError(f"{sample.method} {sample.target}: the connection answered nothing")
    return answered, statuses, time.process_time() - started


def measure_in_process(app: Any, samples: dict[str, Sample], seconds: float, rounds: int = 3) -> dict[str, dict]:
    """{label: {"cpu_us": µs per request, "requests", "statuses", "load_avg"}} after ``rounds`` rounds.

    Every route runs ``seconds / rounds`` per round, in turn, so all of them see the
    same stretch of machine load; the figure is the lowest per-round cost (the
    least disturbed round), ``load_avg`` the highest 1-minute load average seen.
    """
    results: dict[str, dict] = {}

    async def main() -> None:
        await app.startup()
        try:
            for sample in samples.values():  # a first request each: lazy imports, caches
                await _replay(app, sample, 0.05)
            for _ in range(rounds):
                for label, sample in samples.items():
                    answered, statuses, cpu = await _replay(app, sample, seconds / rounds)
                    entry = results.setdefault(label, {"cpu_us": float("inf"), "requests": 0,
                                                       "statuses": {}, "load_avg": 0.0})
                    entry["cpu_us"] = min(entry["cpu_us"], cpu / answered * 1e6)
                    entry["requests"] += answered
                    for status, count in statuses.items():
                        entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + count
                    entry["load_avg"] = max(entry["load_avg"], os.getloadavg()[0])
        finally:
            await app.shutdown()

    trio.run(main)
    return results
