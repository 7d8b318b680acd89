"""MCP tools/call throughput and latency: Conduit beside the official SDK (mcp 2.x).

Both servers run in their own processes on this machine, in the same run: Conduit via
``conduit mcp ... --http`` (trio + h11) and the SDK's ``MCPServer`` on uvicorn (default
SSE-answer mode and ``json_response=True``). One tool, ``add(a, b)``, async in both.

What exactly is measured (the figures in docs/benchmarks.md come from ``main()``):

* HTTP, wrk (``MCPWrk``, server-bound): one session is initialized with httpx
  (``initialize`` + ``notifications/initialized``, protocol 2025-11-25), then wrk POSTs
  ``tools/call`` of ``add(2, 3)`` with that session's headers, every request with its own
  JSON-RPC id (one wrk thread, a counter); a 2xx whose body lacks ``"result"``, a non-2xx
  and a socket error or timeout all count as errors. ``-c1 -t1`` is "sequential" (each
  call waits for the previous answer: a latency figure), ``-c16`` is 16 connections
  sharing the one session. The server runs one process, logging off, on 127.0.0.1,
  its kernels compiled (``NUMBA_DISABLE_JIT`` is removed from its environment); wrk
  runs on the same machine and competes with it for the CPUs.
* Beside each rate: the **server's CPU time per call** (user + system, from
  ``/proc/<pid>/stat`` over the wrk run). Wall-clock rates on a shared machine depend on
  how soon the scheduler runs the server and wrk after each wake-up; CPU per call does
  not, so it says what the server itself costs, and the two together say how much of a
  figure was waiting for a CPU. The load average before and after is recorded too.
* Each figure is taken ``CONDUIT_BENCH_REPEATS`` times (default 3, servers interleaved so
  they share the conditions) and the **worst** repeat is kept: lowest calls/s, highest
  p50/p99, highest CPU per call.
* stdio: a pipe pair, one message per line, ``STDIO_CALLS`` calls, sequential and with
  16 in flight (unique ids), CPU per call beside each.
* RSS: idle (after the warm-up) and after the load, from ``/proc/<pid>/status``.
* httpx (``StreamableHTTPToolsCall``, client-bound): a Python client costs about 1 ms
  per call itself, which hides most of the servers' difference; not in the docs table.

Run with asv, or directly for the docs table: ``python asv_bench/benchmarks/mcp.py``.
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
REPEATS = int(os.environ.get("CONDUIT_BENCH_REPEATS", "3"))
STDIO_CALLS = 2000
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
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels"),
                                                      os.environ.get("PYTHONPATH", "")]))
    # The kernels run compiled, as in production: NUMBA_DISABLE_JIT=1 (the coverage CI leg)
    # left in a shell makes Conduit's head scanner and route match pure Python, about 1.7x
    # the CPU per call, and the SDK not at all.
    env.pop("NUMBA_DISABLE_JIT", None)
    return env


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
        """wrk POSTing the tools/call body on ``connections`` connections sharing this session.

        Adds ``cpu_us_per_call`` (the server's CPU time over the run / calls) and the load average.
        """
        directory = pathlib.Path(tempfile.mkdtemp(prefix="mcp-wrk-"))
        script, report = directory / "call.lua", directory / "bad"
        script.write_text(_wrk_script(self.headers, str(report)))
        _servers.wrk(self.url, seconds=1, connections=connections, threads=1, script=str(script))  # warm
        load_before, cpu_before = os.getloadavg()[0], _cpu_seconds(self.proc.pid)
        result = _servers.wrk(self.url, seconds=seconds, connections=connections, threads=1, script=str(script))
        cpu = _cpu_seconds(self.proc.pid) - cpu_before
        result["no_result"] = int(report.read_text())  # 2xx answers whose body lacks "result"
        result["errors"] += result["no_result"]
        calls = result["req_per_s"] * seconds
        result["cpu_us_per_call"] = cpu / calls * 1e6 if calls else float("nan")
        result["load"] = (load_before, os.getloadavg()[0])
        return result

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (all its threads)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


_WORST = {"req_per_s": min, "p50_ms": max, "p99_ms": max, "cpu_us_per_call": max, "errors": max}


def _worst(runs: list[dict]) -> dict:
    """The worst of several repeats, figure by figure (see the module docstring)."""
    worst = {key: pick(run[key] for run in runs) for key, pick in _WORST.items()}
    worst["load"] = (min(r["load"][0] for r in runs), max(r["load"][1] for r in runs))
    worst["runs"] = runs
    return worst


def measure_wrk(seconds: int = WRK_SECONDS, repeats: int = REPEATS) -> dict:
    """{server: {"sequential": worst wrk result, "concurrent_16": ..., "idle_rss_mb", "loaded_rss_mb"}}."""
    runs: dict[str, dict[str, list]] = {kind: {"sequential": [], "concurrent_16": [], "idle": [], "loaded": []}
                                        for kind in HTTP_KINDS}
    for _ in range(repeats):
        for kind in HTTP_KINDS:  # interleaved: every server sees the same stretch of machine load
            server = HTTPServerProcess(kind)
            try:
                entry = runs[kind]
                entry["idle"].append(server.rss_mb())
                server.call()  # one request by hand: 200 with the result (raises otherwise)
                entry["sequential"].append(server.wrk(1, seconds))
                entry["concurrent_16"].append(server.wrk(CONCURRENCY, seconds))
                entry["loaded"].append(server.rss_mb())
                server.call()  # the session still answers after the load
            finally:
                server.close()
    return {kind: {"sequential": _worst(r["sequential"]), "concurrent_16": _worst(r["concurrent_16"]),
                   "idle_rss_mb": max(r["idle"]), "loaded_rss_mb": max(r["loaded"])} for kind, r in runs.items()}


def measure_stdio(calls: int = STDIO_CALLS, repeats: int = REPEATS) -> dict:
    """{server: {mode: {"calls_per_s", "cpu_us_per_call"} (worst), "idle_rss_mb"}} over a pipe pair.

    Modes: "sequential" (one call at a time: the Python client's own ~50-100 µs per call
    is in the figure) and "pipelined_16" (16 in flight, the client mostly waiting).
    """
    out: dict[str, dict] = {}
    for _ in range(repeats):
        for kind in ("conduit", "sdk"):
            server = StdioServerProcess(kind)
            try:
                entry = out.setdefault(kind, {"idle_rss_mb": 0.0})
                entry["idle_rss_mb"] = max(entry["idle_rss_mb"], _rss_mb(server.proc.pid))
                for mode, run in (("sequential", lambda: [server.call() for _ in range(calls)]),
                                  ("pipelined_16", lambda: server.pipelined(calls))):
                    cpu = _cpu_seconds(server.proc.pid)
                    t = time.perf_counter()
                    run()
                    elapsed = time.perf_counter() - t
                    cpu = _cpu_seconds(server.proc.pid) - cpu
                    figures = entry.setdefault(mode, {"calls_per_s": float("inf"), "cpu_us_per_call": 0.0})
                    figures["calls_per_s"] = min(figures["calls_per_s"], calls / elapsed)
                    figures["cpu_us_per_call"] = max(figures["cpu_us_per_call"], cpu / calls * 1e6)
            finally:
                server.close()
    return out


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

    def pipelined(self, calls: int, depth: int = CONCURRENCY) -> None:
        """``calls`` calls with ``depth`` in flight (stdio's "16 connections"), unique ids."""
        lines = [json.dumps(dict(CALL, id=i)).encode() + b"\n" for i in range(calls)]
        self.proc.stdin.write(b"".join(lines[:depth]))
        sent = depth
        for _ in range(calls):
            self._read_response()
            if sent < calls:
                self.proc.stdin.write(lines[sent])
                sent += 1

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

    def track_sequential_cpu_us_per_call(self, results: dict, kind: str) -> float:
        return results[kind]["sequential"]["cpu_us_per_call"]

    track_sequential_cpu_us_per_call.unit = "µs"

    def track_concurrent_16_cpu_us_per_call(self, results: dict, kind: str) -> float:
        return results[kind]["concurrent_16"]["cpu_us_per_call"]

    track_concurrent_16_cpu_us_per_call.unit = "µs"

    def track_loaded_rss_mb(self, results: dict, kind: str) -> float:
        return results[kind]["loaded_rss_mb"]

    track_loaded_rss_mb.unit = "MB"

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

    def time_pipelined_16(self, kind: str) -> None:
        self.server.pipelined(CALLS)

    def track_idle_rss_mb(self, kind: str) -> float:
        return _rss_mb(self.server.proc.pid)

    track_idle_rss_mb.unit = "MB"


def main() -> None:
    """Print the docs/benchmarks.md MCP table (worst of REPEATS, every server in this run)."""
    import platform
    from importlib.metadata import version

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    http = measure_wrk()
    stdio = measure_stdio()
    print(f"{started}; {os.cpu_count()} CPUs; load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} "
          f"at the end; Python {platform.python_version()}; mcp {version('mcp')}; wrk {WRK_SECONDS} s per figure, "
          f"worst of {REPEATS} repeats")
    kinds = HTTP_KINDS
    print("\n| | " + " | ".join(kinds) + " |\n|---|" + "---|" * len(kinds))

    def row(label: str, fn, fmt: str) -> None:
        print(f"| {label} | " + " | ".join(format(fn(http[k]), fmt) for k in kinds) + " |")

    row("HTTP sequential calls/s", lambda r: r["sequential"]["req_per_s"], ",.0f")
    row("HTTP sequential p50 ms", lambda r: r["sequential"]["p50_ms"], ".3f")
    row("HTTP sequential server CPU µs/call", lambda r: r["sequential"]["cpu_us_per_call"], ".0f")
    row("HTTP 16 connections calls/s", lambda r: r["concurrent_16"]["req_per_s"], ",.0f")
    row("HTTP 16 connections p99 ms", lambda r: r["concurrent_16"]["p99_ms"], ".2f")
    row("HTTP 16 connections server CPU µs/call", lambda r: r["concurrent_16"]["cpu_us_per_call"], ".0f")
    row("HTTP errors", lambda r: r["sequential"]["errors"] + r["concurrent_16"]["errors"], "d")
    row("HTTP RSS idle MB", lambda r: r["idle_rss_mb"], ".1f")
    row("HTTP RSS after load MB", lambda r: r["loaded_rss_mb"], ".1f")
    for mode, label in (("sequential", "stdio sequential"), ("pipelined_16", "stdio 16 in flight")):
        print(f"| {label} calls/s | {stdio['conduit'][mode]['calls_per_s']:,.0f} | "
              f"{stdio['sdk'][mode]['calls_per_s']:,.0f} | |")
        print(f"| {label} server CPU µs/call | {stdio['conduit'][mode]['cpu_us_per_call']:.0f} | "
              f"{stdio['sdk'][mode]['cpu_us_per_call']:.0f} | |")
    print(f"| stdio RSS idle MB | {stdio['conduit']['idle_rss_mb']:.1f} | {stdio['sdk']['idle_rss_mb']:.1f} | |")
    c = http["conduit"]
    for peer in ("sdk", "sdk-json"):
        p = http[peer]
        print(f"\nconduit / {peer}: sequential {c['sequential']['req_per_s'] / p['sequential']['req_per_s']:.1f}x, "
              f"16 connections {c['concurrent_16']['req_per_s'] / p['concurrent_16']['req_per_s']:.1f}x; "
              f"CPU per call {p['sequential']['cpu_us_per_call'] / c['sequential']['cpu_us_per_call']:.1f}x / "
              f"{p['concurrent_16']['cpu_us_per_call'] / c['concurrent_16']['cpu_us_per_call']:.1f}x less")
    for mode in ("sequential", "pipelined_16"):
        c_, s_ = stdio["conduit"][mode], stdio["sdk"][mode]
        print(f"conduit / sdk stdio {mode}: {c_['calls_per_s'] / s_['calls_per_s']:.1f}x calls/s, "
              f"{s_['cpu_us_per_call'] / c_['cpu_us_per_call']:.1f}x less CPU per call")
    for kind in kinds:
        for mode in ("sequential", "concurrent_16"):
            runs = http[kind][mode]["runs"]
            print(f"  {kind} {mode}: " + ", ".join(f"{r['req_per_s']:.0f}/s p50 {r['p50_ms']:.2f} ms "
                                                  f"cpu {r['cpu_us_per_call']:.0f} µs load {r['load'][0]:.1f}"
                                                  for r in runs))


if __name__ == "__main__":
    main()
