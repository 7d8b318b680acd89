"""What a hello server's memory is made of: RSS after each step of its start, in a fresh process.

Steps: the interpreter; ``import conduit``; ``import numba``; the hello app; loading the
HTTP codec's kernels from Numba's cache (this first kernel load builds Numba's CPU
target context: its typing and lowering registries and LLVM's target machine); the
rest of the app's warm-up (the route table). Each step runs in one subprocess, in
order, so the figures are cumulative RSS (``VmRSS``, MiB). Then (issue 22) a whole hello server
with the ahead-of-time HTTP kernels beside the same server on the JIT ones and uvicorn +
Starlette (:func:`aot_vs_jit`). Run directly: ``python -m benchmarks.memory`` from ``asv_bench``
(``--aot`` for the server rows only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ._servers import PEERS, ROOT

STEPS = ("interpreter", "import conduit", "import numba", "hello app", "HTTP codec kernels", "app warm-up")

_SCRIPT = r"""
import json, sys
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS"))
out = {"interpreter": rss()}
import conduit; out["import conduit"] = rss()
import numba; out["import numba"] = rss()
import hello_conduit; out["hello app"] = rss()
from conduit.http import h1; h1.warmup(); out["HTTP codec kernels"] = rss()
hello_conduit.app.warmup(); out["app warm-up"] = rss()
print(json.dumps(out))
"""


def measure() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PEERS), str(ROOT), str(ROOT / "kernels")])}
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True,
                          timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


#: The three servers of :func:`aot_vs_jit`, in the order each round starts them.
AOT_KINDS = ("conduit AOT kernels", "conduit JIT kernels", "uvicorn-httptools+starlette")


def build_kernels(folder: str) -> None:
    """``conduit build hello_conduit:app --cache folder``: the Numba cache and the AOT extension."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PEERS), str(ROOT), str(ROOT / "kernels")])}
    env.pop("NUMBA_CACHE_DIR", None)
    subprocess.run([sys.executable, "-m", "conduit.cli", "build", "hello_conduit:app", "--cache", folder],
                   cwd=PEERS, env=env, check=True, capture_output=True, timeout=900)


def aot_vs_jit(rounds: int = 3, seconds: int = 2) -> dict:
    """A hello server with the ahead-of-time HTTP kernels beside the same server on the JIT
    kernels (same kernel cache, ``CONDUIT_AOT=0``) and uvicorn + Starlette, alternating rounds.

    Per server and round: seconds from process start to the first 200 (cold start), RSS after a
    ``wrk -c64`` warm-up, then server CPU µs per request over a second wrk run
    (``/proc/PID/stat``, load-independent). Medians of the rounds, with the load average.
    """
    import statistics
    import tempfile

    from ._servers import Server, wrk

    runs: dict[str, list[dict]] = {kind: [] for kind in AOT_KINDS}
    with tempfile.TemporaryDirectory(prefix="conduit-kernels-") as folder:
        build_kernels(folder)
        for _ in range(rounds):
            for kind in AOT_KINDS:
                if kind.startswith("conduit"):
                    env = {"NUMBA_CACHE_DIR": folder, "CONDUIT_AOT": "1" if "AOT" in kind else "0"}
                    server = Server("conduit", env=env)
                else:
                    server = Server(kind)
                try:
                    url = f"http://127.0.0.1:{server.port}/"
                    wrk(url, seconds=seconds, connections=64)
                    rss = server.rss_mib()
                    before = server.cpu_seconds()
                    done = wrk(url, seconds=seconds, connections=64)
                    cpu_us = (server.cpu_seconds() - before) / max(done["requests"], 1) * 1e6
                    runs[kind].append({"rss_mib": rss, "first_answer_s": server.startup_seconds,
                                       "cpu_us_per_request": cpu_us, "req_per_s": done["req_per_s"],
                                       "load": os.getloadavg()[0]})
                finally:
                    server.stop()
    return {kind: {key: statistics.median(run[key] for run in results) for key in results[0]}
            for kind, results in runs.items()}


def markdown_rows(results: dict) -> str:
    """One markdown row per server: RSS, cold start, CPU µs/request, req/s, load average."""
    rows = []
    for kind, r in results.items():
        mark = " (load >= 2)" if r["load"] >= 2 else ""
        rows.append(f"| {kind} | {r['rss_mib']:.1f} | {r['first_answer_s']:.2f} | {r['cpu_us_per_request']:.1f} | "
                    f"{r['req_per_s']:,.0f} | {r['load']:.1f}{mark} |")
    return "\n".join(rows)


class HelloServerAOT:
    """Issue 22's memory goal: a hello server ≤ 120 MiB RSS with the AOT HTTP kernels (no Numba)."""

    timeout = 1200
    params = list(AOT_KINDS)
    param_names = ["server"]

    def setup_cache(self):
        return aot_vs_jit()

    def track_rss_mib(self, results, server):
        return results[server]["rss_mib"]

    track_rss_mib.unit = "MiB"

    def track_first_answer_s(self, results, server):
        return results[server]["first_answer_s"]

    track_first_answer_s.unit = "s"

    def track_cpu_us_per_request(self, results, server):
        return results[server]["cpu_us_per_request"]

    track_cpu_us_per_request.unit = "us"


class HelloServerMemory:
    timeout = 600
    params = list(STEPS)
    param_names = ["step"]

    def setup_cache(self):
        return measure()

    def track_rss_mib(self, results, step):
        return results[step]

    track_rss_mib.unit = "MiB"


if __name__ == "__main__":
    if "--aot" not in sys.argv:
        previous = 0.0
        for step, value in measure().items():
            print(f"{step:20s} {value:7.1f} MiB  (+{value - previous:.1f})")
            previous = value
    print("| hello server | RSS after warm-up, MiB | process start to first 200, s | server CPU µs/request | "
          "req/s (wrk -c64) | load (1 min) |")
    print("|---|---|---|---|---|---|")
    print(markdown_rows(aot_vs_jit()))
