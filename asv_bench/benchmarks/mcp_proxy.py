"""What ``MCPServer.proxy`` adds per ``tools/call``: the same remote tool called directly, and through a proxy.

The remote: ``examples/mcp/everything.py`` served over Streamable HTTP by ``conduit mcp
... --http`` in its own process on 127.0.0.1. ``direct``: ``conduit.mcp.Client`` calls its
``greet`` tool. ``proxied``: a proxy ``MCPServer.proxy(url)`` in this process is asked the
same call through its sans-IO dispatcher (``Connection.handle``, no front transport), and
forwards it with its own ``Client`` over the same kind of connection. The proxy's own cost
per call is ``proxied - direct``: what it does besides the one remote call both make.
Both kinds run in one trio run per round, alternating, ``BATCH`` sequential calls each;
the figures are **wall µs per call** and this process's **CPU µs per call**
(``time.process_time``; the remote's CPU is not in it), median of rounds, with the
1-minute load average before and after.

Run with asv, or ``python asv_bench/benchmarks/mcp_proxy.py`` for the docs table.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import trio

ROOT = pathlib.Path(__file__).resolve().parents[2]
BATCH = 200
KINDS = ["direct", "proxied"]
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


@contextlib.contextmanager
def remote_server() -> Iterator[tuple[str, int]]:
    """The everything example over Streamable HTTP in a child process: its URL and pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    proc = subprocess.Popen([sys.executable, "-m", "conduit.mcp.cli", "examples.mcp.everything:mcp", "--http",
                             "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the remote MCP server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


async def _rounds(url: str, rounds: int, batch: int) -> dict[str, list[tuple[float, float]]]:
    """``rounds`` alternating rounds of ``batch`` calls of each kind: (wall, cpu) µs per call."""
    from conduit.mcp import MCPServer
    from conduit.mcp.client import Client
    from conduit.mcp.protocol.dispatcher import Connection

    proxy = MCPServer.proxy(url)
    samples: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
    async with Client(url) as client:
        connection = Connection(proxy, can_request=False)
        await connection.handle(INIT)

        async def direct(i: int) -> None:
            result = await client.call_tool("greet", {"name": f"n{i}"})
            assert result["content"][0]["text"].endswith(f"n{i}!"), result

        async def proxied(i: int) -> None:
            reply = await connection.handle({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                                             "params": {"name": "greet", "arguments": {"name": f"n{i}"}}})
            assert reply["result"]["content"][0]["text"].endswith(f"n{i}!"), reply

        calls = {"direct": direct, "proxied": proxied}
        for kind in KINDS:  # warm: the proxy's connection, first-call caches
            for i in range(5):
                await calls[kind](i)
        for index in range(rounds):
            for kind in (KINDS if index % 2 == 0 else KINDS[::-1]):
                wall, cpu = time.perf_counter(), time.process_time()
                for i in range(batch):
                    await calls[kind](i)
                samples[kind].append(((time.perf_counter() - wall) / batch * 1e6,
                                      (time.process_time() - cpu) / batch * 1e6))
    return samples


class ProxyToolsCall:
    """asv: one batch of each kind per sample; ``track_*`` report the per-call figures."""

    timeout = 300

    def setup(self) -> None:
        self._remote = remote_server()
        self.url, _ = self._remote.__enter__()

    def teardown(self) -> None:
        self._remote.__exit__(None, None, None)

    def track_direct_wall_us_per_call(self) -> float:
        return trio.run(_rounds, self.url, 1, BATCH)["direct"][0][0]

    def track_proxied_wall_us_per_call(self) -> float:
        return trio.run(_rounds, self.url, 1, BATCH)["proxied"][0][0]
    track_direct_wall_us_per_call.unit = track_proxied_wall_us_per_call.unit = "µs"


def main(rounds: int = 8) -> None:
    with remote_server() as (url, _):
        load_before = os.getloadavg()[0]
        samples = trio.run(_rounds, url, rounds, BATCH)
        load_after = os.getloadavg()[0]
    marked = " (taken at load >= 2)" if max(load_before, load_after) >= 2 else ""
    print(f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after{marked}; "
          f"{rounds} alternating rounds of {BATCH} sequential calls, median of rounds")
    wall = {kind: statistics.median(w for w, _ in samples[kind]) for kind in KINDS}
    cpu = {kind: statistics.median(c for _, c in samples[kind]) for kind in KINDS}
    print("| µs per tools/call | direct (peer) | through MCPServer.proxy | the proxy adds | load |")
    print("|---|---|---|---|---|")
    print(f"| wall | {wall['direct']:.0f} | {wall['proxied']:.0f} | {wall['proxied'] - wall['direct']:+.0f} "
          f"| {load_before:.2f} |")
    print(f"| this process's CPU | {cpu['direct']:.0f} | {cpu['proxied']:.0f} | {cpu['proxied'] - cpu['direct']:+.0f} "
          f"| {load_after:.2f} |")


if __name__ == "__main__":
    main()
