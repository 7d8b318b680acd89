"""Task state for MCP's tasks: status transitions, records and the bounded task table.

Two revisions define tasks, with one state machine and two wire shapes:

* 2025-11-25 (core, experimental): the client asks for a task with ``params.task``;
  ``tasks/get``, ``tasks/result``, ``tasks/list``, ``tasks/cancel``; a ``Task`` carries
  ``ttl`` and ``pollInterval`` and ``CreateTaskResult`` wraps it in ``task``.
* 2026-07-28 extension ``io.modelcontextprotocol/tasks`` (SEP-2663): the server decides;
  ``CreateTaskResult`` is flat (``resultType: "task"``), ``tasks/get`` inlines the result
  or error, ``tasks/update`` delivers input, fields are ``ttlMs``/``pollIntervalMs``.

This module is sans-IO: records are plain, JSON-serialisable data (``to_dict`` /
``from_dict``) kept in a :class:`TaskTable`, a small key/value table with a TTL per
entry, so a shared store can back it later. What cannot be serialised (the cancel
scope and input waits of a running task) lives in :mod:`conduit.mcp.tasks.runner`.

Exception hierarchy::

    ValueError
     +-- TaskStateError      an illegal status transition (terminal states never change)
    MCPError
     +-- TaskTableFull       -32000: no room for another task (whole table or this owner)
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import time
from collections.abc import Iterator
from typing import Any

from conduit.mcp.protocol.jsonrpc import MCPError

__all__ = [
    "TASKS_EXTENSION", "RELATED_TASK_META", "WORKING", "INPUT_REQUIRED", "COMPLETED", "FAILED", "CANCELLED",
    "TERMINAL", "TaskStateError", "TaskTableFull", "TaskRecord", "TaskTable", "check_transition",
]

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
RELATED_TASK_META = "io.modelcontextprotocol/related-task"

WORKING = "working"
INPUT_REQUIRED = "input_required"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})

# The whole state machine (tasks spec, "Task Status Lifecycle"): from -> allowed next states.
_TRANSITIONS: dict[str, frozenset[str]] = {
    WORKING: frozenset({INPUT_REQUIRED, COMPLETED, FAILED, CANCELLED}),
    INPUT_REQUIRED: frozenset({WORKING, COMPLETED, FAILED, CANCELLED}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


class TaskStateError(ValueError):
    """A status change the lifecycle does not allow (e.g. anything after ``completed``)."""


class TaskTableFull(MCPError):
    code = -32000


def check_transition(current: str, new: str) -> None:
    """Raise :class:`TaskStateError` unless ``current -> new`` is a legal transition."""
    allowed = _TRANSITIONS.get(current)
    if allowed is None:
        raise TaskStateError(f"unknown task status {current!r}")
    if new not in allowed:
        raise TaskStateError(f"a task cannot go from {current!r} to {new!r}")


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


@dataclasses.dataclass
class TaskRecord:
    """One task: what ``tasks/get`` reports. Times are epoch seconds; ``ttl_ms=None`` is unlimited."""

    task_id: str
    owner: str | None
    status: str
    created_at: float
    last_updated_at: float
    ttl_ms: int | None
    poll_interval_ms: int
    status_message: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    input_requests: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def expires_at(self) -> float | None:
        return None if self.ttl_ms is None else self.created_at + self.ttl_ms / 1000.0

    def move(self, status: str, message: str | None = None, *, now: float | None = None) -> None:
        """Change status (checked against the lifecycle) and stamp ``last_updated_at``."""
        if status != self.status:
            check_transition(self.status, status)
        self.status = status
        if message is not None:
            self.status_message = message
        self.last_updated_at = time.time() if now is None else now

    # ------------------------------------------------------------ wire shapes
    def _wire(self, ttl_key: str, poll_key: str) -> dict[str, Any]:
        out: dict[str, Any] = {"taskId": self.task_id, "status": self.status,
                               "createdAt": _iso(self.created_at), "lastUpdatedAt": _iso(self.last_updated_at),
                               ttl_key: self.ttl_ms, poll_key: self.poll_interval_ms}
        if self.status_message:
            out["statusMessage"] = self.status_message
        return out

    def wire_modern(self) -> dict[str, Any]:
        """SEP-2663 ``DetailedTask``: the result or error inlined once terminal."""
        out = self._wire("ttlMs", "pollIntervalMs")
        if self.status == COMPLETED and self.result is not None:
            out["result"] = self.result
        elif self.status == FAILED and self.error is not None:
            out["error"] = self.error
        elif self.status == INPUT_REQUIRED:
            out["inputRequests"] = dict(self.input_requests)
        return out

    def wire_created_modern(self) -> dict[str, Any]:
        """SEP-2663 flat ``CreateTaskResult`` (never result, error or inputRequests)."""
        out = self._wire("ttlMs", "pollIntervalMs")
        out["resultType"] = "task"
        return out

    def wire_handshake(self) -> dict[str, Any]:
        """2025-11-25 ``Task`` (``ttl``/``pollInterval``, results only through tasks/result)."""
        return self._wire("ttl", "pollInterval")

    # ------------------------------------------------------------ storage
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRecord:
        return cls(**data)


class TaskTable:
    """A bounded key/value table of task records, each kept for its TTL.

    Bounds: ``max_tasks`` in all and ``max_per_owner`` per owner (an authenticated
    principal or a session), so one client cannot fill the table for everyone. A record
    is never dropped before its TTL (SEP-2663: a task stays readable for its ``ttlMs``);
    when the table is full a new task is refused with :class:`TaskTableFull` instead.
    Expired records are swept lazily, at most once a second.

    The interface is a small key/value store with a TTL per entry (``create``, ``get``,
    ``put``, ``delete``, ``owned_by``, ``sweep``); the task runner writes a record back with
    ``put`` after every change, so a store shared between processes can back it.
    """

    def __init__(self, max_tasks: int = 1000, max_per_owner: int = 100) -> None:
        if max_tasks < 1 or max_per_owner < 1:
            raise ValueError("max_tasks and max_per_owner must be at least 1")
        self.max_tasks = max_tasks
        self.max_per_owner = max_per_owner
        self._records: dict[str, TaskRecord] = {}
        self._per_owner: dict[str | None, int] = {}
        self._last_sweep = 0.0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(list(self._records.values()))

    def create(self, owner: str | None, ttl_ms: int | None, poll_interval_ms: int) -> TaskRecord:
        """Make and store a new ``working`` record; raise :class:`TaskTableFull` when there is no room."""
        now = time.time()
        self.sweep(now)
        if len(self._records) >= self.max_tasks or self._per_owner.get(owner, 0) >= self.max_per_owner:
            self.sweep(now, force=True)  # full: drop what has expired before refusing
        if len(self._records) >= self.max_tasks:
            raise TaskTableFull(f"Too many tasks: the server holds its limit of {self.max_tasks}")
        if self._per_owner.get(owner, 0) >= self.max_per_owner:
            raise TaskTableFull(f"Too many tasks for this client: the limit is {self.max_per_owner}")
        record = TaskRecord(secrets.token_urlsafe(16), owner, WORKING, now, now, ttl_ms, poll_interval_ms)
        self.put(record)
        return record

    def put(self, record: TaskRecord) -> None:
        if record.task_id not in self._records:
            self._per_owner[record.owner] = self._per_owner.get(record.owner, 0) + 1
        self._records[record.task_id] = record

    def get(self, task_id: Any, owner: str | None) -> TaskRecord | None:
        """The record, or None when unknown, expired or owned by someone else."""
        self.sweep()
        record = self._records.get(task_id) if isinstance(task_id, str) else None
        if record is None or record.owner != owner:
            return None
        return record

    def owned_by(self, owner: str | None) -> list[TaskRecord]:
        self.sweep()
        return sorted((r for r in self._records.values() if r.owner == owner), key=lambda r: r.created_at)

    def delete(self, task_id: str) -> TaskRecord | None:
        record = self._records.pop(task_id, None)
        if record is not None:
            left = self._per_owner.get(record.owner, 1) - 1
            if left > 0:
                self._per_owner[record.owner] = left
            else:
                self._per_owner.pop(record.owner, None)
        return record

    def expired(self, now: float | None = None) -> list[TaskRecord]:
        now = time.time() if now is None else now
        return [r for r in self._records.values() if (e := r.expires_at()) is not None and e <= now]

    def sweep(self, now: float | None = None, *, force: bool = False) -> list[TaskRecord]:
        """Drop records past their TTL; return them (the runner cancels any still running)."""
        now = time.time() if now is None else now
        if not force and now - self._last_sweep < 1.0:
            return []
        self._last_sweep = now
        gone = self.expired(now)
        for record in gone:
            self.delete(record.task_id)
        if gone and self.on_expire is not None:
            self.on_expire(gone)
        return gone

    on_expire: Any = None  # set by the runner: called with the records a sweep dropped
