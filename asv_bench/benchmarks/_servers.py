"""Start HTTP servers as subprocesses and load them with wrk (shared by the HTTP suites).

Every server runs one worker on 127.0.0.1 with logging off; wrk runs for a bounded
time. Results are plain dicts so asv ``setup_cache`` can hand them to ``track_*``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEERS = HERE / "peer_apps"

#: name -> argv template ({port} is filled in); cwd is the peers folder or the repo root.
SERVERS = {
    "conduit": ([sys.executable, "-m", "conduit.cli", "run", "hello_conduit:app", "--port", "{port}",
                 "--log-level", "warning"], PEERS),
    "uvicorn-h11+starlette": ([sys.executable, "-m", "uvicorn", "hello_starlette:app", "--http", "h11",
                               "--loop", "asyncio", "--port", "{port}", "--log-level", "warning",
                               "--no-access-log"], PEERS),
    "hypercorn-trio+starlette": ([sys.executable, "-m", "hypercorn", "hello_starlette:app", "--worker-class",
                                  "trio", "--bind", "127.0.0.1:{port}", "--log-level", "warning"], PEERS),
    "fastapi-uvicorn-httptools": ([sys.executable, "-m", "uvicorn", "hello_fastapi:app", "--http", "httptools",
                                   "--loop", "uvloop", "--port", "{port}", "--log-level", "warning",
                                   "--no-access-log"], PEERS),
}

ENDPOINTS = {"hello": "/", "json": "/users/42"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> float:
    """Seconds until ``GET /`` on the port answers 200 (cold start to first 200)."""
    start = time.perf_counter()
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    while time.perf_counter() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"no 200 on port {port} within {timeout}s")


class Server:
    def __init__(self, name: str, env: dict | None = None):
        argv, cwd = SERVERS[name]
        self.port = free_port()
        self.argv = [a.format(port=self.port) for a in argv]
        env = {**os.environ, **(env or {})}
        env["PYTHONPATH"] = os.pathsep.join([str(PEERS), str(ROOT), str(ROOT / "kernels"),
                                             env.get("PYTHONPATH", "")])
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.startup_seconds = wait_for_port(self.port, proc=self.proc)

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def wrk(url: str, seconds: int = 5, connections: int = 32, threads: int = 1) -> dict:
    """Run wrk with latency percentiles; returns req/s, p50/p99 in ms and errors."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package 'wrk')")
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    result = {"req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = _ms(match.group(1)) if match else float("nan")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = (sum(map(int, errors.groups())) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)
    return result


def measure_all(seconds: int = 5, connections: int = 32) -> dict:
    """{server: {endpoint: wrk result, "rss_mib": after load, "startup_s": ...}}, one run."""
    results = {}
    for name in SERVERS:
        server = Server(name)
        try:
            entry = {"startup_s": server.startup_seconds}
            for endpoint, path in ENDPOINTS.items():
                wrk(f"http://127.0.0.1:{server.port}{path}", seconds=1, connections=connections)  # warm
                entry[endpoint] = wrk(f"http://127.0.0.1:{server.port}{path}", seconds, connections)
            entry["rss_mib"] = server.rss_mib()
            results[name] = entry
        finally:
            server.stop()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(measure_all(int(os.environ.get("WRK_SECONDS", "5"))), indent=2))
