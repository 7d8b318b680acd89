"""Batching to a latency target beside the fixed ``max_wait`` batcher and BentoML, at four load levels.

The same LogisticRegression (``asv_bench/ml_http_apps.py``) served three ways, one worker each,
on 127.0.0.1: Conduit's fixed batcher (``max_batch_size=64, max_wait=1.5 ms``), Conduit's
``latency_target=0.010``, and BentoML's adaptive batching with ``max_latency_ms=10``
(``asv_bench/bentoml_lr.py``: its ``CorkDispatcher`` is the anchor of the design; measured when
bentoml is installed). wrk loads each with 1, 4, 32 and 256 connections (one-row POSTs), the
servers alternating round by round. Reported per level and server: answered predictions/s, p50
and p99 of all answers (wrk: HTTP included), refused answers (non-2xx: 503 sheds), for Conduit
the p99 time in the batcher (what the target bounds: queue wait and inference) and the server's
CPU microseconds per answer (from /proc: less sensitive to other load than wall time), and the
1-minute load average at the time.

Ray Serve's ``@serve.batch`` is not in this run: it needs its own Ray cluster (see ray_serve.py).

Quick table: ``cd asv_bench && python -m benchmarks.ml_latency`` (``WRK_SECONDS``, ``ROUNDS``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from ._servers import _cpu_seconds, wrk
from .ml_http import LUA, ROW, _start

HERE = Path(__file__).resolve().parent

SERVERS = {
    "conduit fixed max_wait": [sys.executable, "-m", "conduit.cli", "run", "ml_http_apps:conduit_app",
                               "--port", "{port}", "--log-level", "warning"],
    "conduit latency_target=10ms": [sys.executable, "-m", "conduit.cli", "run",
                                    "ml_http_apps:conduit_adaptive_app", "--port", "{port}", "--log-level",
                                    "warning"],
}
if importlib.util.find_spec("bentoml") is not None:
    SERVERS["bentoml max_latency_ms=10"] = [str(Path(sys.executable).with_name("bentoml")), "serve",
                                            "bentoml_lr:LR", "--host", "127.0.0.1", "--port", "{port}", "-q"]
LEVELS = (1, 4, 32, 256)


def _conduit(name: str) -> bool:
    return name.startswith("conduit")


def _batcher(port: int, reset: bool = False) -> dict:
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/stats/reset", method="POST"))
    stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats").read())
    return stats["/predict"]["lr v1"]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a server and the workers it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def measure(seconds: int = 5, rounds: int = 2, levels=LEVELS) -> dict:
    """{level: {server: [round results]}}; servers alternate within each round."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % json.dumps({"rows": [ROW]}))
        script = fh.name
    procs = {}
    results: dict = {}
    try:
        for name, argv in SERVERS.items():
            procs[name] = _start(argv, new_session=True)
        for name, (proc, port) in procs.items():
            wrk(f"http://127.0.0.1:{port}/predict", 2, 16, threads=2, script=script)  # warm-up
        for level in levels:
            for _ in range(rounds):
                for name, (proc, port) in procs.items():
                    if _conduit(name):
                        _batcher(port, reset=True)
                        before_cpu = _cpu_seconds(proc.pid)
                    result = wrk(f"http://127.0.0.1:{port}/predict", seconds, level, threads=min(2, level),
                                 script=script)
                    answered = max(result["requests"] - result["errors"], 1)
                    result["ok_per_s"] = answered / seconds
                    if _conduit(name):
                        after = _batcher(port)
                        result["cpu_us_per_answer"] = (_cpu_seconds(proc.pid) - before_cpu) * 1e6 / answered
                        result["batcher_p99_ms"] = after["latency_p99_s"] * 1e3
                        result["mean_batch"] = after["mean_batch_size"]
                        result["shed"] = after["shed"]
                    result["load_1min"] = os.getloadavg()[0]
                    results.setdefault(level, {}).setdefault(name, []).append(result)
    finally:
        for proc, _ in procs.values():
            _stop(proc)
        os.unlink(script)
    return results


def _best(runs: list[dict], key: str, pick=max) -> float:
    return pick(r[key] for r in runs)


class LatencyTargetBatching:
    """asv: per load level, predictions/s and p99 of the fixed and latency-target batchers and BentoML."""

    timeout = 900
    params = (list(LEVELS), list(SERVERS))
    param_names = ["connections", "batcher"]

    def setup_cache(self):
        return measure(int(os.environ.get("WRK_SECONDS", "5")), int(os.environ.get("ROUNDS", "2")))

    def track_predictions_per_second(self, results, connections, batcher):
        return _best(results[connections][batcher], "ok_per_s")

    def track_p99_ms(self, results, connections, batcher):
        return _best(results[connections][batcher], "p99_ms", min)

    def track_refused(self, results, connections, batcher):
        return sum(r["errors"] for r in results[connections][batcher])


def rows(table: dict) -> list[str]:
    """Markdown rows: the median round per level and server, with the highest load seen."""
    out = ["| connections | server | answered/s | p50 ms | p99 ms | refused | batcher p99 ms | mean batch "
           "| CPU us/answer | load (1 min) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for level, servers in table.items():
        for name, runs in servers.items():
            runs = sorted(runs, key=lambda r: r["ok_per_s"])
            r = runs[len(runs) // 2]
            load = max(x["load_1min"] for x in runs)
            extra = (f"{r['batcher_p99_ms']:.2f} | {r['mean_batch']:.1f} | {r['cpu_us_per_answer']:.0f}"
                     if _conduit(name) else "- | - | -")
            out.append(f"| {level} | {name} | {r['ok_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                       f"{sum(x['errors'] for x in runs)} | {extra} | {load:.1f}{' (load >= 2)' if load >= 2 else ''} |")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    print("\n".join(rows(measure(int(os.environ.get("WRK_SECONDS", "5")), int(os.environ.get("ROUNDS", "2"))))))
