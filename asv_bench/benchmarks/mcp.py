"""MCP tools/call throughput and latency: Conduit beside the official SDK (mcp 2.x).

Both servers run in their own processes on this machine, in the same run: Conduit via
``conduit mcp ... --http`` (trio + h11) and the SDK's ``MCPServer`` on uvicorn (default
SSE-answer mode and ``json_response=True``). One tool, ``add(a, b)``, async in both.

Two HTTP measurements:

* wrk (``MCPWrk``, the server-bound figures): a session is initialized with httpx
  (``initialize`` + ``notifications/initialized``), then wrk POSTs a pre-built
  ``tools/call`` body with that session's headers: ``-c1 -t1`` is "sequential",
  ``-c16`` is "16 concurrent" (the 16 connections share the one session; both servers
  accept that). Every request gets its own JSON-RPC id (one wrk thread, a counter).
  Non-2xx answers and socket errors/timeouts count as errors.
* httpx (``StreamableHTTPToolsCall``, client-bound): a Python client costs about 1 ms
  per call itself, which hides most of the servers' difference.

stdio is measured with a pipe pair and one message per line.

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

if __name__ == "__main__" or not __package__:
    import importlib.util

    _spec = importlib.util.spec_from_file_location("_servers", pathlib.Path(__file__).with_name("_servers.py"))
    _servers = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_servers)
else:
    from . import _servers

ROOT = pathlib.Path(__file__).resolve().parents[2]
CALLS = 200
CONCURRENCY = 16
WRK_SECONDS = int(os.environ.get("CONDUIT_BENCH_SECONDS", "5"))
HTTP_KINDS = ["conduit", "sdk", "sdk-json"]

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
        if r.status_code != 200 or b'"result"' not in r.content:
            raise RuntimeError(f"{r.status_code} {r.text}")

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
        return _rss_mb(self.proc.pid)

    def wrk(self, connections: int, seconds: int = WRK_SECONDS) -> dict:
        """wrk POSTing the tools/call body on ``connections`` connections sharing this session."""
        directory = pathlib.Path(tempfile.mkdtemp(prefix="mcp-wrk-"))
        script, report = directory / "call.lua", directory / "bad"
        script.write_text(_wrk_script(self.headers, str(report)))
        _servers.wrk(self.url, seconds=1, connections=connections, threads=1, script=str(script))  # warm
        result = _servers.wrk(self.url, seconds=seconds, connections=connections, threads=1, script=str(script))
        result["no_result"] = int(report.read_text())  # 2xx answers whose body lacks "result"
        result["errors"] += result["no_result"]
        return result

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _wrk_script(headers: dict[str, str], report: str) -> str:
    """A wrk script POSTing tools/call with a fresh JSON-RPC id per request.

    Every 2xx answer's body is checked for ``"result"``; ``done`` writes the number
    of 2xx answers without one to the file ``report`` (non-2xx wrk counts itself).

    Unique ids matter: the SDK routes a response back to its HTTP request by id, so
    concurrent requests with one id on one session get lost (wrk counts timeouts).
    """
    params = json.dumps(CALL["params"], separators=(",", ":"))
    lines = ['wrk.method = "POST"']
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    head = _lua_string('{"jsonrpc":"2.0","id":')
    tail = _lua_string(',"method":"tools/call","params":' + params + "}")
    lines += ["local n = 0",
              "request = function()",
              "  n = n + 1",
              f"  return wrk.format(nil, nil, nil, {head} .. n .. {tail})",
              "end",
              "bad = 0",
              "response = function(status, headers, body)",
              '  if status < 300 and not string.find(body, \'"result"\', 1, true) then bad = bad + 1 end',
              "end",
              "local threads = {}",
              "setup = function(thread) table.insert(threads, thread) end",
              "done = function(summary, latency, requests)",
              "  local total = 0",
              '  for _, t in ipairs(threads) do total = total + t:get("bad") end',
              f"  local f = io.open({_lua_string(report)}, \"w\")",
              "  f:write(tostring(total))",
              "  f:close()",
              "end"]
    return "\n".join(lines) + "\n"


def measure_wrk(seconds: int = WRK_SECONDS) -> dict:
    """{server: {"sequential": wrk result, "concurrent_16": wrk result, "idle_rss_mb": ...}}, one run."""
    results = {}
    for kind in HTTP_KINDS:
        server = HTTPServerProcess(kind)
        try:
            entry = {"idle_rss_mb": server.rss_mb()}
            server.call()  # one request by hand: 200 with the result (raises otherwise)
            entry["sequential"] = server.wrk(1, seconds)
            entry["concurrent_16"] = server.wrk(CONCURRENCY, seconds)
            server.call()  # the session still answers after the load
            results[kind] = entry
        finally:
            server.close()
    return results


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


class MCPWrk:
    """tools/call over Streamable HTTP under wrk (server-bound): every server in one setup_cache."""

    params = HTTP_KINDS
    param_names = ["server"]
    timeout = 900

    def setup_cache(self) -> dict:
        return measure_wrk()

    def track_sequential_calls_per_s(self, results: dict, kind: str) -> float:
        return results[kind]["sequential"]["req_per_s"]

    track_sequential_calls_per_s.unit = "calls/s"

    def track_sequential_p50_ms(self, results: dict, kind: str) -> float:
        return results[kind]["sequential"]["p50_ms"]

    track_sequential_p50_ms.unit = "ms"

    def track_concurrent_16_calls_per_s(self, results: dict, kind: str) -> float:
        return results[kind]["concurrent_16"]["req_per_s"]

    track_concurrent_16_calls_per_s.unit = "calls/s"

    def track_concurrent_16_p99_ms(self, results: dict, kind: str) -> float:
        return results[kind]["concurrent_16"]["p99_ms"]

    track_concurrent_16_p99_ms.unit = "ms"

    def track_errors(self, results: dict, kind: str) -> int:
        return results[kind]["sequential"]["errors"] + results[kind]["concurrent_16"]["errors"]

    track_errors.unit = "responses"


class StreamableHTTPToolsCall:
    """Client-bound (httpx, ~1 ms/call of its own): CALLS sequential calls, then CALLS on 16 connections."""

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

    def track_idle_rss_mb(self, kind: str) -> float:
        return _rss_mb(self.server.proc.pid)

    track_idle_rss_mb.unit = "MB"


def main() -> None:
    seconds = WRK_SECONDS
    wrk_results = measure_wrk(seconds)
    rows = []
    for kind in HTTP_KINDS:
        server = HTTPServerProcess(kind)
        try:
            latencies = server.sequential(1000)
            seq = len(latencies) / sum(latencies)
            t = time.perf_counter()
            server.concurrent(1600)
            rows.append((kind, seq, 1600 / (time.perf_counter() - t)))
        finally:
            server.close()
    stdio = []
    for kind in ("conduit", "sdk"):
        server = StdioServerProcess(kind)
        try:
            idle = _rss_mb(server.proc.pid)
            t = time.perf_counter()
            for _ in range(1000):
                server.call()
            stdio.append((kind, 1000 / (time.perf_counter() - t), idle))
        finally:
            server.close()
    print(f"Streamable HTTP tools/call, wrk {seconds}s per figure (server-bound); 16 connections share one session")
    print(f"{'server':10} {'seq calls/s':>11} {'seq p50 ms':>10} {'16c calls/s':>11} {'16c p99 ms':>10} "
          f"{'errors':>6} {'idle RSS MB':>11}")
    for kind, r in wrk_results.items():
        seq, conc = r["sequential"], r["concurrent_16"]
        print(f"{kind:10} {seq['req_per_s']:11.0f} {seq['p50_ms']:10.3f} {conc['req_per_s']:11.0f} "
              f"{conc['p99_ms']:10.2f} {seq['errors'] + conc['errors']:6d} {r['idle_rss_mb']:11.1f}")
    print("\nStreamable HTTP tools/call, httpx client (client-bound, ~1 ms/call of client cost)")
    print(f"{'server':10} {'seq calls/s':>11} {'16c calls/s':>11}")
    for kind, seq, conc in rows:
        print(f"{kind:10} {seq:11.0f} {conc:11.0f}")
    print("\nstdio tools/call (pipe pair, sequential)")
    print(f"{'server':10} {'calls/s':>11} {'idle RSS MB':>11}")
    for kind, rate, idle in stdio:
        print(f"{kind:10} {rate:11.0f} {idle:11.1f}")


if __name__ == "__main__":
    main()
