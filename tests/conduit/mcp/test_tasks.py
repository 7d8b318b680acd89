"""Tasks: the state machine, the bounded table, and the dispatcher in both eras (in-process).

2026-07-28 (``io.modelcontextprotocol/tasks`` extension): server-directed creation, flat
CreateTaskResult, tasks/get with the result or error inlined, tasks/update (partial
answers), idempotent tasks/cancel, -32021 gating, removed v1 methods. 2025-11-25: the
client's ``params.task``, tasks/get, tasks/result (blocking, input over the session's
channel), tasks/list, tasks/cancel, notifications/tasks/status; shapes checked against
the official schema.
"""

from __future__ import annotations

import time

import pytest
import trio

from conduit.mcp import Context, InputRequest, MCPError, MCPServer
from conduit.mcp.protocol.eras import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.tasks.records import (
    CANCELLED, COMPLETED, FAILED, INPUT_REQUIRED, TASKS_EXTENSION, WORKING, TaskRecord, TaskStateError, TaskTable,
    TaskTableFull, check_transition,
)

EXT = {"extensions": {TASKS_EXTENSION: {}}}
ASKING = {"elicitation": {}, **EXT}

# ------------------------------------------------------------------ the state machine, as a table
LEGAL = [(WORKING, INPUT_REQUIRED), (WORKING, COMPLETED), (WORKING, FAILED), (WORKING, CANCELLED),
         (INPUT_REQUIRED, WORKING), (INPUT_REQUIRED, COMPLETED), (INPUT_REQUIRED, FAILED),
         (INPUT_REQUIRED, CANCELLED)]
ILLEGAL = [(s, t) for s in (COMPLETED, FAILED, CANCELLED) for t in (WORKING, INPUT_REQUIRED, COMPLETED, FAILED,
                                                                     CANCELLED) if s != t]


@pytest.mark.parametrize("current,new", LEGAL)
def test_legal_transitions(current, new):
    check_transition(current, new)
    record = TaskRecord("t", None, current, 0.0, 0.0, 1000, 100)
    record.move(new, now=5.0)
    assert (record.status, record.last_updated_at) == (new, 5.0)


@pytest.mark.parametrize("current,new", ILLEGAL)
def test_illegal_transitions_raise_and_leave_the_record_unchanged(current, new):
    record = TaskRecord("t", None, current, 0.0, 1.0, 1000, 100)
    with pytest.raises(TaskStateError, match=f"from {current!r} to {new!r}"):
        record.move(new, now=9.0)
    assert (record.status, record.last_updated_at) == (current, 1.0)


def test_table_bounds_total_and_per_owner():
    table = TaskTable(max_tasks=3, max_per_owner=2)
    table.create("a", 60_000, 100)
    table.create("a", 60_000, 100)
    with pytest.raises(TaskTableFull, match="limit is 2"):
        table.create("a", 60_000, 100)
    table.create("b", 60_000, 100)
    with pytest.raises(TaskTableFull, match="limit of 3"):
        table.create("c", 60_000, 100)
    assert len(table) == 3


def test_table_scopes_records_to_their_owner_and_expires_them_after_ttl():
    table = TaskTable()
    record = table.create("alice", 1000, 100)
    assert table.get(record.task_id, "alice") is record
    assert table.get(record.task_id, "bob") is None
    assert table.get(record.task_id, None) is None
    assert table.sweep(record.created_at + 0.5, force=True) == []  # never before its TTL
    assert table.get(record.task_id, "alice") is record
    assert table.sweep(record.created_at + 1.001, force=True) == [record]
    assert table.get(record.task_id, "alice") is None and len(table) == 0
    assert table.create("alice", None, 100).expires_at() is None  # ttl null: kept until deleted


def test_record_round_trips_through_plain_data():
    record = TaskRecord("t1", "o", INPUT_REQUIRED, 1.0, 2.0, 5000, 100, "waiting", None, None,
                        {"k": {"method": "elicitation/create", "params": {}}})
    assert TaskRecord.from_dict(record.to_dict()) == record
    wire = record.wire_modern()
    assert wire["inputRequests"] == {"k": {"method": "elicitation/create", "params": {}}}
    assert wire["createdAt"].endswith("Z") and "ttl" not in wire and wire["ttlMs"] == 5000


# ------------------------------------------------------------------ a server with task tools
def make_server(**options) -> MCPServer:
    mcp = MCPServer("tasks-test", task_poll_interval_ms=50, **options)

    @mcp.tool(task=True)
    async def slow(seconds: float = 0.0) -> str:
        await trio.sleep(seconds)
        return f"slept {seconds}"

    @mcp.tool()
    def plain() -> str:
        return "plain"

    @mcp.tool(task="required")
    async def broken() -> str:
        raise RuntimeError("tool broke")

    @mcp.tool(task=True)
    async def protocol_failure() -> str:
        raise MCPError("backend unavailable", code=-32603)

    @mcp.tool(task=True)
    async def ask(ctx: Context) -> str:
        answers = await ctx.gather_inputs({"a": InputRequest.elicit("A?", {"type": "object"}),
                                           "b": InputRequest.elicit("B?", {"type": "object"})})
        return f"{answers['a']['content']['v']}+{answers['b']['content']['v']}"

    @mcp.tool(task=True)
    async def chatty(ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        await ctx.info("half way")
        return "talked"

    @mcp.tool(task="required", task_start="explicit")
    async def staged(ctx: Context) -> str:
        first = await ctx.elicit("Name?", {"type": "object"}, key="name")
        became_task = await ctx.begin_task()
        assert ctx.task_id is not None and became_task
        await trio.sleep(0.05)
        return f"hello {first['content']['name']}"

    return mcp


def modern(method, params=None, caps=EXT, request_id=1):
    params = dict(params or {})
    params["_meta"] = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: caps}
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


async def ask_modern(server, method, params=None, caps=EXT):
    return await Connection(server, can_request=False).handle(modern(method, params, caps))


async def wait_status(server, task_id, wanted, caps=EXT):
    with trio.fail_after(10):
        while True:
            got = (await ask_modern(server, "tasks/get", {"taskId": task_id}, caps))["result"]
            if got["status"] in wanted or got["status"] in (COMPLETED, FAILED, CANCELLED):
                return got
            await trio.sleep(0.01)


def run(fn):
    return trio.run(fn)


# ------------------------------------------------------------------ 2026-07-28
def test_modern_task_runs_to_completion_with_its_result_inlined():
    server = make_server()

    async def main():
        created = (await ask_modern(server, "tools/call", {"name": "slow", "arguments": {"seconds": 0.05}}))["result"]
        assert created["resultType"] == "task" and created["status"] == WORKING
        assert not {"task", "result", "error", "inputRequests", "requestState", "ttl", "pollInterval"} & set(created)
        assert isinstance(created["ttlMs"], int) and created["pollIntervalMs"] == 50
        at_once = (await ask_modern(server, "tasks/get", {"taskId": created["taskId"]}))["result"]
        assert at_once["taskId"] == created["taskId"]  # durable before CreateTaskResult went out
        done = await wait_status(server, created["taskId"], {COMPLETED})
        assert done["resultType"] == "complete"
        assert done["result"]["content"][0]["text"] == "slept 0.05"
        assert "io.modelcontextprotocol/related-task" not in (done["result"].get("_meta") or {})
    run(main)


def test_modern_tool_error_completes_with_is_error_and_protocol_error_fails():
    server = make_server()

    async def main():
        created = (await ask_modern(server, "tools/call", {"name": "broken"}))["result"]
        done = await wait_status(server, created["taskId"], {COMPLETED, FAILED})
        assert done["status"] == COMPLETED and done["result"]["isError"] is True
        assert done["result"]["content"][0]["text"] == "tool broke"
        created = (await ask_modern(server, "tools/call", {"name": "protocol_failure"}))["result"]
        failed = await wait_status(server, created["taskId"], {COMPLETED, FAILED})
        assert failed["status"] == FAILED and "result" not in failed
        assert failed["error"] == {"code": -32603, "message": "backend unavailable"}
    run(main)


def test_modern_cancel_is_an_empty_ack_and_idempotent():
    server = make_server()

    async def main():
        created = (await ask_modern(server, "tools/call", {"name": "slow", "arguments": {"seconds": 60}}))["result"]
        ack = (await ask_modern(server, "tasks/cancel", {"taskId": created["taskId"]}))["result"]
        assert ack == {"resultType": "complete", "_meta": ack["_meta"]}
        got = (await ask_modern(server, "tasks/get", {"taskId": created["taskId"]}))["result"]
        assert got["status"] == CANCELLED
        again = (await ask_modern(server, "tasks/cancel", {"taskId": created["taskId"]}))["result"]
        assert again["resultType"] == "complete"
        unknown = await ask_modern(server, "tasks/cancel", {"taskId": "no-such-task"})
        assert unknown["error"]["code"] == -32602
    run(main)


def test_modern_input_required_and_partial_updates():
    server = make_server()

    async def main():
        created = (await ask_modern(server, "tools/call", {"name": "ask"}, ASKING))["result"]
        parked = await wait_status(server, created["taskId"], {INPUT_REQUIRED}, ASKING)
        assert set(parked["inputRequests"]) == {"a", "b"}
        assert parked["inputRequests"]["a"]["method"] == "elicitation/create"
        ack = (await ask_modern(server, "tasks/update", {"taskId": created["taskId"], "inputResponses": {
            "a": {"action": "accept", "content": {"v": 1}}, "stray": {"ignored": True}}}))["result"]
        assert ack["resultType"] == "complete" and "status" not in ack
        partial = (await ask_modern(server, "tasks/get", {"taskId": created["taskId"]}))["result"]
        assert partial["status"] == INPUT_REQUIRED and set(partial["inputRequests"]) == {"b"}
        bad = await ask_modern(server, "tasks/update", {"taskId": created["taskId"], "inputResponses": [1]})
        assert bad["error"]["code"] == -32602
        await ask_modern(server, "tasks/update", {"taskId": created["taskId"], "inputResponses": {
            "b": {"action": "accept", "content": {"v": 2}}}})
        done = await wait_status(server, created["taskId"], {COMPLETED}, ASKING)
        assert done["result"]["content"][0]["text"] == "1+2"
    run(main)


def test_modern_explicit_start_gathers_input_in_rounds_then_becomes_a_task():
    server = make_server()

    async def main():
        first = (await ask_modern(server, "tools/call", {"name": "staged"}, ASKING))["result"]
        assert first["resultType"] == "input_required" and "taskId" not in first
        second = (await ask_modern(server, "tools/call", {
            "name": "staged", "requestState": first["requestState"],
            "inputResponses": {"name": {"action": "accept", "content": {"name": "Ada"}}}}, ASKING))["result"]
        assert second["resultType"] == "task" and "requestState" not in second
        done = await wait_status(server, second["taskId"], {COMPLETED})
        assert done["result"]["content"][0]["text"] == "hello Ada"
    run(main)


def test_modern_gating_without_the_extension():
    server = make_server()

    async def main():
        for method, params in (("tasks/get", {"taskId": "x"}), ("tasks/update", {"taskId": "x", "inputResponses": {}}),
                               ("tasks/cancel", {"taskId": "x"})):
            error = (await ask_modern(server, method, params, caps={}))["error"]
            assert error["code"] == -32021
            assert error["data"] == {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}
        sync = (await ask_modern(server, "tools/call", {"name": "slow"}, caps={}))["result"]
        assert sync["resultType"] == "complete" and sync["content"][0]["text"] == "slept 0.0"
        required = (await ask_modern(server, "tools/call", {"name": "broken"}, caps={}))["error"]
        assert required["code"] == -32021
        legacy_hint = (await ask_modern(server, "tools/call", {"name": "plain", "task": {"ttl": 1000}}))["result"]
        assert legacy_hint["resultType"] == "complete"
        for removed in ("tasks/result", "tasks/list"):
            assert (await ask_modern(server, removed, {"taskId": "x"}))["error"]["code"] == -32601
    run(main)


def test_modern_task_table_full_is_a_clear_error_and_the_server_keeps_serving():
    server = make_server(max_tasks_per_client=1)

    async def main():
        first = (await ask_modern(server, "tools/call", {"name": "slow", "arguments": {"seconds": 60}}))["result"]
        refused = (await ask_modern(server, "tools/call", {"name": "slow", "arguments": {"seconds": 60}}))["error"]
        assert refused["code"] == -32000 and "Too many tasks" in refused["message"]
        assert (await ask_modern(server, "tools/call", {"name": "plain"}))["result"]["content"][0]["text"] == "plain"
        await ask_modern(server, "tasks/cancel", {"taskId": first["taskId"]})
    run(main)


def test_expired_running_task_is_cancelled_and_forgotten():
    server = make_server(task_ttl_ms=1000)

    async def main():
        created = (await ask_modern(server, "tools/call", {"name": "slow", "arguments": {"seconds": 60}}))["result"]
        assert created["ttlMs"] == 1000
        gone = server.tasks.table.sweep(time.time() + 2, force=True)
        assert [r.task_id for r in gone] == [created["taskId"]]
        assert (await ask_modern(server, "tasks/get", {"taskId": created["taskId"]}))["error"]["code"] == -32602
    run(main)


def test_listen_streams_notifications_tasks_for_named_tasks():
    server = make_server()

    async def main():
        created = (await ask_modern(server, "tools/call", {"name": "slow", "arguments": {"seconds": 0.1}}))["result"]
        seen = []

        async def send(message):
            seen.append(message)

        async with trio.open_nursery() as nursery:
            connection = Connection(server, can_request=False)
            nursery.start_soon(connection.handle, modern("subscriptions/listen", {
                "notifications": {"taskIds": [created["taskId"]]}}, request_id=9), send)
            with trio.fail_after(10):
                while not any(m["method"] == "notifications/tasks" for m in seen):
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
        assert seen[0]["params"]["notifications"] == {"taskIds": [created["taskId"]]}
        note = next(m for m in seen if m["method"] == "notifications/tasks")["params"]
        assert note["taskId"] == created["taskId"] and note["status"] == COMPLETED
        assert note["result"]["content"][0]["text"] == "slept 0.1"
    run(main)


# ------------------------------------------------------------------ 2025-11-25
async def handshake_connection(server, pushed):
    connection = Connection(server, push=pushed.append)
    response = await connection.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}}, "clientInfo": {"name": "t", "version": "1"}}})
    return connection, response["result"]


def request(method, params, request_id=1):
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def test_handshake_tasks_follow_the_2025_11_25_schema(schema_2025):
    server = make_server()

    async def main():
        pushed = []
        connection, init = await handshake_connection(server, pushed)
        assert init["capabilities"]["tasks"] == {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
        schema_2025.check("InitializeResult", init)
        tools = (await connection.handle(request("tools/list", {})))["result"]["tools"]
        assert {t["name"]: t.get("execution") for t in tools}["broken"] == {"taskSupport": "required"}
        schema_2025.check("ListToolsResult", {"tools": tools})
        created = (await connection.handle(request("tools/call", {"name": "slow", "arguments": {"seconds": 0.05},
                                                                  "task": {"ttl": 5000}})))["result"]
        schema_2025.check("CreateTaskResult", created)
        task_id = created["task"]["taskId"]
        assert created["task"]["ttl"] == 5000 and created["task"]["status"] == WORKING
        result = (await connection.handle(request("tasks/result", {"taskId": task_id})))["result"]
        assert result["content"][0]["text"] == "slept 0.05"
        assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task_id}
        got = (await connection.handle(request("tasks/get", {"taskId": task_id})))["result"]
        schema_2025.check("GetTaskResult", got)
        assert got["status"] == COMPLETED
        listed = (await connection.handle(request("tasks/list", {})))["result"]
        schema_2025.check("ListTasksResult", listed)
        assert [t["taskId"] for t in listed["tasks"]] == [task_id]
        terminal = (await connection.handle(request("tasks/cancel", {"taskId": task_id})))["error"]
        assert terminal["code"] == -32602
        statuses = [m["params"]["status"] for m in pushed if m["method"] == "notifications/tasks/status"]
        assert statuses == [COMPLETED]
        for message in pushed:
            schema_2025.check("TaskStatusNotification", message)
    run(main)


def test_handshake_required_and_plain_calls():
    server = make_server()

    async def main():
        connection, _ = await handshake_connection(server, [])
        missing = (await connection.handle(request("tools/call", {"name": "broken"})))["error"]
        assert missing["code"] == -32601 and "must be invoked as a task" in missing["message"]
        forbidden = (await connection.handle(request("tools/call", {"name": "plain", "task": {}})))["error"]
        assert forbidden["code"] == -32601 and "does not support task-augmented" in forbidden["message"]
        plain = (await connection.handle(request("tools/call", {"name": "slow"})))["result"]
        assert plain["content"][0]["text"] == "slept 0.0"
        long = (await connection.handle(request("tools/call", {"name": "slow", "arguments": {"seconds": 60},
                                                               "task": {}})))["result"]["task"]
        cancelled = (await connection.handle(request("tasks/cancel", {"taskId": long["taskId"]})))["result"]
        assert cancelled["status"] == CANCELLED
        outcome = (await connection.handle(request("tasks/result", {"taskId": long["taskId"]})))["error"]
        assert "cancelled" in outcome["message"]
        other, _ = await handshake_connection(server, [])
        other.session_id = "someone-else"
        connection.session_id = "me"
        assert (await other.handle(request("tasks/get", {"taskId": long["taskId"]})))["error"]["code"] == -32602
    run(main)


def test_closing_a_session_cancels_its_tasks_and_progress_without_a_channel_is_dropped():
    server = make_server()

    async def main():
        connection, _ = await handshake_connection(server, [])
        connection.session_id = "s1"
        long = (await connection.handle(request("tools/call", {"name": "slow", "arguments": {"seconds": 60},
                                                               "task": {}})))["result"]["task"]
        connection.close()
        record = server.tasks.table.get(long["taskId"], "session:s1")
        assert record is not None and record.status == CANCELLED
        quiet = Connection(server)  # no stream attached: nowhere to send progress or logs
        await quiet.handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "q", "version": "1"}}})
        created = (await quiet.handle(request("tools/call", {"name": "chatty", "task": {},
                                                            "_meta": {"progressToken": "p1"}})))["result"]["task"]
        with trio.fail_after(10):
            while (got := (await quiet.handle(request("tasks/get", {"taskId": created["taskId"]})))["result"]
                   )["status"] == WORKING:
                await trio.sleep(0.01)
        assert got["status"] == COMPLETED
    run(main)


def test_handshake_task_asks_the_client_through_the_session_channel():
    server = make_server()

    async def main():
        pushed = []
        connection, _ = await handshake_connection(server, pushed)
        created = (await connection.handle(request("tools/call", {"name": "ask", "task": {}})))["result"]["task"]
        with trio.fail_after(10):
            while len([m for m in pushed if m.get("method") == "elicitation/create"]) < 2:
                await trio.sleep(0.01)
        asks = [m for m in pushed if m.get("method") == "elicitation/create"]
        assert all(m["params"]["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": created["taskId"]}
                   for m in asks)
        got = (await connection.handle(request("tasks/get", {"taskId": created["taskId"]})))["result"]
        assert got["status"] == INPUT_REQUIRED
        for value, message in enumerate(asks, start=1):
            await connection.handle({"jsonrpc": "2.0", "id": message["id"],
                                     "result": {"action": "accept", "content": {"v": value}}})
        result = (await connection.handle(request("tasks/result", {"taskId": created["taskId"]})))["result"]
        assert sorted(result["content"][0]["text"].split("+")) == ["1", "2"]
    run(main)


def test_registration_refuses_bad_task_declarations():
    mcp = MCPServer("bad")
    with pytest.raises(ValueError, match="task must be"):
        mcp.add_tool(lambda: 1, name="t1", task="sometimes")
    with pytest.raises(ValueError, match="task_start"):
        mcp.add_tool(lambda: 1, name="t2", task=True, task_start="later")
