"""End to end over HTTP: a Conduit model endpoint with dynamic batching beside FastAPI.

64 concurrent connections (wrk, POST with a one-row JSON body from a Lua script)
against each server in turn, one worker each, on 127.0.0.1. Reported per server:
predictions/s, p50/p99 latency, errors; for Conduit also the batch size
distribution and queue wait from the batcher's statistics. The apps are in
``asv_bench/ml_http_apps.py``.

Quick table: ``python asv_bench/benchmarks/ml_http.py`` (``WRK_SECONDS`` to change the run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from ._servers import free_port, wait_for_port, wrk

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

SERVERS = {
    "conduit (batched)": [sys.executable, "-m", "conduit.cli", "run", "ml_http_apps:conduit_app",
                          "--port", "{port}", "--log-level", "warning"],
    "fastapi+uvicorn (sklearn per request)": [
        sys.executable, "-m", "uvicorn", "ml_http_apps:fastapi_app", "--http", "httptools", "--loop",
        "uvloop", "--port", "{port}", "--log-level", "warning", "--no-access-log"],
}

ROW = [17.99, 10.38, 122.8, 1001.0, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871, 1.095, 0.9053,
       8.589, 153.4, 0.006399, 0.04904, 0.05373, 0.01587, 0.03003, 0.006193, 25.38, 17.33, 184.6,
       2019.0, 0.1622, 0.6656, 0.7119, 0.2654, 0.4601, 0.1189]

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '%s'
"""


def _start(argv, new_session: bool = False):
    """Start a server (in its own process group with ``new_session``: one that forks workers
    is then stopped whole) and wait until it listens."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "asv_bench"), str(ROOT),
                                                         str(ROOT / "kernels"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([a.format(port=port) for a in argv], cwd=ROOT / "asv_bench", env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=new_session)
    wait_for_port(port, timeout=180, proc=proc)
    return proc, port


def _wrk_post(url, seconds, connections, script):
    return wrk(url, seconds, connections, threads=2, script=script)


def measure(seconds: int = 10, connections: int = 64) -> dict:
    results = {}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % json.dumps({"rows": [ROW]}))
        script = fh.name
    for name, argv in SERVERS.items():
        proc, port = _start(argv)
        try:
            url = f"http://127.0.0.1:{port}/predict"
            _wrk_post(url, 2, connections, script)  # warm-up
            if name.startswith("conduit"):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/stats").read()
            result = _wrk_post(url, seconds, connections, script)
            if name.startswith("conduit"):
                stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats").read())
                result["batcher"] = stats["/predict"]["lr v1"]
            results[name] = result
        finally:
            proc.terminate()
            proc.wait(10)
    os.unlink(script)
    return results


class HTTPPredict:
    """asv: predictions/s and p99 of both servers, measured in one setup_cache run."""

    timeout = 600

    def setup_cache(self):
        return measure(int(os.environ.get("WRK_SECONDS", "10")))

    def track_predictions_per_second_conduit(self, results):
        return results["conduit (batched)"]["req_per_s"]

    def track_predictions_per_second_fastapi(self, results):
        return results["fastapi+uvicorn (sklearn per request)"]["req_per_s"]

    def track_p99_ms_conduit(self, results):
        return results["conduit (batched)"]["p99_ms"]

    def track_p99_ms_fastapi(self, results):
        return results["fastapi+uvicorn (sklearn per request)"]["p99_ms"]

    def track_mean_batch_size_conduit(self, results):
        return results["conduit (batched)"]["batcher"]["mean_batch_size"]


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    print(json.dumps(measure(int(os.environ.get("WRK_SECONDS", "10"))), indent=2))
