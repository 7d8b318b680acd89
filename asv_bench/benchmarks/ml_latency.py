"""Batching to a latency target beside the fixed ``max_wait`` batcher, at four load levels.

The same LogisticRegression (``asv_bench/ml_http_apps.py``) behind ``app.predict`` twice: the
fixed batcher (``max_batch_size=64, max_wait=1.5 ms``) and ``latency_target=0.010``. wrk loads
each with 4, 16, 64 and 256 connections (one-row POSTs, one server worker, 127.0.0.1), the two
servers alternating round by round. Reported per level and server: successful predictions/s,
p50/p99 of all answers (wrk, HTTP included), shed answers (503), the batcher's p99 queue wait,
the server's CPU microseconds per answered request (from /proc: less sensitive to other load
than wall time), and the 1-minute load average at the time.

Peers: Ray Serve's ``@serve.batch`` and BentoML are not measured here (BentoML is not
installed; a Ray Serve deployment needs its own cluster, see ray_serve.py).

Quick table: ``python asv_bench/benchmarks/ml_latency.py`` (``WRK_SECONDS``, ``ROUNDS``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from ._servers import _cpu_seconds, wrk
from .ml_http import LUA, ROW, _start

HERE = Path(__file__).resolve().parent

SERVERS = {
    "fixed max_wait": [sys.executable, "-m", "conduit.cli", "run", "ml_http_apps:conduit_app",
                       "--port", "{port}", "--log-level", "warning"],
    "latency_target=10ms": [sys.executable, "-m", "conduit.cli", "run", "ml_http_apps:conduit_adaptive_app",
                            "--port", "{port}", "--log-level", "warning"],
}
LEVELS = (4, 16, 64, 256)


def _batcher(port: int) -> dict:
    stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats").read())
    return stats["/predict"]["lr v1"]


def measure(seconds: int = 5, rounds: int = 2) -> dict:
    """{level: {server: [round results]}}; servers alternate within each round."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % json.dumps({"rows": [ROW]}))
        script = fh.name
    procs = {name: _start(argv) for name, argv in SERVERS.items()}
    results: dict = {}
    try:
        for name, (proc, port) in procs.items():
            wrk(f"http://127.0.0.1:{port}/predict", 2, 16, threads=2, script=script)  # warm-up
        for level in LEVELS:
            for _ in range(rounds):
                for name, (proc, port) in procs.items():
                    before_cpu = _cpu_seconds(proc.pid)
                    before = _batcher(port)
                    result = wrk(f"http://127.0.0.1:{port}/predict", seconds, level, threads=2, script=script)
                    after = _batcher(port)
                    answered = max(result["requests"] - result["errors"], 1)
                    result["ok_per_s"] = answered / seconds
                    result["shed"] = after["shed"] - before["shed"]
                    result["cpu_us_per_answer"] = (_cpu_seconds(proc.pid) - before_cpu) * 1e6 / answered
                    result["batcher_queue_p99_ms"] = after["queue_wait_p99_s"] * 1e3
                    result["mean_batch"] = after["mean_batch_size"]
                    result["load_1min"] = os.getloadavg()[0]
                    results.setdefault(level, {}).setdefault(name, []).append(result)
    finally:
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait(10)
        os.unlink(script)
    return results


def _best(runs: list[dict], key: str, pick=max) -> float:
    return pick(r[key] for r in runs)


class LatencyTargetBatching:
    """asv: per load level, predictions/s and p99 of the fixed and the latency-target batcher."""

    timeout = 900
    params = (list(LEVELS), list(SERVERS))
    param_names = ["connections", "batcher"]

    def setup_cache(self):
        return measure(int(os.environ.get("WRK_SECONDS", "5")), int(os.environ.get("ROUNDS", "2")))

    def track_predictions_per_second(self, results, connections, batcher):
        return _best(results[connections][batcher], "ok_per_s")

    def track_p99_ms(self, results, connections, batcher):
        return _best(results[connections][batcher], "p99_ms", min)

    def track_shed(self, results, connections, batcher):
        return sum(r["shed"] for r in results[connections][batcher])


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    table = measure(int(os.environ.get("WRK_SECONDS", "5")), int(os.environ.get("ROUNDS", "2")))
    for level, servers in table.items():
        for name, runs in servers.items():
            for r in runs:
                print(f"c={level:<4} {name:<20} ok/s={r['ok_per_s']:>8.0f} p50={r['p50_ms']:>6.2f}ms "
                      f"p99={r['p99_ms']:>7.2f}ms shed={r['shed']:>6} queue_p99={r['batcher_queue_p99_ms']:.2f}ms "
                      f"batch={r['mean_batch']:.1f} cpu_us/ans={r['cpu_us_per_answer']:.0f} "
                      f"load={r['load_1min']:.2f}")
