"""The ASGI face's figures: hello, JSON and sync under granian, Conduit beside Starlette, and Conduit native.

Run from the repo root: ``python scripts/bench_asgi_face.py`` (about 2 minutes). All three
servers are started first and measured in alternating rounds (``asv_bench/benchmarks/_servers.py``);
each row is the median of the rounds with the highest 1-minute load average seen beside it,
then the granian ratio Conduit / Starlette per endpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "asv_bench"))

from benchmarks import _servers  # noqa: E402

NAMES = ("granian+starlette", "granian+conduit", "conduit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="wrk seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the median is printed)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    args = parser.parse_args()
    results = _servers.measure_all(args.seconds, args.connections, names=NAMES, rounds=args.rounds)
    print(_servers.table(results))
    for endpoint in _servers.ENDPOINTS:
        peer, ours = results["granian+starlette"][endpoint], results["granian+conduit"][endpoint]
        print(f"| granian: Conduit / Starlette | {endpoint} | {ours['req_per_s'] / peer['req_per_s']:.2f}x "
              f"| | {ours['cpu_us_per_request'] / peer['cpu_us_per_request']:.2f}x CPU "
              f"| {max(ours['load_avg'], peer['load_avg']):.1f} |")


if __name__ == "__main__":
    main()
