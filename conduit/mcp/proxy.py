"""``MCPServer.proxy(target)``: serve a remote MCP server through this one.

``MCPServer.proxy`` returns an ordinary ``MCPServer`` whose registries a :class:`Proxy` keeps
as a mirror of a remote
server, reached with :class:`~conduit.mcp.client.Client` (a URL or a command, so a
stdio-only server becomes reachable over Streamable HTTP, behind Conduit's auth, sessions
and limits). It connects before answering its first request (``on_startup``), in a task
that lives as long as the trio run; the mirror follows the remote's ``list_changed`` and
``resources/updated`` notifications. A call is forwarded with its arguments as given (the
remote validates them: its errors come back with their own code and data), its progress
forwarded to the caller, and cancelling it cancels the remote request. Remote log
messages go to the calls in flight at that moment (the protocol does not say which call a
stdio log belongs to). If the remote goes away, the next request reconnects. Sampling and
elicitation requests from the remote are not forwarded: the proxy declares no such
capability, so a remote tool that needs one answers with its own error.
"""

from __future__ import annotations

import contextvars
import hashlib
import inspect
import logging
from typing import Any

import trio

from conduit.mcp.client import Client, ClientError
from conduit.mcp.content import EmbeddedResource, ToolResult
from conduit.mcp.guarded import guarded
from conduit.mcp.protocol.context import Context
from conduit.mcp.protocol.eras import META_SERVER_INFO
from conduit.mcp.protocol.inputs import InputRequest
from conduit.mcp.protocol.jsonrpc import InternalError, MethodNotFound, dumps
from conduit.mcp.uri_template import UriTemplate

__all__ = ["Proxy"]

log = logging.getLogger("conduit.mcp.proxy")
_CALLER: contextvars.ContextVar[Context | None] = contextvars.ContextVar("conduit_mcp_proxy_caller", default=None)


class Proxy:
    """Keeps ``server``'s registries a mirror of the MCP server at ``target`` (URL or command)."""

    def __init__(self, server: Any, target: Any, **client_options: Any) -> None:
        client_options.setdefault("sampling", lambda params: self._ask_caller("sampling/createMessage", params))
        client_options.setdefault("elicitation", lambda params: self._ask_caller("elicitation/create", params))
        Client(target, **client_options)  # a bad target or option fails here, not at the first request
        self.server = server
        self.name = server.name
        self.target = target
        self.client_options = client_options
        self.client: Client | None = None
        self._in_flight: list[Context] = []
        self._resync: trio.MemorySendChannel[str] | None = None
        server.on_startup(self._connect)

    # ------------------------------------------------------------ the connection
    async def _connect(self) -> None:
        if self.client is not None:
            return
        ready = trio.Event()
        failure: list[BaseException] = []

        async def hold() -> None:
            send, receive = trio.open_memory_channel[str](64)
            try:
                async with Client(self.target, on_log=self._remote_log, on_notification=self._remote_event,
                                  log_level="debug", **self.client_options) as client:
                    self.client = client
                    for kind in ("tools", "prompts", "resources"):
                        await self._mirror(kind)
                    self._resync = send
                    ready.set()
                    async for kind in receive:  # the remote's list changes, one re-list at a time
                        await self._mirror(kind)
            except Exception as exc:  # any failure fails this start; the next request tries again
                failure.append(exc)
                log.warning("MCP proxy %s: %s", self.name, exc)
            finally:
                self.client, self._resync = None, None
                self.server.startup_pending = True  # the next request reconnects
                ready.set()

        trio.lowlevel.spawn_system_task(guarded, hold, f"MCP proxy {self.name}")
        await ready.wait()
        if failure:
            raise InternalError(f"the proxied MCP server {self.target!r} is unreachable: {failure[0]}")

    async def _remote(self) -> Client:
        if self.client is None:
            await self.server.ensure_started()
        if self.client is None:
            raise InternalError(f"the proxied MCP server {self.target!r} is unreachable")
        return self.client

    def _remote_event(self, method: str, params: dict[str, Any]) -> None:
        kind = method.removeprefix("notifications/").removesuffix("/list_changed")
        if method.endswith("/list_changed") and kind in ("tools", "prompts", "resources") and self._resync:
            try:
                self._resync.send_nowait(kind)
            except trio.WouldBlock:
                pass  # 64 re-lists already queued: one of them sees this change too
        elif method == "notifications/resources/updated" and isinstance(params.get("uri"), str):
            self.server.notify_resource_updated(params["uri"])

    async def _remote_log(self, params: dict[str, Any]) -> None:
        level = params.get("level") if isinstance(params.get("level"), str) else "info"
        logger = params.get("logger") if isinstance(params.get("logger"), str) else None
        for ctx in list(self._in_flight):
            await ctx.log(level, params.get("data"), logger=logger)

    async def _ask_caller(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Ask the caller of the call in flight for what the remote asked (sampling, elicitation)."""
        ctx = _CALLER.get() or (self._in_flight[-1] if self._in_flight else None)
        if ctx is None:
            raise MethodNotFound(f"{method}: no call is in flight to ask")
        # The same key in every round: the answer of an input_required round finds its question.
        key = "proxy-" + hashlib.sha256(method.encode() + dumps(params)).hexdigest()[:16]
        return (await ctx.gather_inputs({key: InputRequest(method, params)}))[key]

    # ------------------------------------------------------------ the mirror
    async def _mirror(self, kind: str) -> None:
        client = self.client
        assert client is not None
        caps = client.server_capabilities
        if kind == "tools":
            tools = await client.list_tools() if "tools" in caps else []
            self.server.tools.clear()
            for wire in tools:
                self._add_tool(wire)
        elif kind == "prompts":
            prompts = await client.list_prompts() if "prompts" in caps else []
            self.server.prompts.clear()
            for wire in prompts:
                self._add_prompt(wire)
        else:
            has = "resources" in caps
            resources = await client.list_resources() if has else []
            templates = await client.list_resource_templates() if has else []
            self.server.resources.clear()
            self.server.templates.clear()
            for wire in resources:
                self._add_resource(wire, is_template=False)
            for wire in templates:
                self._add_resource(wire, is_template=True)
            if has and caps["resources"].get("subscribe") and not client.modern:
                for wire in resources:
                    await client.subscribe_resource(wire["uri"])
        self.server.notify_list_changed(kind)

    def _add_tool(self, wire: dict[str, Any]) -> None:
        name = wire.get("name")
        schema = wire.get("inputSchema")
        if not isinstance(name, str) or not isinstance(schema, dict):
            log.warning("MCP proxy %s: skipped a malformed remote tool %r", self.name, wire)
            return

        async def forward(ctx: Context, **arguments: Any) -> ToolResult:
            client = await self._remote()
            self._in_flight.append(ctx)
            token = _CALLER.set(ctx)
            try:
                result = await client.call_tool(name, arguments, progress=_progress_to(ctx) if ctx.meta.get(
                    "progressToken") is not None else None)
            except ClientError as exc:
                raise InternalError(f"the proxied MCP server failed: {exc}") from None
            finally:
                _CALLER.reset(token)
                self._in_flight.remove(ctx)
            meta = {k: v for k, v in (result.get("_meta") or {}).items() if k != META_SERVER_INFO}
            return ToolResult(list(result.get("content") or []), result.get("structuredContent"),
                              bool(result.get("isError")), meta or None)

        try:
            tool = self.server.add_tool(forward, name=name, title=wire.get("title"), description=wire.get("description"),
                                 annotations=wire.get("annotations"), input_schema=schema,
                                 output_schema=wire.get("outputSchema"), meta=wire.get("_meta"))
        except (ValueError, TypeError) as exc:
            log.warning("MCP proxy %s: skipped remote tool %r: %s", self.name, name, exc)
            return
        tool.wire = dict(wire)  # advertised exactly as the remote does

    def _add_prompt(self, wire: dict[str, Any]) -> None:
        name = wire.get("name")
        arguments = [a for a in wire.get("arguments") or [] if isinstance(a, dict) and isinstance(a.get("name"), str)]
        if not isinstance(name, str):
            return

        async def forward(**values: str) -> list[dict[str, Any]]:
            client = await self._remote()
            try:
                result = await client.get_prompt(name, values)
            except ClientError as exc:
                raise InternalError(f"the proxied MCP server failed: {exc}") from None
            return list(result.get("messages") or [])

        # The remote's arguments as keyword parameters: add_prompt reads required/known from them.
        forward.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
            inspect.Parameter(a["name"], inspect.Parameter.KEYWORD_ONLY,
                              default=inspect.Parameter.empty if a.get("required") else None)
            for a in arguments if a["name"].isidentifier()])
        try:
            self.server.add_prompt(forward, name=name)
        except (ValueError, TypeError) as exc:
            log.warning("MCP proxy %s: skipped remote prompt %r: %s", self.name, name, exc)
            return
        self.server.prompts[name].wire = dict(wire)
        for argument in arguments:
            self.server.completers[("ref/prompt", name, argument["name"])] = self._completer({"type": "ref/prompt",
                                                                                       "name": name},
                                                                                      argument["name"])

    def _add_resource(self, wire: dict[str, Any], *, is_template: bool) -> None:
        uri = wire.get("uriTemplate" if is_template else "uri")
        if not isinstance(uri, str):
            return
        template = UriTemplate(uri) if is_template else None

        async def read(**variables: str) -> list[EmbeddedResource]:
            client = await self._remote()
            target = template.expand(variables) if template is not None else uri
            try:
                result = await client.read_resource(target)
            except ClientError as exc:
                raise InternalError(f"the proxied MCP server failed: {exc}") from None
            return [EmbeddedResource(c.get("uri", target), c.get("text"), c.get("blob"), c.get("mimeType"))
                    for c in result.get("contents") or [] if isinstance(c, dict)]

        try:
            self.server.add_resource(read, uri, name=wire.get("name"), mime_type=wire.get("mimeType"))
        except ValueError as exc:
            log.warning("MCP proxy %s: skipped remote resource %r: %s", self.name, uri, exc)
            return
        registry = self.server.templates if is_template else self.server.resources
        registry[uri].wire = dict(wire)
        if template is not None:
            for variable in template.variables:
                self.server.completers[("ref/resource", uri, variable)] = self._completer({"type": "ref/resource",
                                                                                    "uri": uri}, variable)

    def _completer(self, ref: dict[str, Any], argument: str) -> Any:
        async def complete(value: str, context: dict[str, str]) -> tuple[list[str], Any, bool]:
            client = await self._remote()
            if "completions" not in client.server_capabilities:
                return [], 0, False
            result = await client.complete(ref, argument, value, context or None)
            return list(result.get("values") or []), result.get("total"), bool(result.get("hasMore"))
        return complete


def _progress_to(ctx: Context) -> Any:
    async def forward(progress: Any, total: Any, message: Any) -> None:
        if isinstance(progress, (int, float)):
            await ctx.report_progress(progress, total if isinstance(total, (int, float)) else None,
                                      message if isinstance(message, str) else None)
    return forward
