"""Issue 22's JSON row and WebSocket echo CPU, each beside its peer, as markdown rows.

One command for the figures of docs/benchmarks.md's "JSON and WebSocket echo: where the
microseconds go" (about 3 minutes): ``cd asv_bench && PYTHONPATH=.:..:../kernels python -m
benchmarks.json_echo_rows``. Three parts, each in alternating rounds with the 1-minute load
average printed beside every row:

- the in-process CPU per request of hello and JSON (``http_inprocess``: Conduit's Python
  alone, no socket; the least load-sensitive of these figures);
- ``GET /users/42`` (JSON, typed path parameter) and ``GET /`` under ``wrk -t1 -c64``,
  Conduit beside Starlette on uvicorn httptools + uvloop (``_servers.measure_all``);
- WebSocket echo, sequential 32-byte round-trips, Conduit beside Starlette on uvicorn
  (websockets backend), with the server CPU per round-trip from ``/proc``
  (``websocket.echo_with_cpu``).
"""

from __future__ import annotations

import os
import statistics

from . import http_inprocess
from ._servers import Server, measure_all
from .websocket import PEERS_MEASURED, echo_with_cpu

HTTP_PEERS = ("conduit", "uvicorn-httptools+starlette")


def _flag(load: float) -> str:
    return f"{load:.1f} (load >= 2)" if load >= 2 else f"{load:.1f}"


def inprocess_rows(rounds: int = 3) -> list[str]:
    app = http_inprocess._app(False)
    runs: dict[str, list[float]] = {}
    load = 0.0
    for endpoint, path in http_inprocess.ENDPOINTS.items():
        http_inprocess.cpu_us_per_request(app, path, 2000)  # warm
    for _ in range(rounds):
        for endpoint, path in http_inprocess.ENDPOINTS.items():
            runs.setdefault(endpoint, []).append(http_inprocess.cpu_us_per_request(app, path, 10_000))
            load = max(load, os.getloadavg()[0])
    return [f"| in-process | conduit | {endpoint} | | {min(values):.2f} | {_flag(load)} |"
            for endpoint, values in runs.items()]


def http_rows(seconds: int = 4, rounds: int = 3) -> list[str]:
    results = measure_all(seconds=seconds, connections=64, names=HTTP_PEERS, rounds=rounds,
                          endpoints={"hello": "/", "json": "/users/42"})
    return [f"| wrk -c64 | {name} | {endpoint} | {results[name][endpoint]['req_per_s']:,.0f} req/s | "
            f"{results[name][endpoint]['cpu_us_per_request']:.1f} | {_flag(results[name][endpoint]['load_avg'])} |"
            for endpoint in ("hello", "json") for name in HTTP_PEERS]


def echo_rows(seconds: float = 3.0, rounds: int = 4) -> list[str]:
    servers = {}
    runs: dict[str, list[dict]] = {}
    try:
        for name in PEERS_MEASURED:
            servers[name] = Server(name)
        for _ in range(rounds):
            for name, server in servers.items():
                run = echo_with_cpu(server, seconds)
                run["load_avg"] = os.getloadavg()[0]
                runs.setdefault(name, []).append(run)
    finally:
        for server in servers.values():
            server.stop()
    return [f"| websocket echo | {name} | 32-byte text | "
            f"{statistics.median(r['echo'] for r in rows):,.0f} round-trips/s | "
            f"{statistics.median(r['echo_cpu_us'] for r in rows):.1f} | {_flag(max(r['load_avg'] for r in rows))} |"
            for name, rows in runs.items()]


def main() -> None:
    print("| measure | server | endpoint | rate | CPU µs per request / round-trip | load avg (1 min) |")
    print("|---|---|---|---|---|---|")
    for rows in (inprocess_rows, http_rows, echo_rows):
        for row in rows():
            print(row, flush=True)


if __name__ == "__main__":
    main()
