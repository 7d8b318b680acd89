"""Overload test of --max-concurrency, fixed cap against adaptive (AIMD), server in its own process.

The served handler's latency grows with the number of requests in flight (10 ms each,
as a service contending for one resource), so more concurrency only makes every
request slower. N client threads (more than the cap) send requests back to back for a
fixed number of rounds; the script prints, per mode, the answers and the latency that
the clients saw for the successful ones. Usage::

    python scripts/overload_adaptive.py [--clients 24] [--requests 40]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
APP = '''
import trio
from conduit import Conduit
app = Conduit(openapi_url=None, docs_url=None)

@app.get("/work")
async def work():
    await trio.sleep(0.010 * app.admission.limiter.in_flight)
    return "done"
'''


def run(mode_args: list[str], clients: int, requests: int, folder: Path) -> dict:
    sys.path.insert(0, str(ROOT / "scripts"))
    from measure_pss import free_port

    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels"), str(folder)]))
    server = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "overload_app:app", "--port", str(port),
                               "--log-level", "warning", *mode_args], cwd=folder, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                httpx.get(url + "/work", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        results: list[tuple[int, float]] = []

        def loop() -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                for _ in range(requests):
                    start = time.perf_counter()
                    status = client.get("/work").status_code
                    results.append((status, time.perf_counter() - start))

        threads = [threading.Thread(target=loop) for _ in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(30)
    ok = sorted(d for s, d in results if s == 200)
    return {"ok": len(ok), "shed": sum(s == 503 for s, _ in results), "seconds": elapsed,
            "p50": ok[len(ok) // 2] if ok else None, "p99": ok[min(len(ok) - 1, int(len(ok) * 0.99))] if ok else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "overload_app.py").write_text(APP)
        modes = {"fixed cap 32, no queue": ["--max-concurrency", "32", "--concurrency-queue", "0"],
                 "adaptive (AIMD), max 32, target 50 ms": ["--max-concurrency", "32", "--concurrency-queue", "0",
                                                             "--latency-target", "0.05"]}
        print("| mode | 200 | 503 | client p50 of 200s (ms) | client p99 of 200s (ms) | wall (s) |")
        print("|---|---|---|---|---|---|")
        for name, mode_args in modes.items():
            r = run(mode_args, args.clients, args.requests, Path(folder))
            print(f"| {name} | {r['ok']} | {r['shed']} | {r['p50'] * 1000:.0f} | {r['p99'] * 1000:.0f} | "
                  f"{r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
