"""Tasks over Streamable HTTP on the real server, both eras.

2026-07-28: the SDK has no tasks client of its own, but its extension interface does
(``ClientExtension`` + ``ResultClaim`` for ``resultType: "task"``): the claim resolves a
CreateTaskResult by polling ``tasks/get`` (sent with ``Mcp-Name: <taskId>``) until the
task is terminal, so ``client.call_tool`` returns the tool's result. 2025-11-25: raw
httpx, because the SDK validates a tools/call result as CallToolResult in that era.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio
import pytest

mcp_sdk = pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")
import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim  # noqa: E402
from pydantic import ConfigDict, Field  # noqa: E402

from conduit.mcp.tasks.records import TASKS_EXTENSION  # noqa: E402


class CreatedTask(types.Result):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str


class DetailedTask(types.Result):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    task_id: str = Field(alias="taskId")
    status: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class GetTask(types.GetTaskRequest):
    name_param = "taskId"  # SEP-2663 routing header: Mcp-Name carries the task id


class PollingTasks(ClientExtension):
    """A minimal tasks client: resolve CreateTaskResult by polling tasks/get."""

    identifier = TASKS_EXTENSION

    def __init__(self) -> None:
        self.created: list[str] = []

    def claims(self):
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve)]

    async def _resolve(self, created: CreatedTask, ctx: ClaimContext) -> types.CallToolResult:
        self.created.append(created.task_id)
        with anyio.fail_after(20):
            while True:
                request = GetTask(params=types.GetTaskRequestParams(task_id=created.task_id))
                task = await ctx.session.send_request(request, DetailedTask)
                if task.status in ("completed", "failed", "cancelled"):
                    break
                await anyio.sleep(0.05)
        if task.status != "completed":
            raise RuntimeError(f"task ended {task.status}: {task.error}")
        return types.CallToolResult.model_validate(task.result)


@pytest.fixture
def live_everything(everything):
    from conduit import Conduit
    from conduit.testing.client import LiveServer

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp)
    with LiveServer(app) as server:
        yield server.url + "/mcp"


def test_sdk_modern_client_resolves_tasks_through_its_extension_interface(live_everything):
    extension = PollingTasks()

    async def main():
        async with Client(live_everything, mode="2026-07-28", extensions=[extension]) as client:
            result = await client.call_tool("slow_compute", {"seconds": 0.2, "label": "sdk"})
            assert result.content[0].text == "Computed sdk after 0.2 s"
            failed_tool = await client.call_tool("failing_job", {})
            assert failed_tool.is_error and "failed on purpose" in failed_tool.content[0].text
            plain = await client.call_tool("greet", {"name": "SDK"})  # sync tool: no task
            assert plain.content[0].text == "Hello, SDK!"
        assert len(extension.created) == 2

    anyio.run(main)


def test_sdk_modern_client_without_the_extension_gets_plain_results_or_32021(live_everything):
    async def main():
        async with Client(live_everything, mode="2026-07-28") as client:
            result = await client.call_tool("slow_compute", {"seconds": 0, "label": "sync"})
            assert result.content[0].text == "Computed sync after 0.0 s"
            with pytest.raises(mcp_sdk.MCPError) as caught:
                await client.call_tool("failing_job", {})
            assert caught.value.error.code == -32021

    anyio.run(main)


def test_handshake_task_over_http_with_httpx(live_everything, schema_2025):
    """2025-11-25 over Streamable HTTP. Raw httpx: the SDK validates every tools/call result
    as CallToolResult in this era, so it cannot receive the CreateTaskResult it asked for."""
    import httpx
    import orjson

    def rpc(client, method, params, request_id, session=None):
        headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
        if session:
            headers["mcp-session-id"] = session
        response = client.post(live_everything, json={"jsonrpc": "2.0", "id": request_id, "method": method,
                                                      "params": params}, headers=headers)
        if response.headers["content-type"].startswith("text/event-stream"):
            events = [orjson.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
            return response, next(e for e in events if e.get("id") == request_id)
        return response, response.json()

    with httpx.Client(timeout=30) as client:
        response, init = rpc(client, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                    "clientInfo": {"name": "httpx", "version": "1"}}, 1)
        session = response.headers["mcp-session-id"]
        assert init["result"]["capabilities"]["tasks"]["requests"] == {"tools": {"call": {}}}
        _, created = rpc(client, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 0.2, "label": "v1"},
                                                "task": {"ttl": 60000}}, 2, session)
        schema_2025.check("CreateTaskResult", created["result"])
        task_id = created["result"]["task"]["taskId"]
        _, payload = rpc(client, "tasks/result", {"taskId": task_id}, 3, session)
        assert payload["result"]["content"][0]["text"] == "Computed v1 after 0.2 s"
        schema_2025.check("CallToolResult", payload["result"])
        _, got = rpc(client, "tasks/get", {"taskId": task_id}, 4, session)
        schema_2025.check("GetTaskResult", got["result"])
        assert got["result"]["status"] == "completed"
        _, listed = rpc(client, "tasks/list", {}, 5, session)
        assert task_id in [t["taskId"] for t in listed["result"]["tasks"]]
        other, _ = rpc(client, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                              "clientInfo": {"name": "other", "version": "1"}}, 6)
        _, foreign = rpc(client, "tasks/get", {"taskId": task_id}, 7, other.headers["mcp-session-id"])
        assert foreign["error"]["code"] == -32602  # tasks are scoped to the session that made them


def test_sdk_modern_client_runs_tasks_over_stdio():
    import os
    import pathlib
    import sys

    from mcp import StdioServerParameters

    root = pathlib.Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(root / "kernels")]))
    target = StdioServerParameters(command=sys.executable, args=[str(root / "examples" / "mcp" / "everything.py")],
                                   env=env, cwd=str(root))
    extension = PollingTasks()

    async def main():
        async with Client(target, mode="2026-07-28", extensions=[extension]) as client:
            result = await client.call_tool("slow_compute", {"seconds": 0.1, "label": "stdio"})
            assert result.content[0].text == "Computed stdio after 0.1 s"
        assert len(extension.created) == 1

    anyio.run(main)
