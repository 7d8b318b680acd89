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

# One reading of /proc for these suites and for `conduit bench` (conduit/bench/sockets.py).
from conduit.bench.sockets import cpu_seconds as _cpu_seconds
from conduit.bench.sockets import process_tree as _process_tree

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
    "uvicorn-httptools+starlette": ([sys.executable, "-m", "uvicorn", "hello_starlette:app", "--http",
                                     "httptools", "--loop", "uvloop", "--port", "{port}", "--log-level",
                                     "warning", "--no-access-log"], PEERS),
    "granian+starlette": ([sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                           "--port", "{port}", "--workers", "1", "--log-level", "warning", "--no-access-log",
                           "hello_starlette:app"], PEERS),
    "granian+conduit": ([sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                         "--port", "{port}", "--workers", "1", "--log-level", "warning", "--no-access-log",
                         "hello_conduit:app"], PEERS),
    "fastapi-uvicorn-httptools": ([sys.executable, "-m", "uvicorn", "hello_fastapi:app", "--http", "httptools",
                                   "--loop", "uvloop", "--port", "{port}", "--log-level", "warning",
                                   "--no-access-log"], PEERS),
    # WSGI: one gunicorn sync worker (one request at a time, no keep-alive), as the plan promised.
    "flask-gunicorn-sync": ([sys.executable, "-m", "gunicorn", "hello_flask:app", "--worker-class", "sync",
                             "--workers", "1", "--bind", "127.0.0.1:{port}", "--log-level", "warning"], PEERS),
}

#: ``sync`` is a ``def`` handler: each framework hands it to a worker thread.
ENDPOINTS = {"hello": "/", "json": "/users/42", "sync": "/sync"}


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

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and every process under it (granian forks its worker)."""
        return sum(_cpu_seconds(pid) for pid in _process_tree(self.proc.pid))

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


def wrk(url: str, seconds: int = 5, connections: int = 32, threads: int = 1,
        script: str | None = None) -> dict:
    """Run wrk with latency percentiles; returns req/s, p50/p99 in ms and errors.

    ``script`` is a wrk Lua script (e.g. one that sends a POST body).
    """
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package 'wrk')")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["-s", script] if script else []
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    result = {"req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = _ms(match.group(1)) if match else float("nan")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = (sum(map(int, errors.groups())) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)
    return result


#: Rounds of :func:`measure_all`: every server and endpoint once per round, in turn.
ROUNDS = int(os.environ.get("CONDUIT_BENCH_ROUNDS", "3"))


def measure_all(seconds: int = 5, connections: int = 32, names=tuple(SERVERS), rounds: int = ROUNDS,
                endpoints: dict | None = None) -> dict:
    """{server: {endpoint: wrk result, "rss_mib": after load, "startup_s": ...}}, one run.

    Alternating rounds: every server is started first, then each round runs every
    endpoint on every server in turn, so all of them see the same stretch of machine
    load; each figure is the median over the rounds. Every result carries
    ``load_avg`` (the 1-minute load average, highest seen over its rounds) and
    ``cpu_us_per_request`` (the server's user + system CPU over the run / requests).
    """
    endpoints = ENDPOINTS if endpoints is None else endpoints
    servers = {}
    try:
        for name in names:
            servers[name] = Server(name)
        for server in servers.values():  # warm every endpoint once
            for path in endpoints.values():
                wrk(f"http://127.0.0.1:{server.port}{path}", seconds=1, connections=connections)
        runs: dict[tuple[str, str], list[dict]] = {}
        for _ in range(rounds):
            for endpoint, path in endpoints.items():
                for name, server in servers.items():
                    cpu = server.cpu_seconds()
                    result = wrk(f"http://127.0.0.1:{server.port}{path}", seconds, connections)
                    result["cpu_us_per_request"] = (server.cpu_seconds() - cpu) / max(result["requests"], 1) * 1e6
                    result["load_avg"] = os.getloadavg()[0]
                    runs.setdefault((name, endpoint), []).append(result)
        results = {}
        for name, server in servers.items():
            entry = {"startup_s": server.startup_seconds, "rss_mib": server.rss_mib()}
            for endpoint in endpoints:
                entry[endpoint] = median_result(runs[(name, endpoint)])
            results[name] = entry
        return results
    finally:
        for server in servers.values():
            server.stop()


def measure_latency(names=("conduit", "uvicorn-httptools+starlette"), connections: int = 1, seconds: int = 3,
                    rounds: int = ROUNDS, endpoint: str = "hello") -> dict:
    """{server: median wrk result} for one endpoint at ``connections`` (``-c1``: one request
    at a time, the latency floor), servers started together and measured in alternating rounds."""
    servers = {}
    try:
        for name in names:
            servers[name] = Server(name)
        runs: dict[str, list[dict]] = {}
        for _ in range(rounds):
            for name, server in servers.items():
                result = wrk(f"http://127.0.0.1:{server.port}{ENDPOINTS[endpoint]}", seconds, connections)
                result["load_avg"] = os.getloadavg()[0]
                runs.setdefault(name, []).append(result)
        return {name: median_result(rows) for name, rows in runs.items()}
    finally:
        for server in servers.values():
            server.stop()


def median_result(runs: list[dict]) -> dict:
    """The median of each figure over alternating rounds; the highest load average; summed errors."""
    import statistics

    merged = {key: statistics.median(run[key] for run in runs) for key in runs[0]
              if key not in ("errors", "load_avg", "requests")}
    merged["requests"] = sum(run["requests"] for run in runs)
    merged["errors"] = sum(run["errors"] for run in runs)
    merged["load_avg"] = max(run["load_avg"] for run in runs)
    merged["rounds"] = len(runs)
    return merged


def table(results: dict) -> str:
    """The rows docs/benchmarks.md prints, with the load average beside each (``*``: load >= 2)."""
    lines = ["| server | endpoint | req/s | p50 / p99 ms | CPU µs/request | load avg (1 min) |",
             "|---|---|---|---|---|---|"]
    for name, entry in results.items():
        for endpoint in (e for e in ENDPOINTS if e in entry):
            r = entry[endpoint]
            mark = " (load >= 2)" if r["load_avg"] >= 2 else ""
            lines.append(f"| {name} | {endpoint} | {r['req_per_s']:,.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} "
                         f"| {r['cpu_us_per_request']:.1f} | {r['load_avg']:.1f}{mark} |")
        lines.append(f"| {name} | RSS after load | {entry['rss_mib']:.1f} MiB | | | |")
    return "\n".join(lines)


def chunked_upload(port: int, chunk_size: int, body_size: int = 1 << 20, path: str = "/upload") -> dict:
    """POST ``body_size`` bytes to ``/upload`` in chunks of ``chunk_size``, as fast as the
    socket takes them; the status the server answered and the wall seconds."""
    per_piece = max(1, 65536 // chunk_size)  # chunks per sendall
    piece = (b"%x\r\n%s\r\n" % (chunk_size, b"a" * chunk_size)) * per_piece
    pieces = body_size // (per_piece * chunk_size)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n")
        try:
            for _ in range(pieces):
                sock.sendall(piece)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server refused the body and closed
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return {"status": status, "seconds": time.perf_counter() - started}


#: Servers the tiny-chunk body is measured on. granian + Starlette is left out: it took
#: over three minutes (68 s of CPU) on the one-byte-chunk body and then failed it.
TINY_CHUNK_SERVERS = ("conduit", "uvicorn-httptools+starlette")
#: (label, chunk size, path): ``/upload`` allows 16 MiB, so the whole body is decoded;
#: ``/upload-default`` has the default 1 MiB limit, under which conduit refuses a body
#: whose framing passes the budget (one-byte chunks) with 400.
TINY_CHUNK_CASES = (("1-byte", 1, "/upload"), ("8-byte", 8, "/upload"),
                    ("1-byte-default-limit", 1, "/upload-default"))


def measure_tiny_chunks(servers=TINY_CHUNK_SERVERS) -> dict:
    """{server: {case: {status, seconds, cpu_s}}} for a 1 MiB chunked body, one run."""
    results = {}
    for name in servers:
        server = Server(name)
        try:
            chunked_upload(server.port, 4096, 1 << 16)  # warm the path
            results[name] = {}
            for label, size, path in TINY_CHUNK_CASES:
                if path != "/upload" and name != "conduit":
                    continue
                cpu = server.cpu_seconds()
                result = chunked_upload(server.port, size, path=path)
                result["cpu_s"] = server.cpu_seconds() - cpu
                results[name][label] = result
        finally:
            server.stop()
    return results


if __name__ == "__main__":
    import json

    names = tuple(sys.argv[1].split(",")) if len(sys.argv) > 1 else tuple(SERVERS)
    connections = int(os.environ.get("WRK_CONNECTIONS", "32"))
    results = measure_all(int(os.environ.get("WRK_SECONDS", "5")), connections, names)
    print(json.dumps(results, indent=2))
    print(table(results))
