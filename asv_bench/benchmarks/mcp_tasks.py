"""What a task costs beside a plain call: the sans-IO dispatcher, in-process, same run.

Each timing is one batch of 200 ``tools/call`` requests through ``Connection.handle``
in one trio run (2026-07-28 envelope, no transport): ``plain`` calls a sync-only tool;
``task`` calls a task tool (CreateTaskResult, then ``tasks/get`` until completed, so the
task's own run is included); ``param_headers`` is the plain call with one
``Mcp-Param-*`` header checked. The peer of a task is the plain call it replaces.
"""

from __future__ import annotations

import trio

from conduit.mcp import MCPServer
from conduit.mcp.protocol.eras import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.tasks.records import TASKS_EXTENSION

BATCH = 200
CAPS = {"extensions": {TASKS_EXTENSION: {}}}


def _server() -> MCPServer:
    mcp = MCPServer("bench", sync_in_thread=False, max_tasks=BATCH, max_tasks_per_client=BATCH)

    @mcp.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @mcp.tool(task=True)
    async def add_task(a: int, b: int) -> int:
        return a + b

    schema = {"type": "object", "required": ["region"],
              "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}

    @mcp.tool(input_schema=schema)
    def routed(region: str) -> str:
        return region

    return mcp


def _message(request_id: int, method: str, params: dict) -> dict:
    params = {**params, "_meta": {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: CAPS}}
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


class _Headers(dict):
    """The case-insensitive mapping a transport hands the dispatcher (keys already lower-case)."""


class TasksDispatch:
    params = ["plain", "task", "param_headers"]
    param_names = ["kind"]

    def setup(self, kind: str) -> None:
        self.server = _server()

    def time_batch_of_200(self, kind: str) -> None:
        trio.run(self._batch, kind)

    async def _batch(self, kind: str) -> None:
        server = self.server
        for i in range(BATCH):
            connection = Connection(server, can_request=False)
            if kind == "plain":
                await connection.handle(_message(i, "tools/call", {"name": "add", "arguments": {"a": i, "b": 1}}))
            elif kind == "param_headers":
                headers = _Headers({"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
                                    "mcp-name": "routed", "mcp-param-region": "eu-west-1"})
                await connection.handle(_message(i, "tools/call", {"name": "routed",
                                                                   "arguments": {"region": "eu-west-1"}}),
                                        headers=headers)
            else:
                created = await connection.handle(_message(i, "tools/call", {"name": "add_task",
                                                                             "arguments": {"a": i, "b": 1}}))
                task_id = created["result"]["taskId"]
                while True:
                    got = await connection.handle(_message(i, "tasks/get", {"taskId": task_id}))
                    if got["result"]["status"] == "completed":
                        break
                    await trio.sleep(0)
                server.tasks.table.delete(task_id)  # keep the table's size constant across repeats
