"""MCP method handlers, shared by both eras, and the per-era method tables.

Each handler takes a :class:`~conduit.mcp.protocol.call.Call` and returns the result dict.
The tables map a method to ``(handler, capability)``: a method whose capability the
server lacks answers -32601, as if it did not exist (the server did not advertise it).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import trio

from conduit.mcp.arguments import invalid_arguments
from conduit.mcp.content import prompt_messages, resource_contents, tool_result
from conduit.mcp.protocol.context import Context
from conduit.mcp.protocol.eras import LOG_LEVELS, META_SUBSCRIPTION_ID, SUPPORTED_VERSIONS
from conduit.mcp.protocol.inputs import InputRequired
from conduit.mcp.protocol.jsonrpc import RESOURCE_NOT_FOUND, MCPError, InvalidParams, notification_message
from conduit.mcp.protocol.paging import page as _page
from conduit.mcp.schema import SchemaError
from conduit.mcp.auth import check_scopes
from conduit.mcp.tasks.runner import HANDSHAKE_TASK_METHODS, MODERN_TASK_METHODS
from conduit.observability import tracing
from conduit.observability.model_metrics import track_tool

if TYPE_CHECKING:
    from conduit.mcp.protocol.call import Call

__all__ = ["HANDSHAKE_METHODS", "MODERN_METHODS"]


async def _invoke(fn: Any, is_async: bool, in_thread: bool, kwargs: dict[str, Any]) -> Any:
    if is_async:
        return await fn(**kwargs)
    if in_thread:
        return await trio.to_thread.run_sync(functools.partial(fn, **kwargs))
    return fn(**kwargs)


# ---------------------------------------------------------------- lifecycle / utilities
async def ping(call: Call) -> dict[str, Any]:
    return {}


async def discover(call: Call) -> dict[str, Any]:
    server = call.server
    result: dict[str, Any] = {"supportedVersions": list(SUPPORTED_VERSIONS),
                              "capabilities": server.capabilities(modern=True)}
    if server.instructions:
        result["instructions"] = server.instructions
    return result


async def set_level(call: Call) -> dict[str, Any]:
    level = call.params.get("level")
    if not isinstance(level, str) or level not in LOG_LEVELS:
        raise InvalidParams(f"Invalid log level {level!r}; expected one of {list(LOG_LEVELS)}")
    call.connection.log_level = level
    return {}


# ---------------------------------------------------------------- tools
async def tools_list(call: Call) -> dict[str, Any]:
    search = call.server.tool_search  # with tool search: pinned tools, search_tools and what was found
    wires = search.listed(call.connection) if search is not None else [t.wire for t in call.server.tools.values()]
    return _page(call, wires, "tools")


async def tools_call(call: Call) -> dict[str, Any]:
    name = call.params.get("name")
    if not isinstance(name, str):
        raise InvalidParams("tools/call needs a tool name")
    tool = call.server.tools.get(name)
    if tool is None:
        raise InvalidParams(f"Unknown tool: {name}", {"name": name})
    if tool.scopes:
        check_scopes(call.principal, tool.scopes, f"tool {name}")
    arguments = call.params.get("arguments")
    signature = tool.signature
    if tool.raw_arguments:  # explicit inputSchema: arguments pass through as given
        if arguments is not None and not isinstance(arguments, dict):
            raise InvalidParams(f"Invalid arguments for tool {name}: arguments must be an object",
                                [{"loc": ["arguments"], "msg": "arguments must be an object",
                                  "type": "dict_type"}])
        kwargs = dict(arguments or {})
    else:
        try:
            kwargs = signature.bind(arguments)
        except SchemaError as exc:
            raise invalid_arguments(name, exc) from None
    tasks = call.server.tasks
    if tasks.wants_task(call, tool.task_support):
        async def invoke(run_call: Call) -> dict[str, Any]:
            return await _run_tool(run_call, tool, kwargs)
        # 2025-11-25 clients asked for a task and expect CreateTaskResult at once.
        return await tasks.call_tool(call, invoke, immediate=tool.task_immediate or not call.modern)
    return await _run_tool(call, tool, kwargs)


async def _run_tool(call: Call, tool: Any, bound: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(bound)
    signature = tool.signature
    if signature.context_param is not None:
        kwargs[signature.context_param] = Context(call)
    try:
        with track_tool(tool.name), tracing.span(f"tools/call {tool.name}", **{"mcp.tool.name": tool.name}):
            value = await _invoke(tool.fn, tool.is_async, tool.run_sync_in_thread, kwargs)
    except (MCPError, InputRequired):
        raise
    except Exception as exc:
        # A tool's own failure is a result the model can read, not a protocol error (tools spec).
        message = str(exc) or type(exc).__name__
        return {"content": [{"type": "text", "text": message}], "isError": True}
    return tool_result(value, signature.output_schema, signature.wrap_output)


# ---------------------------------------------------------------- resources
async def resources_list(call: Call) -> dict[str, Any]:
    return _page(call, [r.wire for r in call.server.resources.values()], "resources")


async def templates_list(call: Call) -> dict[str, Any]:
    return _page(call, [t.wire for t in call.server.templates.values()], "resourceTemplates")


# A resource function refuses a read by raising one of these (a missing row, a path outside
# its root, a denied file): the client gets the resource error, not "Internal error".
REFUSED_READ = (LookupError, ValueError, PermissionError, FileNotFoundError, NotADirectoryError,
                IsADirectoryError)


async def _read(call: Call, uri: str, fn: Any, is_async: bool, kwargs: dict[str, Any]) -> Any:
    try:
        return await _invoke(fn, is_async, call.server.sync_in_thread, kwargs)
    except MCPError:
        raise
    except REFUSED_READ as exc:
        # SEP-2164: a resource the server will not return is -32602 with the uri in data.
        raise MCPError(f"Resource not available: {exc}" if str(exc) else "Resource not available",
                       {"uri": uri}, code=RESOURCE_NOT_FOUND) from None


async def resources_read(call: Call) -> dict[str, Any]:
    uri = call.params.get("uri")
    if not isinstance(uri, str):
        raise InvalidParams("resources/read needs a uri")
    server = call.server
    resource = server.resources.get(uri)
    if resource is not None:
        kwargs: dict[str, Any] = {}
        if resource.context_param:
            kwargs[resource.context_param] = Context(call)
        value = await _read(call, uri, resource.fn, resource.is_async, kwargs)
        return _read_result(call, resource_contents(uri, value, resource.mime_type), resource.cache)
    for template in server.templates.values():
        variables = template.template.match(uri)
        if variables is None:
            continue
        try:
            kwargs = {k: template.converters.get(k, str)(v) for k, v in variables.items()}
        except ValueError:
            continue
        if template.context_param:
            kwargs[template.context_param] = Context(call)
        value = await _read(call, uri, template.fn, template.is_async, kwargs)
        return _read_result(call, resource_contents(uri, value, template.mime_type), template.cache)
    # SEP-2164: unknown resources are -32602 with the uri in data, never empty contents.
    raise InvalidParams("Resource not found", {"uri": uri})


def _read_result(call: Call, contents: list[dict[str, Any]], cache: dict[str, Any]) -> dict[str, Any]:
    """A read result; in 2026-07-28 a resource's own caching hints beat the server's defaults."""
    result: dict[str, Any] = {"contents": contents}
    if call.modern and cache:
        result.update(cache)
    return result


async def subscribe(call: Call) -> dict[str, Any]:
    uri = call.params.get("uri")
    if not isinstance(uri, str):
        raise InvalidParams("resources/subscribe needs a uri")
    call.connection.subscriptions.add(uri)
    return {}


async def unsubscribe(call: Call) -> dict[str, Any]:
    uri = call.params.get("uri")
    if not isinstance(uri, str):
        raise InvalidParams("resources/unsubscribe needs a uri")
    call.connection.subscriptions.discard(uri)
    return {}


# ---------------------------------------------------------------- prompts
async def prompts_list(call: Call) -> dict[str, Any]:
    return _page(call, [p.wire for p in call.server.prompts.values()], "prompts")


async def prompts_get(call: Call) -> dict[str, Any]:
    name = call.params.get("name")
    prompt = call.server.prompts.get(name) if isinstance(name, str) else None
    if prompt is None:
        raise InvalidParams(f"Unknown prompt: {name}", {"name": name})
    arguments = call.params.get("arguments") or {}
    if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
        raise InvalidParams("prompt arguments must be an object of strings")
    missing = [a for a in prompt.required if a not in arguments]
    if missing:
        raise InvalidParams(f"Missing required arguments for prompt {name}: {', '.join(missing)}")
    unknown = [a for a in arguments if a not in prompt.known]
    if unknown:
        raise InvalidParams(f"Unknown arguments for prompt {name}: {', '.join(unknown)}")
    kwargs: dict[str, Any] = dict(arguments)
    if prompt.context_param:
        kwargs[prompt.context_param] = Context(call)
    value = await _invoke(prompt.fn, prompt.is_async, call.server.sync_in_thread, kwargs)
    result: dict[str, Any] = {"messages": prompt_messages(value)}
    if "description" in prompt.wire:
        result["description"] = prompt.wire["description"]
    return result


# ---------------------------------------------------------------- completion
async def complete(call: Call) -> dict[str, Any]:
    ref = call.params.get("ref")
    argument = call.params.get("argument")
    if not isinstance(ref, dict) or not isinstance(argument, dict) or not isinstance(argument.get("name"), str):
        raise InvalidParams("completion/complete needs ref and argument {name, value}")
    kind = ref.get("type")
    target = ref.get("name") if kind == "ref/prompt" else ref.get("uri")
    if kind not in ("ref/prompt", "ref/resource"):
        raise InvalidParams(f"Unknown ref type: {kind!r}")
    if not isinstance(target, str):
        raise InvalidParams(f"{kind} needs a {'name' if kind == 'ref/prompt' else 'uri'} string")
    server = call.server
    if kind == "ref/prompt" and target not in server.prompts:
        raise InvalidParams(f"Unknown prompt: {target}")
    if kind == "ref/resource" and target not in server.templates and target not in server.resources:
        raise InvalidParams(f"Unknown resource template: {target}")
    completer = server.completers.get((kind, target, argument["name"]))
    values: list[str] = []
    total = None
    has_more = False
    if completer is not None:
        context = call.params.get("context") or {}
        context_args = context.get("arguments") if isinstance(context, dict) else None
        out = completer(str(argument.get("value", "")), dict(context_args) if isinstance(context_args, dict) else {})
        if hasattr(out, "__await__"):
            out = await out
        if isinstance(out, tuple):
            values, total, has_more = list(out[0]), out[1], bool(out[2])
        else:
            values = list(out)
    completion: dict[str, Any] = {"values": [str(v) for v in values[:100]],
                                  "hasMore": has_more or len(values) > 100}
    completion["total"] = total if total is not None else len(values)
    return {"completion": completion}


# ---------------------------------------------------------------- 2026-07-28 subscriptions
_FILTER_EVENTS = {"toolsListChanged": "notifications/tools/list_changed",
                  "promptsListChanged": "notifications/prompts/list_changed",
                  "resourcesListChanged": "notifications/resources/list_changed"}
_FILTER_CAPABILITY = {"toolsListChanged": "tools", "promptsListChanged": "prompts",
                      "resourcesListChanged": "resources"}


async def listen(call: Call) -> dict[str, Any]:
    """``subscriptions/listen``: acknowledge, then stream the notifications the client opted in to."""
    wanted = call.params.get("notifications")
    if not isinstance(wanted, dict):
        raise InvalidParams("subscriptions/listen needs a notifications filter object")
    caps = call.server.capabilities()
    honored: dict[str, Any] = {}
    methods: set[str] = set()
    for key, method in _FILTER_EVENTS.items():
        if wanted.get(key) is True and _FILTER_CAPABILITY[key] in caps:
            honored[key] = True
            methods.add(method)
    uris: set[str] = set()
    if isinstance(wanted.get("resourceSubscriptions"), list) and "resources" in caps:
        uris = {u for u in wanted["resourceSubscriptions"] if isinstance(u, str)}
        honored["resourceSubscriptions"] = sorted(uris)
        methods.add("notifications/resources/updated")
    task_ids: set[str] = set()
    if isinstance(wanted.get("taskIds"), list) and call.server.has_capability("tasks"):
        # SEP-2663: notifications/tasks for the named tasks, each the DetailedTask of tasks/get.
        task_ids = {t for t in wanted["taskIds"] if isinstance(t, str)}
        honored["taskIds"] = sorted(task_ids)
    meta = {META_SUBSCRIPTION_ID: call.request_id}
    send_channel, receive_channel = trio.open_memory_channel[dict[str, Any]](256)
    token = trio.lowlevel.current_trio_token()

    def on_event(method: str, params: dict[str, Any]) -> None:
        if method not in methods or (method.endswith("/updated") and params.get("uri") not in uris):
            return
        message = notification_message(method, {**params, "_meta": meta})

        def put() -> None:
            try:
                send_channel.send_nowait(message)
            except (trio.WouldBlock, trio.ClosedResourceError):
                pass  # a client too slow to drain 256 notifications loses the overflow
        try:
            token.run_sync_soon(put)
        except trio.RunFinishedError:
            pass

    def on_task(record: Any) -> None:
        if record.task_id not in task_ids:
            return
        message = notification_message("notifications/tasks", {**record.wire_modern(), "_meta": meta})
        try:
            send_channel.send_nowait(message)  # task changes happen on the trio loop
        except (trio.WouldBlock, trio.ClosedResourceError):
            pass

    server = call.server
    server.add_listener(on_event)
    if task_ids:
        server.tasks.watch(on_task)
    try:
        await call.send(notification_message("notifications/subscriptions/acknowledged",
                                             {"notifications": honored, "_meta": meta}))
        async with receive_channel:
            async for message in receive_channel:
                await call.send(message)
    finally:
        server.remove_listener(on_event)
        server.tasks.unwatch(on_task)
        send_channel.close()
    return {"_meta": meta}


_COMMON = {
    "tools/list": (tools_list, "tools"),
    "tools/call": (tools_call, "tools"),
    "resources/list": (resources_list, "resources"),
    "resources/templates/list": (templates_list, "resources"),
    "resources/read": (resources_read, "resources"),
    "prompts/list": (prompts_list, "prompts"),
    "prompts/get": (prompts_get, "prompts"),
    "completion/complete": (complete, "completions"),
}
HANDSHAKE_METHODS: dict[str, Any] = {
    **_COMMON,
    "initialize": (None, None),
    "ping": (ping, None),
    "logging/setLevel": (set_level, "logging"),
    "resources/subscribe": (subscribe, "resources"),
    "resources/unsubscribe": (unsubscribe, "resources"),
    **HANDSHAKE_TASK_METHODS,
}
# 2026-07-28 removed initialize, ping, logging/setLevel and resources/(un)subscribe.
MODERN_METHODS: dict[str, Any] = {
    **_COMMON,
    "server/discover": (discover, None),
    "subscriptions/listen": (listen, None),
    **MODERN_TASK_METHODS,
}
