"""The ASGI face's figures: Conduit and Starlette under granian, and Conduit on its own server.

Run from the repo root: ``python scripts/bench_asgi_face.py`` (about 2 minutes on an idle
machine). First the servers (``asv_bench/benchmarks/_servers.py``): all three started, then
measured in alternating rounds with ``wrk -t1 -c64``; each row is the median of the rounds,
server CPU from ``/proc``, with the highest 1-minute load average seen beside it, then the
granian ratios Conduit / Starlette. Then the same two apps called in-process on one asyncio
loop with no server (``--calls`` calls each, alternating rounds): process CPU per ASGI call,
the part of a request each framework owns.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "asv_bench"))
sys.path.insert(0, str(ROOT / "asv_bench" / "benchmarks" / "peer_apps"))

from benchmarks import _servers  # noqa: E402

NAMES = ("granian+starlette", "granian+conduit", "conduit")


def _scope(path: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}


async def _cpu_per_call(apps: dict, path: str, calls: int, rounds: int) -> dict[str, float]:
    """Median process CPU µs per ``await app(scope, receive, send)``, apps alternating per round."""
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"{path} answered {message['status']}")

    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            start = time.process_time()
            for _ in range(calls):
                await app(_scope(path), receive, send)
            samples[name].append((time.process_time() - start) / calls * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


async def _in_process(calls: int, rounds: int) -> str:
    import hello_conduit
    import hello_starlette

    apps = {"starlette": hello_starlette.app, "conduit": hello_conduit.app}
    lines = ["| in-process, asyncio, no server | endpoint | Starlette µs CPU/call | Conduit µs CPU/call "
             "| Conduit / Starlette | load avg (1 min) |", "|---|---|---|---|---|---|"]
    for endpoint in ("hello", "json"):
        path = _servers.ENDPOINTS[endpoint]
        await _cpu_per_call(apps, path, calls // 10, 1)  # warm-up (Conduit starts its app here)
        figures = await _cpu_per_call(apps, path, calls, rounds)
        load = os.getloadavg()[0]
        mark = " (load >= 2)" if load >= 2 else ""
        lines.append(f"| ASGI call | {endpoint} | {figures['starlette']:.1f} | {figures['conduit']:.1f} "
                     f"| {figures['conduit'] / figures['starlette']:.2f}x | {load:.1f}{mark} |")
    hello_conduit.app._asgi._stop_loop()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="wrk seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the median is printed)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--calls", type=int, default=20000, help="in-process calls per app per round")
    args = parser.parse_args()
    results = _servers.measure_all(args.seconds, args.connections, names=NAMES, rounds=args.rounds)
    print(_servers.table(results))
    for endpoint in _servers.ENDPOINTS:
        peer, ours = results["granian+starlette"][endpoint], results["granian+conduit"][endpoint]
        load = max(ours["load_avg"], peer["load_avg"])
        mark = " (load >= 2)" if load >= 2 else ""
        print(f"| granian: Conduit / Starlette | {endpoint} | {ours['req_per_s'] / peer['req_per_s']:.2f}x "
              f"| | {ours['cpu_us_per_request'] / peer['cpu_us_per_request']:.2f}x CPU | {load:.1f}{mark} |")
    print()
    print(asyncio.run(_in_process(args.calls, args.rounds)))


if __name__ == "__main__":
    main()
