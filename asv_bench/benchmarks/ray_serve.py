"""A Conduit predict route on Ray Serve (1 and 2 replicas) beside ``conduit run --workers 2``.

The same app (``asv_bench/ml_http_apps.py:conduit_app``: LogisticRegression, compiled, batched)
served three ways on 127.0.0.1: Conduit's own server with two worker processes, and
``conduit.ray.deployment`` behind Ray Serve's HTTP proxy with one and with two replicas (a local
Ray cluster, no dashboard). wrk, 64 connections, one-row POSTs. Each Ray configuration is
deployed once and measured only after it answers (the earlier version redeployed between
rounds and measured replicas still warming up: rounds of 0 predictions/s); its rounds alternate
with Conduit's, and the 1-minute load average is recorded with each.

Quick table: ``python -m benchmarks.ray_serve`` from asv_bench/ (``WRK_SECONDS``, ``ROUNDS``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ._servers import free_port, wait_for_port, wrk
from .ml_http import LUA, ROW, _start

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORKERS = [sys.executable, "-m", "conduit.cli", "run", "ml_http_apps:conduit_app", "--port", "{port}",
           "--workers", "2", "--log-level", "warning"]


def _ray_cluster(port: int):
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    from ray import serve

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    path = os.pathsep.join([str(ROOT), str(ROOT / "kernels"), str(ROOT / "asv_bench"), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, _temp_dir=temp,
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    return ray, serve, temp


def _deploy(serve, replicas: int, port: int, timeout: float = 180.0) -> None:
    """Deploy the app with ``replicas`` replicas and wait until a prediction comes back.

    ``serve.run`` returns when the application is RUNNING; the proxy may still route to a
    replica that is warming up, so this also waits for answers (bounded by ``timeout``)."""
    import conduit.ray

    ingress = conduit.ray.deployment("ml_http_apps:conduit_app", name="predict", num_replicas=replicas,
                                     ray_actor_options={"num_cpus": 0.5}, max_ongoing_requests=256)
    serve.run(ingress.bind(), name="bench", route_prefix="/")
    _wait_for_answers(f"http://127.0.0.1:{port}/predict", timeout)


def _wait_for_answers(url: str, timeout: float, needed: int = 20) -> None:
    """Until ``needed`` predictions in a row come back 200 (each request bounded to 10 s)."""
    body = json.dumps({"rows": [ROW]}).encode()
    deadline = time.monotonic() + timeout
    ok, last = 0, None
    while ok < needed:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} gave no {needed} answers in a row within {timeout} s (last: {last})")
        try:
            request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                last = response.status
            ok += 1
        except (OSError, urllib.error.HTTPError) as exc:  # not ready yet: proxy 503/404, refused
            ok, last = 0, repr(exc)
            time.sleep(0.5)


def measure(seconds: int = 5, rounds: int = 2, connections: int = 64) -> dict:
    """{setup: [round results]}. Conduit's server runs for the whole run; each Ray Serve
    configuration is deployed once (a redeploy restarts replicas, which warm up again) and
    its rounds alternate with Conduit's, so each Ray figure has a Conduit figure beside it."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % json.dumps({"rows": [ROW]}))
        script = fh.name
    results: dict[str, list] = {}

    def record(name: str, url: str) -> None:
        if url == ray_url:  # replicas starved by the round before may have been restarted
            _wait_for_answers(url, 120, needed=5)
            replicas = serve.status().applications["bench"].deployments["predict"].replica_states
        result = wrk(url, seconds, connections, threads=2, script=script)
        if url == ray_url:
            result["replicas_before"] = dict(replicas)
            result["replicas_after"] = dict(serve.status().applications["bench"].deployments["predict"].replica_states)
        result["ok_per_s"] = (result["requests"] - result["errors"]) / seconds
        result["load_1min"] = os.getloadavg()[0]
        results.setdefault(name, []).append(result)

    ray_port = free_port()
    ray, serve, temp = _ray_cluster(ray_port)
    proc, port = _start(WORKERS)
    conduit_url, ray_url = f"http://127.0.0.1:{port}/predict", f"http://127.0.0.1:{ray_port}/predict"
    try:
        wrk(conduit_url, 2, connections, threads=2, script=script)  # warm-up
        for replicas in (1, 2):
            _deploy(serve, replicas, ray_port)
            wrk(ray_url, 2, connections, threads=2, script=script)  # warm-up
            for _ in range(rounds):
                record("conduit run --workers 2", conduit_url)
                record(f"ray serve, {replicas} replica{'s' if replicas > 1 else ''}", ray_url)
    finally:
        proc.terminate()
        proc.wait(10)
        serve.shutdown()
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        os.unlink(script)
    return results


class RayServePredict:
    """asv: predictions/s of the three setups, measured in one setup_cache run."""

    timeout = 1200
    params = (["conduit run --workers 2", "ray serve, 1 replica", "ray serve, 2 replicas"],)
    param_names = ["setup"]

    def setup_cache(self):
        return measure(int(os.environ.get("WRK_SECONDS", "5")), int(os.environ.get("ROUNDS", "2")))

    def track_predictions_per_second(self, results, setup):
        return max(r["ok_per_s"] for r in results[setup])

    def track_p99_ms(self, results, setup):
        return min(r["p99_ms"] for r in results[setup])


def rows(results: dict) -> list[str]:
    """Markdown rows: every round's predictions/s, the median p99, the highest load seen."""
    out = ["| setup | predictions/s (each round) | p99 ms (median) | errors | load (1 min) |",
           "|---|---|---|---|---|"]
    for name, runs in results.items():
        p99 = sorted(r["p99_ms"] for r in runs)[len(runs) // 2]
        load = max(r["load_1min"] for r in runs)
        rates = ", ".join(f"{r['ok_per_s']:,.0f}" for r in runs)
        out.append(f"| {name} | {rates} | {p99:.2f} | "
                   f"{sum(r['errors'] for r in runs)} | {load:.1f}{' (load >= 2)' if load >= 2 else ''} |")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    print("\n".join(rows(measure(int(os.environ.get("WRK_SECONDS", "5")), int(os.environ.get("ROUNDS", "2"))))))
