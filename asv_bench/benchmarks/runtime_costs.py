"""Two costs of the native server's request path, each beside its peer, in process CPU µs.

- **Sync hand-off**: ``trio.to_thread.run_sync`` (a trio thread per call, the design
  before issue 22's fourth wave) beside :func:`conduit.lifecycle.worker_pool.run_in_worker`
  (persistent workers, completions batched), 64 trio tasks handing off a trivial ``def``
  at once, as ``wrk -c64`` does; CPU of the whole process (all threads) per hand-off.
- **Small head parse**: the Numba head scanner (plus span slicing) beside h11 on a
  70-byte head, the question of whether the HTTP path needs a kernel for small inputs.
- **Metrics per request**: the metrics middleware around a handler that returns at once,
  driven without an event loop; CPU per request beside the same handler without it, and
  beside the per-request updates of ``prometheus_client`` metrics (lock per update: the
  design before this wave, in its own registry).

Process CPU time moves less with the machine's load than wall time; each figure is the
best of :data:`ROUNDS` alternating rounds. Run: ``python -m benchmarks.runtime_costs``
from ``asv_bench`` (markdown rows with the 1-minute load average). With ``--all`` it also
runs, in about three minutes, the garbage collections of a hello server under load
(:func:`gc_during_load`), ``GET /`` and ``GET /sync`` under ``wrk -t1 -c64`` on Conduit
beside Starlette on uvicorn (httptools + uvloop), alternating rounds (``_servers.measure_all``),
and the memory steps of a hello server (``memory.measure``).
"""

from __future__ import annotations

import os
import time

ROUNDS = 5
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _hello() -> str:
    return "Hello, world!"


def handoff_us(kind: str, calls: int = 20_000, tasks: int = 64) -> float:
    """Process CPU µs per hand-off of ``_hello`` to a thread, ``tasks`` at a time."""
    import trio

    from conduit.lifecycle.worker_pool import run_in_worker

    hand_off = {"trio.to_thread": lambda: trio.to_thread.run_sync(_hello),
                "conduit worker pool": lambda: run_in_worker(_hello)}[kind]

    async def main() -> float:
        left = calls

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await hand_off()

        started = time.process_time()
        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(worker)
        return (time.process_time() - started) / calls * 1e6

    return trio.run(main)


def _prometheus_direct(handler):
    """The pre-wave middleware's per-request work: a gauge up and down, three counters, a histogram."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    registry = CollectorRegistry()
    requests = Counter("r", "", ["method", "route", "status"], registry=registry).labels("GET", "/", "200")
    latency = Histogram("l", "", ["method", "route"], buckets=_BUCKETS, registry=registry).labels("GET", "/")
    body_in = Counter("i", "", ["method", "route"], registry=registry).labels("GET", "/")
    body_out = Counter("o", "", ["method", "route"], registry=registry).labels("GET", "/")
    in_flight = Gauge("f", "", registry=registry)

    async def observe(request):
        start = time.perf_counter()
        in_flight.inc()
        try:
            response = await handler(request)
        finally:
            in_flight.dec()
        requests.inc()
        latency.observe(time.perf_counter() - start)
        body_in.inc(0)
        body_out.inc(len(response.body))
        return response
    return observe


def middleware_us(kind: str, requests: int = 200_000) -> float:
    """Process CPU µs per request through ``kind`` around a handler that returns at once."""
    from conduit.http.datastructures import Headers
    from conduit.http.request import Request
    from conduit.http.response import Response
    from conduit.observability.metrics import MetricsMiddleware

    response = Response(b"Hello, world!")

    async def handler(request):
        return response

    wrapped = {"no metrics": handler, "conduit metrics": MetricsMiddleware()(handler),
               "prometheus_client per request": _prometheus_direct(handler)}[kind]

    class Route:
        pattern, param_names = "/", ()

    request = Request("GET", b"/", headers=Headers([(b"host", b"bench")]))
    request.route = Route()
    started = time.process_time()
    for _ in range(requests):
        step = wrapped(request)
        try:
            step.send(None)
        except StopIteration:
            pass
    return (time.process_time() - started) / requests * 1e6


_GC_PROBE = r"""
import gc, json, os, sys, threading, time
out, port = sys.argv[1], sys.argv[2]
stats = {g: [] for g in range(3)}  # generation -> pause of each collection, ms
started = [0.0]
def on_gc(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        stats[info["generation"]].append((time.perf_counter() - started[0]) * 1e3)
gc.callbacks.append(on_gc)
def dump():
    while True:
        time.sleep(0.25)
        with open(out + ".tmp", "w") as f:
            json.dump(stats, f)
        os.replace(out + ".tmp", out)
threading.Thread(target=dump, daemon=True).start()
sys.argv = ["conduit", "run", "hello_conduit:app", "--port", port, "--log-level", "warning"]
from conduit.cli import main
main()
"""


def gc_during_load(seconds: int = 5) -> dict:
    """Garbage collections in a conduit hello server while ``wrk -t1 -c64`` loads ``GET /``:
    {generation: [collections, longest pause ms]}, counted from after the warm-up (the
    server's ``gc.collect(); gc.freeze()`` and the first requests are left out)."""
    import json
    import subprocess
    import sys
    import tempfile

    from . import _servers

    port = _servers.free_port()
    with tempfile.TemporaryDirectory(prefix="conduit-gc-") as folder:
        path = os.path.join(folder, "gc.json")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_servers.PEERS), str(_servers.ROOT),
                                                            str(_servers.ROOT / "kernels")])}
        proc = subprocess.Popen([sys.executable, "-c", _GC_PROBE, path, str(port)], cwd=_servers.PEERS, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _servers.wait_for_port(port, proc=proc)
            _servers.wrk(f"http://127.0.0.1:{port}/", seconds=1, connections=64)  # warm
            time.sleep(0.6)
            with open(path) as f:
                before = json.load(f)
            result = _servers.wrk(f"http://127.0.0.1:{port}/", seconds=seconds, connections=64)
            time.sleep(0.6)
            with open(path) as f:
                after = json.load(f)
        finally:
            proc.terminate()
            proc.wait(30)
    window = {g: after[g][len(before[g]):] for g in after}
    gens = {g: [len(pauses), max(pauses, default=0.0)] for g, pauses in window.items()}
    return {"generations": gens, "requests": result["requests"], "p99_ms": result["p99_ms"],
            "load_avg": os.getloadavg()[0]}


#: A small head as wrk sends it.
_HEAD = b"GET /users/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"


def head_parse_us(kind: str, heads: int = 50_000) -> float:
    """Process CPU µs to turn a small head into a ``RequestHead``: the Numba scanner plus
    span slicing (the codec's path for simple heads) or h11 (its path for the rest, and
    what a server without the kernel would run for every head)."""
    from conduit.http.h1.heads import H11HeadParser, new_scan_buffer, scan, simple_head

    out, buffer = new_scan_buffer(), bytearray(_HEAD)

    def kernel():
        scan(buffer, out)
        return simple_head(_HEAD, out)

    def with_h11():
        parser = H11HeadParser(16384)
        parser.feed(_HEAD)
        return parser.next_head()[0]

    parse = {"Numba scanner": kernel, "h11": with_h11}[kind]
    if parse().target != b"/users/42":
        raise RuntimeError(f"{kind} did not parse the head")
    started = time.process_time()
    for _ in range(heads):
        parse()
    return (time.process_time() - started) / heads * 1e6


HEAD_PARSERS = ("Numba scanner", "h11")
HANDOFFS = ("trio.to_thread", "conduit worker pool")
MIDDLEWARES = ("no metrics", "conduit metrics", "prometheus_client per request")


def measure(rounds: int = ROUNDS) -> dict:
    """{(measure, kind): best µs over alternating rounds, with the highest load average seen}."""
    best: dict[tuple[str, str], float] = {}
    load = 0.0
    for _ in range(rounds):
        for kind in HANDOFFS:
            value = handoff_us(kind)
            best[("sync hand-off", kind)] = min(best.get(("sync hand-off", kind), value), value)
        for kind in MIDDLEWARES:
            value = middleware_us(kind)
            best[("metrics", kind)] = min(best.get(("metrics", kind), value), value)
        for kind in HEAD_PARSERS:
            value = head_parse_us(kind)
            best[("small head parse", kind)] = min(best.get(("small head parse", kind), value), value)
        load = max(load, os.getloadavg()[0])
    return {"figures": best, "load_avg": load}


class SyncHandOff:
    timeout = 300
    params = list(HANDOFFS)
    param_names = ["hand_off"]

    def setup_cache(self):
        return measure()

    def track_cpu_us_per_call(self, results, hand_off):
        return results["figures"][("sync hand-off", hand_off)]

    track_cpu_us_per_call.unit = "us"


class SmallHeadParse:
    timeout = 300
    params = list(HEAD_PARSERS)
    param_names = ["parser"]

    def setup_cache(self):
        return measure()

    def track_cpu_us_per_head(self, results, parser):
        return results["figures"][("small head parse", parser)]

    track_cpu_us_per_head.unit = "us"


class MetricsPerRequest:
    timeout = 300
    params = list(MIDDLEWARES)
    param_names = ["middleware"]

    def setup_cache(self):
        return measure()

    def track_cpu_us_per_request(self, results, middleware):
        return results["figures"][("metrics", middleware)]

    track_cpu_us_per_request.unit = "us"


def table(results: dict) -> str:
    load = results["load_avg"]
    mark = " (load >= 2)" if load >= 2 else ""
    lines = ["| measure | variant | CPU µs | load avg (1 min) |", "|---|---|---|---|"]
    for (what, kind), value in results["figures"].items():
        lines.append(f"| {what} | {kind} | {value:.2f} | {load:.1f}{mark} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(table(measure()))
    if "--all" in sys.argv:
        from . import _servers, memory

        results = _servers.measure_all(5, 64, ("conduit", "uvicorn-httptools+starlette"), rounds=3,
                                       endpoints={"hello": "/", "sync": "/sync"})
        print()
        print(_servers.table(results))
        probe = gc_during_load()
        mark = " (load >= 2)" if probe["load_avg"] >= 2 else ""
        print()
        print("| GC during wrk -c64 on GET / | collections | longest pause ms | load avg (1 min) |")
        print("|---|---|---|---|")
        for gen, (count, longest) in probe["generations"].items():
            print(f"| generation {gen}, {probe['requests']:,} requests (p99 {probe['p99_ms']:.2f} ms) "
                  f"| {count} | {longest:.3f} | {probe['load_avg']:.1f}{mark} |")
        print()
        print("| hello server step | RSS MiB | added MiB | load avg (1 min) |")
        print("|---|---|---|---|")
        previous, load = 0.0, os.getloadavg()[0]
        for step, value in memory.measure().items():
            print(f"| {step} | {value:.1f} | {value - previous:+.1f} | {load:.1f}{' (load >= 2)' if load >= 2 else ''} |")
            previous = value
