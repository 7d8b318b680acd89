"""What composition adds per ``tools/call``: a tool called directly, and the same tool mounted.

Conduit: one batch of ``BATCH`` ``tools/call`` requests through ``Connection.handle`` (the
sans-IO dispatcher, handshake era, no transport) in one trio run, to ``add`` on the server
itself (``conduit-local``) and to ``w_add`` on a parent that mounted it under ``w``
(``conduit-mounted``; the child has a resource, so the mounted tool includes the wrapper
that rewrites resource links in its results, the worst case). Peer: FastMCP 4 (its public in-memory ``Client(server)``, one
session, the same batch) calling ``add`` directly and ``w_add`` through its own ``mount``
(the client's cost is the same on both sides, so the difference is its mount's). The
figure is **process CPU time per call** (``time.process_time``), which a busy machine
disturbs far less than wall time; ``main()`` alternates the four kinds round by round and
prints the median of the rounds, with the 1-minute load average before and after.

Run with asv, or ``python asv_bench/benchmarks/mcp_compose.py`` for the docs table.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

if __name__ == "__main__":  # this file's directory would shadow the `mcp` SDK that fastmcp imports
    sys.path[:] = [p for p in sys.path if not p.endswith("benchmarks")]

import anyio
import trio

BATCH = 200
KINDS = ["conduit-local", "conduit-mounted", "fastmcp-local", "fastmcp-mounted"]
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def _conduit(mounted: bool):
    from conduit.mcp import MCPServer

    child = MCPServer("child", sync_in_thread=False)

    @child.tool()
    async def add(a: int, b: int) -> int:
        return a + b

    @child.resource("data://x")  # a child with resources: mounted tools rewrite the links they return
    def x() -> str:
        return "x"

    if not mounted:
        return child, "add"
    parent = MCPServer("parent", sync_in_thread=False)
    parent.mount(child, prefix="w")
    return parent, "w_add"


def _fastmcp(mounted: bool):
    from fastmcp import FastMCP

    child = FastMCP("child")

    @child.tool
    async def add(a: int, b: int) -> int:
        return a + b

    @child.resource("data://x")
    def x() -> str:
        return "x"

    if not mounted:
        return child, "add"
    parent = FastMCP("parent")
    parent.mount(child, namespace="w")
    return parent, "w_add"


def _run_conduit(server, name: str, batch: int) -> float:
    from conduit.mcp.protocol.dispatcher import Connection

    async def main() -> float:
        connection = Connection(server)
        await connection.handle(INIT)
        started = time.process_time()
        for i in range(batch):
            reply = await connection.handle({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                                             "params": {"name": name, "arguments": {"a": i, "b": 1}}})
            assert reply["result"]["structuredContent"] == {"result": i + 1}, reply
        return time.process_time() - started
    return trio.run(main)


def _run_fastmcp(server, name: str, batch: int) -> float:
    from fastmcp import Client

    async def main() -> float:
        async with Client(server) as client:
            await client.call_tool(name, {"a": 0, "b": 1})
            started = time.process_time()
            for i in range(batch):
                result = await client.call_tool(name, {"a": i, "b": 1})
                assert result.content[0].text == str(i + 1)
            return time.process_time() - started
    return anyio.run(main)


def cpu_us_per_call(kind: str, batch: int = BATCH) -> float:
    family, placement = kind.split("-")
    server, name = (_conduit if family == "conduit" else _fastmcp)(placement == "mounted")
    run = _run_conduit if family == "conduit" else _run_fastmcp
    return run(server, name, batch) / batch * 1e6


class ComposeToolsCall:
    params = KINDS
    param_names = ["kind"]

    def setup(self, kind: str) -> None:
        family, placement = kind.split("-")
        self.server, self.name = (_conduit if family == "conduit" else _fastmcp)(placement == "mounted")
        self.run = _run_conduit if family == "conduit" else _run_fastmcp

    def time_batch_of_200(self, kind: str) -> None:
        self.run(self.server, self.name, BATCH)

    def track_cpu_us_per_call(self, kind: str) -> float:
        return self.run(self.server, self.name, BATCH) / BATCH * 1e6
    track_cpu_us_per_call.unit = "µs"


def main(rounds: int = 15) -> None:
    load_before = os.getloadavg()[0]
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        cpu_us_per_call(kind, 20)  # warm: imports, compiled kernels, first-call caches
    for _ in range(rounds):
        for kind in KINDS:  # alternating rounds: every kind sees the same conditions
            samples[kind].append(cpu_us_per_call(kind))
    load_after = os.getloadavg()[0]
    print(f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after; "
          f"{rounds} rounds of {BATCH} calls, median of rounds")
    median = {kind: statistics.median(values) for kind, values in samples.items()}
    spread = {kind: (min(values), max(values)) for kind, values in samples.items()}
    print("| | direct | mounted | mount adds |")
    print("|---|---|---|---|")
    for family in ("conduit", "fastmcp"):
        local, mounted = median[f"{family}-local"], median[f"{family}-mounted"]
        print(f"| {family} CPU µs per call | {local:.1f} | {mounted:.1f} | {mounted - local:+.1f} |")
    for kind in KINDS:
        print(f"  {kind}: rounds from {spread[kind][0]:.1f} to {spread[kind][1]:.1f} µs")


if __name__ == "__main__":
    main()
