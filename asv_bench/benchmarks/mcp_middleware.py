"""What MCP middleware and tool search cost: the sans-IO dispatcher, in-process, same run.

``MiddlewareDispatch``: one batch of 200 ``tools/call`` requests through
``Connection.handle`` on one handshake-era connection, no transport. The peer is
``none`` (no middleware); beside it ``passthrough`` (one function middleware that only
calls the next handler), ``request_log`` (``RequestLog`` at INFO into a handler that
drops records), ``rate_limit`` (``RateLimit`` per caller and per tool, never reached),
``cache_hit`` (``ResponseCache`` answering every call after the first) and ``all_three``
(request log, rate limit and cache, in that order, the cache missing: a tool that is not
read-only). The middleware's own cost per call is ``(kind - none) / 200``.

``ToolSearch``: ``search_tools``'s ranking on the generated 1,000-tool catalogue
(``tests/data/mcp/tool_catalogue.json``): one BM25 search for a paraphrased query (the
committed query sets, in turn), beside its peer, a ``tools/list`` of the whole catalogue
(what a client without search asks for and puts in the model's context), both with the
JSON encoding of the answer a transport then sends.

``python asv_bench/benchmarks/mcp_middleware.py`` prints the docs table: the process CPU
time per call of each ``MiddlewareDispatch`` kind (``time.process_time``, which a busy
machine disturbs far less than wall time), in alternating rounds (the order reversed
every other round), median of rounds, with the 1-minute load average before and after.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import trio

from conduit.mcp import MCPServer, RateLimit, RequestLog, ResponseCache
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.protocol.jsonrpc import dumps

BATCH = 200
DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "mcp"
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def _passthrough(next_handler):
    async def handler(request):
        return await next_handler(request)
    return handler


def _server(kind: str) -> MCPServer:
    mcp = MCPServer("bench", sync_in_thread=False)

    @mcp.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @mcp.tool(read_only=True)
    def add_read_only(a: int, b: int) -> int:
        return a + b

    logger = logging.getLogger("bench.mcp.requests")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    middleware = {"none": [], "passthrough": [_passthrough], "request_log": [RequestLog(logger)],
                  "rate_limit": [RateLimit(rate=10**9, period=1.0, tool_rate=(10**9, 1.0))],
                  "cache_hit": [ResponseCache()],
                  "all_three": [RequestLog(logger), RateLimit(rate=10**9, period=1.0), ResponseCache()]}[kind]
    for item in middleware:
        mcp.add_middleware(item)
    return mcp


class MiddlewareDispatch:
    params = ["none", "passthrough", "request_log", "rate_limit", "cache_hit", "all_three"]
    param_names = ["kind"]

    def setup(self, kind: str) -> None:
        self.server = _server(kind)
        self.tool = "add_read_only" if kind == "cache_hit" else "add"
        self.connection = trio.run(self._open)

    async def _open(self) -> Connection:
        connection = Connection(self.server, can_request=False)
        await connection.handle(INIT)
        return connection

    def time_batch_of_200(self, kind: str) -> None:
        trio.run(self._batch)

    async def _batch(self) -> None:
        handle, tool = self.connection.handle, self.tool
        for i in range(BATCH):
            await handle({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                          "params": {"name": tool, "arguments": {"a": 1, "b": 2}}})


def catalogue_server(tool_search: bool = True) -> MCPServer:
    """The 1,000 generated tools, behind tool search or listed whole (one page), as the tests build them."""
    mcp = MCPServer("catalogue", tool_search=tool_search, page_size=1000, sync_in_thread=False)
    for tool in json.loads((DATA / "tool_catalogue.json").read_text()):
        mcp.add_tool(lambda **arguments: "ok", name=tool["name"], title=tool["title"],
                     description=tool["description"], input_schema=tool["inputSchema"])
    return mcp


class ToolSearch:
    """``rank_top5``: the ranking alone (the 1 ms target); ``search_tools_call`` and its peer
    ``tools_list_all_1000``: one request each through the dispatcher, in batches of 20."""

    timeout = 300

    def setup(self) -> None:
        self.searching = catalogue_server(tool_search=True)
        self.searching.tool_search.warm()
        self.listing = catalogue_server(tool_search=False)
        queries = [case["query"] for name in ("tool_search_queries.json", "tool_search_queries_v2.json")
                   for case in json.loads((DATA / name).read_text())]
        self.queries = itertools.cycle(queries)
        self.connections = trio.run(self._open)

    async def _open(self) -> tuple[Connection, Connection]:
        out = []
        for server in (self.searching, self.listing):
            connection = Connection(server, can_request=False)
            await connection.handle(INIT)
            out.append(connection)
        return out[0], out[1]

    def time_rank_top5(self) -> None:
        self.searching.tool_search.search(next(self.queries), 5)

    def time_search_tools_call_batch_of_20(self) -> None:
        trio.run(self._batch, 0)

    def time_tools_list_all_1000_batch_of_20(self) -> None:
        trio.run(self._batch, 1)

    async def _batch(self, which: int) -> None:
        connection = self.connections[which]
        for i in range(20):
            if which == 0:
                message = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                           "params": {"name": "search_tools", "arguments": {"query": next(self.queries)}}}
            else:
                message = {"jsonrpc": "2.0", "id": i, "method": "tools/list"}
            dumps(await connection.handle(message))  # what a transport then sends: the encoding counts


def _cpu_us_per_call(bench: MiddlewareDispatch, calls: int) -> float:
    async def batch() -> float:
        handle, tool = bench.connection.handle, bench.tool
        started = time.process_time()
        for i in range(calls):
            await handle({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                          "params": {"name": tool, "arguments": {"a": 1, "b": 2}}})
        return (time.process_time() - started) / calls * 1e6
    return trio.run(batch)


def main(rounds: int = 15, calls: int = 1000) -> None:
    kinds = MiddlewareDispatch.params
    benches = {}
    for kind in kinds:
        benches[kind] = MiddlewareDispatch()
        benches[kind].setup(kind)
        _cpu_us_per_call(benches[kind], 50)  # warm
    load_before = os.getloadavg()[0]
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    for index in range(rounds):
        for kind in (kinds if index % 2 == 0 else kinds[::-1]):
            samples[kind].append(_cpu_us_per_call(benches[kind], calls))
    load_after = os.getloadavg()[0]
    median = {kind: statistics.median(values) for kind, values in samples.items()}
    marked = " (taken at load >= 2)" if max(load_before, load_after) >= 2 else ""
    print(f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after{marked}; "
          f"{rounds} alternating rounds of {calls} calls, median of rounds")
    print("| CPU µs per tools/call | " + " | ".join(kinds) + " | load |")
    print("|---" * (len(kinds) + 2) + "|")
    print("| CPU | " + " | ".join(f"{median[k]:.1f}" for k in kinds) + f" | {load_before:.2f} |")
    print("| added by the middleware | " + " | ".join(
        "" if k == "none" else f"{median[k] - median['none']:+.1f}" for k in kinds) + f" | {load_after:.2f} |")


if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if not p.endswith("benchmarks")]  # its mcp.py would shadow the SDK
    main()
