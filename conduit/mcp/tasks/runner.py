"""Running tools as tasks, and the ``tasks/*`` methods of both protocol eras.

:class:`TaskManager` (one per server, ``server.tasks``) decides whether a ``tools/call``
becomes a task, runs the tool in a trio system task that outlives the request, moves
the record through its lifecycle (:mod:`conduit.mcp.tasks.records`) and answers ``tasks/get``,
``tasks/update``, ``tasks/cancel`` (2026-07-28 extension) and ``tasks/get``,
``tasks/result``, ``tasks/list``, ``tasks/cancel`` (2025-11-25).

Who decides: in 2025-11-25 the client asks (``params.task``); in 2026-07-28 the server
does, for clients that declared the ``io.modelcontextprotocol/tasks`` extension in the
request's ``clientCapabilities``. A tool declared ``task="required"`` answers -32601
(2025-11-25) or -32021 (2026-07-28) to a client that cannot take a task.

When a task needs client input (``ctx.elicit`` and friends) it parks in
``input_required``: in 2026-07-28 its ``inputRequests`` appear on ``tasks/get`` and the
client answers with ``tasks/update``; in 2025-11-25 the server sends the requests to the
client (on a waiting ``tasks/result`` stream, else the session's standalone stream).

Scope: a task is visible only to its owner — the authenticated principal, else the
handshake-era session; unauthenticated 2026-07-28 requests share one anonymous scope in
which the unguessable task id is the capability.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from conduit.mcp.auth import principal_identity
from conduit.mcp.protocol.inputs import InputRequest, InputRequired
from conduit.mcp.protocol.jsonrpc import (
    INTERNAL_ERROR, InternalError, InvalidParams, InvalidRequest, MCPError, MethodNotFound, MISSING_CLIENT_CAPABILITY,
    notification_message,
)
from conduit.mcp.protocol.paging import page
from conduit.mcp.tasks.records import (
    CANCELLED, COMPLETED, FAILED, INPUT_REQUIRED, RELATED_TASK_META, TASKS_EXTENSION, WORKING, TaskRecord, TaskTable,
)

if TYPE_CHECKING:
    from conduit.mcp.protocol.call import Call

__all__ = ["TaskManager", "TASK_SUPPORT", "MODERN_TASK_METHODS", "HANDSHAKE_TASK_METHODS"]

log = logging.getLogger("conduit.mcp.tasks.records")

# Tool declaration -> the 2025-11-25 ``execution.taskSupport`` value.
TASK_SUPPORT = {False: "forbidden", None: "forbidden", True: "optional", "optional": "optional",
                "required": "required", "forbidden": "forbidden"}

Invoke = Callable[["Call"], Awaitable[dict[str, Any]]]


def _required_extension_error(message: str) -> MCPError:
    return MCPError(message, {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
                    code=MISSING_CLIENT_CAPABILITY)


def _modern_opted_in(call: Call) -> bool:
    extensions = call.client_capabilities.get("extensions")
    return isinstance(extensions, dict) and TASKS_EXTENSION in extensions


def _owner(call: Call) -> str | None:
    """Whose task this is: the caller a transport's gate named, else the verified token, else the session."""
    if call.connection.owner is not None:
        return call.connection.owner
    principal = call.principal
    if principal is not None:
        return "principal:" + principal_identity(principal)
    if not call.modern and call.connection.session_id is not None:
        return "session:" + call.connection.session_id
    return None


class _Live:
    """The in-process half of a task: its cancel scope, input waits and waiters."""

    __slots__ = ("record", "connection", "modern", "scope", "answers", "input_changed", "done", "result_sends")

    def __init__(self, record: TaskRecord, call: Call) -> None:
        self.record = record
        self.connection = call.connection
        self.modern = call.modern
        self.scope: trio.CancelScope | None = None
        self.answers: dict[str, dict[str, Any]] = {}
        self.input_changed = trio.Event()
        self.done = trio.Event()
        self.result_sends: list[Callable[[dict[str, Any]], Awaitable[None]]] = []


class _Run:
    """One task-capable tools/call: runs in a system task; becomes a task on ``begin``."""

    __slots__ = ("manager", "call", "invoke", "live", "changed", "outcome", "scope")

    def __init__(self, manager: TaskManager, call: Call, invoke: Invoke) -> None:
        self.manager = manager
        self.call = call
        self.invoke = invoke
        self.live: _Live | None = None
        self.changed = trio.Event()
        self.outcome: tuple[str, Any] | None = None
        self.scope: trio.CancelScope | None = None


class TaskManager:
    """Creates, runs, reports and expires the tasks of one :class:`~conduit.mcp.server.MCPServer`."""

    def __init__(self, *, max_tasks: int = 1000, max_per_owner: int = 100, ttl_ms: int = 3_600_000,
                 max_ttl_ms: int = 86_400_000, poll_interval_ms: int = 500) -> None:
        if ttl_ms <= 0 or max_ttl_ms < ttl_ms or poll_interval_ms <= 0:
            raise ValueError("task TTLs and the poll interval must be positive, with max_ttl_ms >= ttl_ms")
        self.table = TaskTable(max_tasks, max_per_owner)
        self.table.on_expire = self._expired
        self.ttl_ms = ttl_ms
        self.max_ttl_ms = max_ttl_ms
        self.poll_interval_ms = poll_interval_ms
        self._live: dict[str, _Live] = {}
        self._watchers: set[Callable[[TaskRecord], None]] = set()

    # ------------------------------------------------------------ watchers (subscriptions/listen)
    def watch(self, fn: Callable[[TaskRecord], None]) -> None:
        self._watchers.add(fn)

    def unwatch(self, fn: Callable[[TaskRecord], None]) -> None:
        self._watchers.discard(fn)

    def _notify(self, live: _Live) -> None:
        record = live.record
        if live.modern:
            for watcher in list(self._watchers):
                watcher(record)
            return
        push = live.connection._push
        if push is not None:  # 2025-11-25 notifications/tasks/status, to the owning session only
            push(notification_message("notifications/tasks/status", record.wire_handshake()))

    def _move(self, live: _Live, status: str, message: str | None = None) -> None:
        live.record.move(status, message)
        self.table.put(live.record)  # written back after every change, so a shared store can hold it
        self._notify(live)
        if live.record.terminal:
            live.done.set()
            self._live.pop(live.record.task_id, None)

    def _expired(self, records: list[TaskRecord]) -> None:
        for record in records:
            live = self._live.pop(record.task_id, None)
            if live is not None and live.scope is not None:
                live.scope.cancel()
                live.done.set()

    # ------------------------------------------------------------ tools/call
    def wants_task(self, call: Call, support: str) -> bool:
        """Whether this call runs as a task; raises for a required-task tool the client cannot take."""
        if not call.modern and support == "forbidden" and isinstance(call.params.get("task"), dict):
            # 2025-11-25: a task-augmented call of a tool without task support is -32601.
            raise MethodNotFound(f"Tool {call.params.get('name')!r} does not support task-augmented calls")
        if support == "forbidden":
            return False
        if call.modern:
            if _modern_opted_in(call):
                return True
            if support == "required":
                raise _required_extension_error(
                    f"Tool {call.params.get('name')!r} runs only as a task; declare the {TASKS_EXTENSION} extension")
            return False
        asked = isinstance(call.params.get("task"), dict)
        if support == "required" and not asked:
            raise MethodNotFound(f"Tool {call.params.get('name')!r} must be invoked as a task (params.task)")
        return asked

    async def call_tool(self, call: Call, invoke: Invoke, *, immediate: bool) -> dict[str, Any]:
        """Run ``invoke`` as a task: at once (``immediate``) or when the tool calls ``ctx.begin_task()``."""
        run = _Run(self, call, invoke)
        if immediate:
            self._begin(run)
        else:
            call.begin_task = lambda: self._begin(run)
        trio.lowlevel.spawn_system_task(self._drive_guarded, run)
        try:
            await run.changed.wait()
        except BaseException:
            if run.live is None and run.scope is not None:
                run.scope.cancel()  # the request was cancelled before the work became a task
            raise
        if run.live is not None:
            return self._created(run.live)
        kind, value = run.outcome or ("error", InternalError("Internal error"))
        if kind == "result":
            return value
        if kind == "cancelled":
            raise trio.Cancelled._create()  # type: ignore[attr-defined]
        raise value

    def _begin(self, run: _Run) -> Call:
        """Turn the run into a task: a record, and a fresh Call whose input and output go through the task."""
        if run.live is not None:
            return run.call
        call = run.call
        ttl_ms = self.ttl_ms
        requested = call.params.get("task")
        if not call.modern and isinstance(requested, dict) and isinstance(requested.get("ttl"), int) \
                and not isinstance(requested.get("ttl"), bool) and requested["ttl"] > 0:
            ttl_ms = min(requested["ttl"], self.max_ttl_ms)
        record = self.table.create(_owner(call), ttl_ms, self.poll_interval_ms)
        live = _Live(record, call)
        live.scope = run.scope
        self._live[record.task_id] = live
        task_call = self._task_call(call, live)
        run.live = live
        run.call = task_call
        run.changed.set()
        return task_call

    def _task_call(self, call: Call, live: _Live) -> Call:
        if live.modern:
            async def send(message: dict[str, Any]) -> None:
                return None  # SEP-2663: no progress or log messages on the task surface
        else:
            async def send(message: dict[str, Any]) -> None:
                params = message.get("params")
                if isinstance(params, dict):
                    meta = params.setdefault("_meta", {})
                    if isinstance(meta, dict):
                        meta[RELATED_TASK_META] = {"taskId": live.record.task_id}
                await self._side_send(live, message)
        task_call = call.with_send(send)
        task_call.task = (self, live)
        return task_call

    def _created(self, live: _Live) -> dict[str, Any]:
        if live.modern:
            return live.record.wire_created_modern()
        return {"task": live.record.wire_handshake()}

    async def _drive_guarded(self, run: _Run) -> None:
        # A system task's exception ends the whole trio run (the server process): log it instead.
        try:
            await self._drive(run)
        except Exception:
            log.exception("MCP task runner failed")

    async def _drive(self, run: _Run) -> None:
        outcome: tuple[str, Any]
        try:
            with trio.CancelScope() as scope:
                run.scope = scope
                if run.live is not None:
                    run.live.scope = scope
                outcome = ("cancelled", None)
                try:
                    outcome = ("result", await run.invoke(run.call))
                except MCPError as exc:
                    outcome = ("error", exc)
                except InputRequired as exc:
                    outcome = ("input", exc)
                except Exception:
                    log.exception("MCP task %s failed", run.live.record.task_id if run.live else "(not begun)")
                    outcome = ("error", InternalError("Internal error"))
        finally:
            live = run.live
            if live is None:
                run.outcome = outcome
                run.changed.set()
            elif not live.record.terminal and live.record.task_id in self._live:
                self._settle(live, outcome)

    def _settle(self, live: _Live, outcome: tuple[str, Any]) -> None:
        kind, value = outcome
        if kind == "result":
            live.record.result = value
            self._move(live, COMPLETED)
        elif kind == "cancelled":
            self._move(live, CANCELLED, "Cancelled")
        else:
            error = value.to_error() if isinstance(value, MCPError) else \
                {"code": INTERNAL_ERROR, "message": f"Task needed client input outside a task round: {value}"}
            live.record.error = error
            self._move(live, FAILED, str(error.get("message")))

    # ------------------------------------------------------------ client input inside a task
    async def gather_inputs(self, live: _Live, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        if not live.modern:
            return await self._ask_handshake(live, requests)
        record = live.record
        for key, request in requests.items():
            record.input_requests[key] = request.to_dict()
        if record.status != INPUT_REQUIRED:
            self._move(live, INPUT_REQUIRED)
        else:
            self.table.put(record)
            self._notify(live)
        while not all(key in live.answers for key in requests):
            live.input_changed = trio.Event()
            await live.input_changed.wait()
        answers = {key: live.answers.pop(key) for key in requests}
        if not record.input_requests and record.status == INPUT_REQUIRED:
            self._move(live, WORKING)
        return answers

    async def _ask_handshake(self, live: _Live, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        self._move(live, INPUT_REQUIRED)
        results: dict[str, dict[str, Any]] = {}
        meta = {RELATED_TASK_META: {"taskId": live.record.task_id}}

        async def send(message: dict[str, Any]) -> None:
            await self._side_send(live, message)

        async def ask(key: str, request: InputRequest) -> None:
            params = {**request.params, "_meta": meta}
            results[key] = await live.connection.request(request.method, params, send)

        async with trio.open_nursery() as nursery:
            for key, request in requests.items():
                nursery.start_soon(ask, key, request)
        if live.record.status == INPUT_REQUIRED:
            self._move(live, WORKING)
        return results

    async def _side_send(self, live: _Live, message: dict[str, Any]) -> None:
        """2025-11-25: a waiting tasks/result stream first, else the session's standalone stream."""
        if live.result_sends:
            await live.result_sends[-1](message)
            return
        push = live.connection._push
        if push is None:
            if "id" not in message:
                return  # a progress or log notification nobody can receive now: dropped, the task goes on
            raise MCPError("This task needs to reach the client, but no stream is open: "
                           "call tasks/result or open the GET stream")
        push(message)

    # ------------------------------------------------------------ lookups
    def _record(self, call: Call) -> TaskRecord:
        task_id = call.params.get("taskId")
        if not isinstance(task_id, str):
            raise InvalidParams(f"{call.method} needs a taskId string")
        record = self.table.get(task_id, _owner(call))
        if record is None:
            raise InvalidParams(f"Unknown task: {task_id}", {"taskId": task_id})
        return record

    def _gate(self, call: Call) -> None:
        if not _modern_opted_in(call):
            raise _required_extension_error(f"{call.method} needs the {TASKS_EXTENSION} extension")

    def forget_connection(self, connection: Any) -> None:
        """A handshake-era session ended: its tasks can no longer be reached, so cancel them."""
        for live in list(self._live.values()):
            if live.connection is connection and not live.modern and not live.record.terminal:
                self._cancel(live.record)

    def _cancel(self, record: TaskRecord) -> None:
        live = self._live.get(record.task_id)
        if live is None:
            return
        if live.scope is not None:
            live.scope.cancel()
        self._move(live, CANCELLED, "Cancelled by the client")

    # ------------------------------------------------------------ 2026-07-28 methods
    async def modern_get(self, call: Call) -> dict[str, Any]:
        self._gate(call)
        return self._record(call).wire_modern()

    async def modern_update(self, call: Call) -> dict[str, Any]:
        self._gate(call)
        record = self._record(call)
        responses = call.params.get("inputResponses")
        if not isinstance(responses, dict) or not all(isinstance(v, dict) for v in responses.values()):
            raise InvalidParams("tasks/update needs inputResponses: an object mapping keys to result objects")
        live = self._live.get(record.task_id)
        if live is not None:
            answered = False
            for key, value in responses.items():
                if key in record.input_requests:  # unknown or already answered keys are ignored
                    del record.input_requests[key]
                    live.answers[key] = value
                    answered = True
            if answered:
                record.move(record.status)
                self.table.put(record)
                live.input_changed.set()
        return {}

    async def modern_cancel(self, call: Call) -> dict[str, Any]:
        self._gate(call)
        record = self._record(call)
        if not record.terminal:  # cancelling a finished task is an idempotent no-op (SEP-2663)
            self._cancel(record)
        return {}

    # ------------------------------------------------------------ 2025-11-25 methods
    async def handshake_get(self, call: Call) -> dict[str, Any]:
        return self._record(call).wire_handshake()

    async def handshake_result(self, call: Call) -> dict[str, Any]:
        record = self._record(call)
        live = self._live.get(record.task_id)
        if live is not None and not record.terminal:
            live.result_sends.append(call.send)
            try:
                await live.done.wait()
            finally:
                live.result_sends.remove(call.send)
        meta = {RELATED_TASK_META: {"taskId": record.task_id}}
        if record.status == COMPLETED and record.result is not None:
            result = dict(record.result)
            result["_meta"] = {**(result.get("_meta") or {}), **meta}
            return result
        if record.status == FAILED and record.error is not None:
            error = record.error
            raise MCPError(str(error.get("message", "Task failed")), error.get("data"),
                           code=int(error.get("code", INTERNAL_ERROR)))
        raise InvalidRequest(f"Task {record.task_id} was {record.status}", {"taskId": record.task_id})

    async def handshake_list(self, call: Call) -> dict[str, Any]:
        return page(call, [r.wire_handshake() for r in self.table.owned_by(_owner(call))], "tasks")

    async def handshake_cancel(self, call: Call) -> dict[str, Any]:
        record = self._record(call)
        if record.terminal:  # 2025-11-25: cancelling a terminal task is -32602
            raise InvalidParams(f"Task {record.task_id} is already {record.status}", {"taskId": record.task_id})
        self._cancel(record)
        return record.wire_handshake()


def _bound(name: str) -> Callable[[Call], Awaitable[dict[str, Any]]]:
    async def handler(call: Call) -> dict[str, Any]:
        return await getattr(call.server.tasks, name)(call)
    handler.__name__ = name
    return handler


MODERN_TASK_METHODS: dict[str, Any] = {
    "tasks/get": (_bound("modern_get"), "tasks"),
    "tasks/update": (_bound("modern_update"), "tasks"),
    "tasks/cancel": (_bound("modern_cancel"), "tasks"),
}
HANDSHAKE_TASK_METHODS: dict[str, Any] = {
    "tasks/get": (_bound("handshake_get"), "tasks"),
    "tasks/result": (_bound("handshake_result"), "tasks"),
    "tasks/list": (_bound("handshake_list"), "tasks"),
    "tasks/cancel": (_bound("handshake_cancel"), "tasks"),
}
