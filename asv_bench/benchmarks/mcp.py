"""MCP tools/call throughput and latency: Conduit beside the official SDK (mcp 2.x).

Both servers run in their own processes on this machine, in the same run: Conduit via
``conduit mcp ... --http`` (trio + h11) and the SDK's ``MCPServer`` on uvicorn (default
SSE-answer mode and ``json_response=True``). One tool, ``add(a, b)``, async in both.
A raw httpx client sends pre-built JSON-RPC bodies so the client's own cost is the
same for both servers. stdio is measured with a pipe pair and one message per line.

Run with asv, or directly for a table: ``python asv_bench/benchmarks/mcp.py``.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a script: this file's name must not shadow the `mcp` SDK
    sys.path[:] = [p for p in sys.path if not p.endswith("benchmarks")]

import asyncio
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import httpx

ROOT = pathlib.Path(__file__).resolve().parents[2]
CALLS = 200
CONCURRENCY = 16

CONDUIT_SERVER = '''
from conduit.mcp import MCPServer
mcp = MCPServer("bench")
@mcp.tool()
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''

SDK_SERVER = '''
import sys, uvicorn
from mcp.server.mcpserver import MCPServer
mcp = MCPServer("bench")
@mcp.tool()
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "stdio":
    mcp.run("stdio")
else:
    app = mcp.streamable_http_app(json_response=(mode == "json"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")
'''

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels"),
                                                       os.environ.get("PYTHONPATH", "")]))


def _write_module(source: str) -> pathlib.Path:
    directory = pathlib.Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    (directory / "bench_server.py").write_text(source)
    return directory


def _wait_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("server exited during startup")
            time.sleep(0.05)
    raise RuntimeError("server did not start")


class HTTPServerProcess:
    def __init__(self, kind: str) -> None:
        self.port = _free_port()
        if kind == "conduit":
            directory = _write_module(CONDUIT_SERVER)
            cmd = [sys.executable, "-m", "conduit.mcp.cli", "bench_server:mcp", "--http", "--port", str(self.port)]
        else:
            directory = _write_module(SDK_SERVER)
            cmd = [sys.executable, str(directory / "bench_server.py"), "json" if kind == "sdk-json" else "sse",
                   str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=directory, env=_env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.client = httpx.Client(timeout=30)
        r = self.client.post(self.url, headers=HEADERS, json=INIT)
        self.headers = dict(HEADERS, **{"mcp-session-id": r.headers["mcp-session-id"],
                                        "mcp-protocol-version": "2025-11-25"})
        self.client.post(self.url, headers=self.headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.body = json.dumps(CALL).encode()
        for _ in range(50):  # warm up
            self.call()

    def call(self) -> None:
        r = self.client.post(self.url, headers=self.headers, content=self.body)
        if b'"result"' not in r.content:
            raise RuntimeError(r.text)

    def sequential(self, n: int = CALLS) -> list[float]:
        latencies = []
        for _ in range(n):
            t = time.perf_counter()
            self.call()
            latencies.append(time.perf_counter() - t)
        return latencies

    def concurrent(self, n: int = CALLS, workers: int = CONCURRENCY) -> None:
        """``workers`` clients, each with its own connection and session, ``n`` calls in all."""
        async def run() -> None:
            async def worker(count: int) -> None:
                async with httpx.AsyncClient(timeout=30) as client:
                    r = await client.post(self.url, headers=HEADERS, json=INIT)
                    headers = dict(self.headers, **{"mcp-session-id": r.headers["mcp-session-id"]})
                    await client.post(self.url, headers=headers,
                                      json={"jsonrpc": "2.0", "method": "notifications/initialized"})
                    for _ in range(count):
                        r = await client.post(self.url, headers=headers, content=self.body)
                        if b'"result"' not in r.content:
                            raise RuntimeError(r.text)
            await asyncio.wait_for(asyncio.gather(*(worker(n // workers) for _ in range(workers))), 120)
        asyncio.run(run())

    def rss_mb(self) -> float:
        for line in pathlib.Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class StdioServerProcess:
    def __init__(self, kind: str) -> None:
        if kind == "conduit":
            directory = _write_module(CONDUIT_SERVER)
            cmd = [sys.executable, "-m", "conduit.mcp.cli", "bench_server:mcp"]
        else:
            directory = _write_module(SDK_SERVER)
            cmd = [sys.executable, str(directory / "bench_server.py"), "stdio", "0"]
        self.proc = subprocess.Popen(cmd, cwd=directory, env=_env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self._send(INIT)
        self._read_response()
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.line = json.dumps(CALL).encode() + b"\n"
        for _ in range(50):
            self.call()

    def _send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")

    def _read_response(self) -> bytes:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("stdio server closed")
            if b'"id"' in line and (b'"result"' in line or b'"error"' in line):
                return line

    def call(self) -> None:
        self.proc.stdin.write(self.line)
        self._read_response()

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class StreamableHTTPToolsCall:
    """tools/call over Streamable HTTP: CALLS sequential calls, then CALLS calls on 16 connections."""

    params = ["conduit", "sdk", "sdk-json"]
    param_names = ["server"]
    timeout = 300

    def setup(self, kind: str) -> None:
        self.server = HTTPServerProcess(kind)

    def teardown(self, kind: str) -> None:
        self.server.close()

    def time_sequential(self, kind: str) -> None:
        self.server.sequential()

    def time_concurrent_16(self, kind: str) -> None:
        self.server.concurrent()

    def track_idle_rss_mb(self, kind: str) -> float:
        return self.server.rss_mb()

    track_idle_rss_mb.unit = "MB"


class StdioToolsCall:
    params = ["conduit", "sdk"]
    param_names = ["server"]
    timeout = 300

    def setup(self, kind: str) -> None:
        self.server = StdioServerProcess(kind)

    def teardown(self, kind: str) -> None:
        self.server.close()

    def time_sequential(self, kind: str) -> None:
        for _ in range(CALLS):
            self.server.call()


def main() -> None:
    rows = []
    for kind in ("conduit", "sdk", "sdk-json"):
        server = HTTPServerProcess(kind)
        try:
            idle = server.rss_mb()
            latencies = server.sequential(1000)
            seq = len(latencies) / sum(latencies)
            p50 = sorted(latencies)[len(latencies) // 2] * 1000
            t = time.perf_counter()
            server.concurrent(1600)
            conc = 1600 / (time.perf_counter() - t)
            rows.append((f"http {kind}", seq, p50, conc, idle))
        finally:
            server.close()
    for kind in ("conduit", "sdk"):
        server = StdioServerProcess(kind)
        try:
            t = time.perf_counter()
            for _ in range(1000):
                server.call()
            rows.append((f"stdio {kind}", 1000 / (time.perf_counter() - t), float("nan"), float("nan"),
                         float("nan")))
        finally:
            server.close()
    print(f"{'server':16} {'seq calls/s':>12} {'p50 ms':>8} {'16-conc calls/s':>16} {'idle RSS MB':>12}")
    for name, seq, p50, conc, rss in rows:
        print(f"{name:16} {seq:12.0f} {p50:8.2f} {conc:16.0f} {rss:12.1f}")


if __name__ == "__main__":
    main()
