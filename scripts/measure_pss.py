"""Proportional set size of ``conduit run APP --workers N``, with and without preload.

PSS splits every shared page between the processes that map it, so the sum over the
supervisor and its workers is the memory the server really costs. For each worker
count the server is started on a free port, warmed with a few requests per worker,
left until the RSS of every process stops moving, and measured from
``/proc/PID/smaps_rollup``. Linux only. Prints a Markdown table::

    python scripts/measure_pss.py examples.demo:app --workers 1 2 4
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def rollup(pid: int, field: str) -> int:
    """``field`` (Pss, Rss...) of ``pid`` in bytes."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def wait_ready(port: int, timeout: float) -> None:
    """Until the server answers /ready with 200 (or, for an app without it, answers at all)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError("server did not become ready")


def settle(pids: list[int], timeout: float = 120.0) -> None:
    """Wait until no process's RSS moved by more than 1 % over two seconds."""
    last = None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        now = [rollup(p, "Rss") for p in pids]
        if last is not None and all(abs(a - b) <= 0.01 * b for a, b in zip(now, last)):
            return
        last = now
        time.sleep(2.0)


def measure(target: str, workers: int, preload: bool, paths: list[str]) -> dict[str, float]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    args = [sys.executable, "-m", "conduit.cli", "run", target, "--port", str(port), "--log-level", "warning",
            "--workers", str(workers)] + ([] if preload else ["--no-preload"])
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, 600)
        pids = [proc.pid] + children(proc.pid)
        while len(pids) < workers + (1 if workers > 1 else 0):
            time.sleep(0.5)
            pids = [proc.pid] + children(proc.pid)
        for _ in range(20 * workers):  # touch the request path in every worker (the kernel spreads accepts)
            for path in paths:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()
                except OSError:
                    pass
        settle(pids)
        pss = sum(rollup(p, "Pss") for p in pids)
        rss = sum(rollup(p, "Rss") for p in pids)
        return {"pss": pss, "rss": rss, "processes": len(pids)}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", default="examples.demo:app")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--path", action="append", default=None, help="GET paths to warm (default /ready)")
    args = parser.parse_args()
    paths = args.path or ["/ready"]
    rows = []
    base = None
    for preload in (True, False):
        for n in args.workers:
            if n == 1 and not preload:
                continue  # one process: nothing to preload (the server runs in-process)
            m = measure(args.target, n, preload, paths)
            base = base or m["pss"]
            rows.append((n, "preload" if preload else "--no-preload", m))
            print(f"  measured workers={n} {'preload' if preload else 'no-preload'}: "
                  f"PSS {m['pss'] / 2**20:.0f} MiB", file=sys.stderr)
    print("| workers | mode | processes | total PSS (MiB) | x one process | total RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for n, mode, m in rows:
        print(f"| {n} | {mode if n > 1 else 'single process'} | {m['processes']} | {m['pss'] / 2**20:.0f} | "
              f"{m['pss'] / base:.2f} | {m['rss'] / 2**20:.0f} |")


if __name__ == "__main__":
    main()
