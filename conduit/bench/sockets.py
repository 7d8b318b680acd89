"""A route's cost over a socket: ``conduit run`` (and a peer) on 127.0.0.1 under wrk.

The app is started as ``conduit run MODULE:APP`` on a free port of 127.0.0.1; a
peer is an ASGI ``MODULE:APP`` started under uvicorn the same way, or a URL the
user serves. Each round runs every route on every server in turn for a bounded
time (wrk, one thread), so a route and its peer see the same stretch of machine
load. The figures are wrk's requests per second and the server's CPU µs per
request (user + system time of the server's process tree from ``/proc``, which
moves much less with the load than req/s; ``nan`` for a URL peer, whose process
is not ours). Each carries the highest 1-minute load average seen.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .samples import Sample

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it (a server may fork its workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def wait_for_http(port: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the server on ``port`` answers any HTTP status line (a 404 for ``/`` is fine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited with {process.returncode} "
                               f"before answering")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(16).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no HTTP answer on 127.0.0.1:{port} within {timeout:.0f} s")


class Served:
    """A server under test: its base URL and, when this process started it, its process."""

    def __init__(self, name: str, url: str, process: subprocess.Popen | None = None) -> None:
        self.name, self.url, self.process = name, url.rstrip("/"), process

    def cpu_seconds(self) -> float:
        if self.process is None:
            return float("nan")
        return sum(cpu_seconds(pid) for pid in process_tree(self.process.pid))


@contextmanager
def serve(name: str, argv: list[str], cwd: str, port: int, env: dict[str, str]) -> Iterator[Served]:
    """Start ``argv`` (listening on 127.0.0.1:``port``), yield it once it answers, stop it after."""
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_for_http(port, process)
        except RuntimeError as exc:
            process.kill()
            tail = process.communicate(timeout=10)[1].decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{name}: {exc}" + (f": {' / '.join(tail)}" if tail else "")) from None
        yield Served(name, f"http://127.0.0.1:{port}", process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


def conduit_argv(target: str, port: int) -> list[str]:
    return [sys.executable, "-m", "conduit.cli", "run", target, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]


def uvicorn_argv(target: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]


def _lua_string(value: str | bytes) -> str:
    """A Lua string literal of any bytes: three-digit decimal escapes (Lua reads up to three digits,
    so ``[1`` must be ``\\0911``, never ``\\911``)."""
    data = value.encode("latin-1") if isinstance(value, str) else value
    return '"' + "".join(chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in " /-_.:") else f"\\{b:03d}" for b in data) + '"'


def wrk_script(sample: Sample) -> str:
    """A wrk Lua script that sends ``sample``'s method, headers and body."""
    lines = [f"wrk.method = {_lua_string(sample.method)}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in sample.headers]
    if sample.body:
        lines.append(f"wrk.body = {_lua_string(sample.body)}")
    return "\n".join(lines) + "\n"


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: float, connections: int = 16, script: str | None = None) -> dict:
    """Run wrk for ``seconds`` (bounded): requests, req/s, p50/p99 ms and errors (non-2xx/3xx too)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    with tempfile.TemporaryDirectory() as folder:
        if script:
            path = Path(folder) / "request.lua"
            path.write_text(script)
            argv += ["-s", str(path)]
        done = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + 60)
    out = done.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk failed on {url}: {(done.stderr or out).strip()[:200]}")
    result = {"req_per_s": float(found.group(1)), "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out, re.M)
        result[f"p{pct}_ms"] = float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = (sum(map(int, errors.groups())) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)
    return result


def measure_over_sockets(servers: list[Served], samples: dict[str, Sample], seconds: float,
                         rounds: int = 3) -> dict[str, dict[str, dict]]:
    """{label: {server name: {"req_per_s", "cpu_us", "errors", "load_avg"}}}, alternating rounds.

    Each route runs ``seconds / rounds`` (at least 1 s, wrk's unit) per round on every
    server in turn; req/s is the median over the rounds, CPU µs the lowest.
    """
    per_round = max(1.0, seconds / rounds)
    scripts = {label: wrk_script(sample) for label, sample in samples.items()}
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(rounds):
        for label, sample in samples.items():
            for server in servers:
                cpu = server.cpu_seconds()
                result = wrk(server.url + sample.target, per_round, script=scripts[label])
                result["cpu_us"] = (server.cpu_seconds() - cpu) / max(result["requests"], 1) * 1e6
                result["load_avg"] = os.getloadavg()[0]
                runs.setdefault((label, server.name), []).append(result)
    results: dict[str, dict[str, dict]] = {}
    for (label, name), found in runs.items():
        rates = sorted(r["req_per_s"] for r in found)
        results.setdefault(label, {})[name] = {
            "req_per_s": rates[len(rates) // 2], "cpu_us": min(r["cpu_us"] for r in found),
            "errors": sum(r["errors"] for r in found), "load_avg": max(r["load_avg"] for r in found)}
    return results
