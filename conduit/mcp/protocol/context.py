"""The ``Context`` a tool, resource or prompt function may ask for.

A parameter annotated ``Context`` receives one per call. It reports progress, logs to
the client, checks cancellation, and asks the client for input (sampling, elicitation,
roots) where the client declared the capability. The same calls work in both protocol
eras: in the handshake era they are server-to-client JSON-RPC requests; in the 2026-07-28
era they become an ``input_required`` result and the function is run again, from the top,
when the client retries with the answers (so code before an ``await ctx.elicit(...)`` must
be safe to repeat). ``ctx.state`` survives between those rounds, carried in the signed
``requestState``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from conduit.mcp.protocol.eras import LOG_LEVELS
from conduit.mcp.protocol.inputs import InputRequest, InputRequired
from conduit.mcp.protocol.jsonrpc import MissingClientCapability, notification_message

if TYPE_CHECKING:
    from conduit.mcp.protocol.call import Call

__all__ = ["Context", "InputRequest", "InputRequired", "LOG_LEVELS"]

_CAPABILITY_OF = {"sampling/createMessage": "sampling", "elicitation/create": "elicitation",
                  "roots/list": "roots"}


class Context:
    """Per-call access to the client: progress, logs, cancellation, sampling, elicitation, roots."""

    __slots__ = ("_call", "_auto_key")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._auto_key = 0

    # ---------------------------------------------------------------- facts
    @property
    def server(self) -> Any:
        return self._call.connection.server

    @property
    def request_id(self) -> Any:
        return self._call.request_id

    @property
    def protocol_version(self) -> str | None:
        return self._call.protocol_version

    @property
    def client_capabilities(self) -> dict[str, Any]:
        return self._call.client_capabilities

    @property
    def client_info(self) -> dict[str, Any] | None:
        return self._call.client_info

    @property
    def meta(self) -> dict[str, Any]:
        return self._call.meta

    @property
    def state(self) -> dict[str, Any]:
        """JSON-serialisable data kept across input_required rounds (2026-07-28)."""
        return self._call.state

    @property
    def session_id(self) -> str | None:
        return self._call.connection.session_id

    @property
    def connection(self) -> Any:
        """This client's protocol connection: a session's, stdio's, or a stateless request's own."""
        return self._call.connection

    def client_supports(self, capability: str) -> bool:
        return capability in self._call.client_capabilities

    # ---------------------------------------------------------------- progress, logs
    async def report_progress(self, progress: float, total: float | None = None,
                              message: str | None = None) -> None:
        """Send ``notifications/progress`` if the client asked for it (a progress token)."""
        token = self._call.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._call.send(notification_message("notifications/progress", params))

    async def log(self, level: str, data: Any, *, logger: str | None = None) -> None:
        """Send ``notifications/message`` at ``level`` if the client's level lets it through."""
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {list(LOG_LEVELS)}")
        threshold = self._call.log_level
        if threshold is None or LOG_LEVELS[level] < LOG_LEVELS[threshold]:
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self._call.send(notification_message("notifications/message", params))

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification that this request caused (on its SSE stream, or stdout)."""
        await self._call.send(notification_message(method, params or {}))

    async def debug(self, data: Any, **kw: Any) -> None:
        await self.log("debug", data, **kw)

    async def info(self, data: Any, **kw: Any) -> None:
        await self.log("info", data, **kw)

    async def warning(self, data: Any, **kw: Any) -> None:
        await self.log("warning", data, **kw)

    async def error(self, data: Any, **kw: Any) -> None:
        await self.log("error", data, **kw)

    # ---------------------------------------------------------------- cancellation
    @property
    def cancelled(self) -> bool:
        return self._call.cancelled

    def check_cancelled(self) -> None:
        """Raise ``trio.Cancelled``-like exit if the client cancelled this request."""
        if self._call.cancelled:
            raise trio.Cancelled._create()  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- tasks
    @property
    def task_id(self) -> str | None:
        """The id of the task this call runs as, or None for a plain request."""
        task = self._call.task
        return task[1].record.task_id if task is not None else None

    async def begin_task(self) -> bool:
        """Turn this call into a task now (tools registered with ``task_start="explicit"``).

        The client receives the ``CreateTaskResult`` and polls; the rest of the function
        runs as the task. Input gathered before this point came through ordinary request
        rounds (2026-07-28 ``input_required``). Returns True when the call is a task,
        False when the client cannot take one (it then simply continues as a request).
        """
        begin = self._call.begin_task
        if begin is None:
            return self._call.task is not None
        self._call.begin_task = None
        self._call = begin()
        await trio.sleep(0)  # let the request answer with the CreateTaskResult
        return True

    # ---------------------------------------------------------------- client input
    def _key(self, key: str | None, prefix: str) -> str:
        if key is not None:
            return key
        self._auto_key += 1
        return f"{prefix}-{self._auto_key}"

    async def sample(self, messages: str | list[dict[str, Any]], *, max_tokens: int = 256,
                     key: str | None = None, **params: Any) -> dict[str, Any]:
        """Ask the client's LLM for a completion (``sampling/createMessage``); returns its result."""
        name = self._key(key, "sample")
        request = InputRequest.sample(messages, max_tokens=max_tokens, **params)
        return (await self.gather_inputs({name: request}))[name]

    async def elicit(self, message: str, requested_schema: dict[str, Any], *,
                     key: str | None = None) -> dict[str, Any]:
        """Ask the user for structured input (``elicitation/create``); returns {action, content}."""
        name = self._key(key, "elicit")
        return (await self.gather_inputs({name: InputRequest.elicit(message, requested_schema)}))[name]

    async def list_roots(self, *, key: str | None = None) -> list[dict[str, Any]]:
        """Ask the client for its filesystem roots (``roots/list``)."""
        name = self._key(key, "roots")
        result = (await self.gather_inputs({name: InputRequest.roots()}))[name]
        return list(result.get("roots", []))

    async def gather_inputs(self, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        """Ask for several inputs at once; returns {key: client result}.

        Raises :class:`MissingClientCapability` (-32021) when the client did not declare
        the capability one of the requests needs.
        """
        for request in requests.values():
            capability = _CAPABILITY_OF.get(request.method)
            if capability is not None and capability not in self._call.client_capabilities:
                raise MissingClientCapability(capability)
        return await self._call.gather_inputs(requests)

