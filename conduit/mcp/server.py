"""``MCPServer``: the decorator API and the registries of tools, resources and prompts.

The server is a passive registry: it compiles each decorated function into a
descriptor (schema, binder, wire dict) once, at registration, and tells attached
connections when a list changes or a resource updates. Protocol handling lives in
:mod:`conduit.mcp.protocol.dispatcher`; transports in ``stdio``/``http``. Registering a second
tool, prompt or resource under an existing name replaces it (and announces the change).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from conduit.mcp.guarded import guarded
from conduit.options import suggest_options
from conduit.mcp.middleware.chain import MiddlewareChain
from conduit.mcp.transports.params import header_params
from conduit.mcp.protocol.request_state import StateSigner
from conduit.mcp.tasks.runner import TASK_SUPPORT, TaskManager
from conduit.mcp.tasks.records import TASKS_EXTENSION
from conduit.mcp.schema import Signature, build_signature, parse_docstring
from conduit.mcp.uri_template import UriTemplate, is_template

__all__ = ["MCPServer", "Tool", "Resource", "ResourceTemplate", "Prompt", "ToolAnnotations"]

Listener = Callable[[str, dict[str, Any]], None]


@dataclasses.dataclass(frozen=True)
class ToolAnnotations:
    """Hints about a tool's behaviour (MCP ``ToolAnnotations``); clients must not trust them."""

    title: str | None = None
    read_only_hint: bool | None = None
    destructive_hint: bool | None = None
    idempotent_hint: bool | None = None
    open_world_hint: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        names = {"title": "title", "read_only_hint": "readOnlyHint", "destructive_hint": "destructiveHint",
                 "idempotent_hint": "idempotentHint", "open_world_hint": "openWorldHint"}
        return {names[k]: v for k, v in dataclasses.asdict(self).items() if v is not None}


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


@dataclasses.dataclass
class Tool:
    name: str
    fn: Callable[..., Any]
    signature: Signature
    is_async: bool
    run_sync_in_thread: bool
    wire: dict[str, Any]
    raw_arguments: bool = False
    task_support: str = "forbidden"  # 2025-11-25 execution.taskSupport: forbidden | optional | required
    task_immediate: bool = True  # False: the call turns into a task when the tool awaits ctx.begin_task()
    param_headers: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)  # x-mcp-header
    scopes: frozenset[str] = frozenset()  # OAuth scopes a caller's token must carry


@dataclasses.dataclass
class Resource:
    uri: str
    fn: Callable[..., Any]
    mime_type: str | None
    is_async: bool
    context_param: str | None
    wire: dict[str, Any]
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)  # 2026-07-28 ttlMs/cacheScope of reads


@dataclasses.dataclass
class ResourceTemplate:
    template: UriTemplate
    fn: Callable[..., Any]
    mime_type: str | None
    is_async: bool
    context_param: str | None
    converters: dict[str, Callable[[str], Any]]
    wire: dict[str, Any]
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Prompt:
    name: str
    fn: Callable[..., Any]
    is_async: bool
    context_param: str | None
    required: tuple[str, ...]
    known: frozenset[str]
    wire: dict[str, Any]


class MCPServer:
    """An MCP server: decorate functions, then run it over stdio or mount it on an app.

    >>> mcp = MCPServer("demo", version="1.0")
    >>> @mcp.tool()
    ... def add(a: int, b: int) -> int:
    ...     "Add two integers."
    ...     return a + b
    """

    def __init__(self, name: str, version: str = "0.1.0", *, instructions: str | None = None,
                 title: str | None = None, website_url: str | None = None, page_size: int = 100,
                 state_secret: bytes | str | None = None, state_ttl_seconds: float = 600.0,
                 cache_ttl_ms: int = 0, cache_scope: str = "private",
                 sync_in_thread: bool = True, max_tasks: int = 1000, max_tasks_per_client: int = 100,
                 task_ttl_ms: int = 3_600_000, task_poll_interval_ms: int = 500, tool_search: bool = False,
                 pinned: list[str] | tuple[str, ...] = ()) -> None:
        self.name = name
        self.version = version
        self.instructions = instructions
        self.title = title
        self.website_url = website_url
        self.page_size = page_size
        _check_cache(f"MCPServer {name!r}", cache_ttl_ms, cache_scope)
        self.cache_ttl_ms = cache_ttl_ms
        self.cache_scope = cache_scope
        self.sync_in_thread = sync_in_thread
        self.state_signer = StateSigner(state_secret, state_ttl_seconds)
        self.tasks = TaskManager(max_tasks=max_tasks, max_per_owner=max_tasks_per_client, ttl_ms=task_ttl_ms,
                                 max_ttl_ms=max(task_ttl_ms, 86_400_000), poll_interval_ms=task_poll_interval_ms)
        self.tools: dict[str, Tool] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: dict[str, ResourceTemplate] = {}
        self.prompts: dict[str, Prompt] = {}
        self.completers: dict[tuple[str, str, str], Callable[..., Any]] = {}
        self._listeners: set[Listener] = set()
        self.mounts: dict[str, Any] = {}  # prefix -> conduit.mcp.compose.Mount
        self.startup_hooks: list[Callable[[], Any]] = []
        self.startup_pending = False  # True while a startup hook has yet to succeed
        self._startup_lock: tuple[Any, Any] | None = None  # (trio token, Lock): one lock per trio run
        self.middleware = MiddlewareChain()
        self.background_tasks: list[Callable[[], Any]] = []
        self._background_started = False
        # tool_search=True: tools/list shows ``pinned`` + search_tools + what searches found (tool_search.py)
        if pinned and not tool_search:
            raise ValueError(f"MCPServer {name!r}: pinned tools need tool_search=True")
        self.tool_search: Any = None
        if tool_search:
            from conduit.mcp.tool_search import install
            self.tool_search = install(self, pinned)

    # ------------------------------------------------------------ info
    @property
    def server_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.title:
            info["title"] = self.title
        if self.website_url:
            info["websiteUrl"] = self.website_url
        return info

    def capabilities(self, *, modern: bool = False) -> dict[str, Any]:
        """What the server offers; task support is a core capability in 2025-11-25 and an extension after."""
        caps: dict[str, Any] = {"logging": {}}
        if self.tools:
            caps["tools"] = {"listChanged": True}
        if self.has_capability("tasks"):
            if modern:
                caps["extensions"] = {TASKS_EXTENSION: {}}
            else:
                caps["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
        if self.resources or self.templates:
            caps["resources"] = {"subscribe": True, "listChanged": True}
        if self.prompts:
            caps["prompts"] = {"listChanged": True}
        if self.prompts or self.templates:
            caps["completions"] = {}
        return caps

    def has_capability(self, name: str) -> bool:
        """``name in self.capabilities()`` without building the dict (checked on every request)."""
        if name == "tools":
            return bool(self.tools)
        if name == "resources":
            return bool(self.resources or self.templates)
        if name == "prompts":
            return bool(self.prompts)
        if name == "completions":
            return bool(self.prompts or self.templates)
        if name == "tasks":
            return any(t.task_support != "forbidden" for t in self.tools.values())
        return name == "logging"

    # ------------------------------------------------------------ middleware
    def add_middleware(self, middleware: Any, *args: Any, **options: Any) -> None:
        """Wrap every request in ``middleware``; the first added is the outermost.

        The same shape as ``Conduit.add_middleware``: a class and its options, an instance,
        or a function ``middleware(next_handler) -> handler`` (:mod:`conduit.mcp.middleware`).
        """
        self.middleware.add(middleware, args, options)

    # ------------------------------------------------------------ listeners
    def add_listener(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def _emit(self, method: str, params: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(method, params)

    def notify_resource_updated(self, uri: str) -> None:
        """Tell subscribed clients that the resource at ``uri`` changed."""
        self._emit("notifications/resources/updated", {"uri": uri})

    def notify_list_changed(self, kind: str) -> None:
        """Tell clients the list of ``kind`` (tools, prompts or resources) changed."""
        self._emit(f"notifications/{kind}/list_changed", {})

    # ------------------------------------------------------------ composition (conduit.mcp.compose)
    def mount(self, server: MCPServer, prefix: str) -> None:
        """Serve ``server``'s tools, prompts, resources and templates here under ``prefix``.

        Tools and prompts become ``<prefix>_<name>``; ``data://x`` becomes ``<prefix>://data/x``.
        A name that collides with one this server has is a ValueError naming both.
        """
        from conduit.mcp.compose import mount_server
        mount_server(self, server, prefix)

    def unmount(self, prefix: str) -> None:
        """Take the server mounted at ``prefix`` away (clients get ``list_changed``)."""
        mount = self.mounts.pop(prefix, None)
        if mount is None:
            raise KeyError(f"no MCP server is mounted at prefix {prefix!r} (mounted: {sorted(self.mounts)})")
        mount.remove()

    # ------------------------------------------------------------ tools
    @suggest_options("@mcp.tool")
    def tool(self, name: str | Callable[..., Any] | None = None, *, title: str | None = None,
             description: str | None = None,
             annotations: ToolAnnotations | dict[str, Any] | None = None,
             input_schema: dict[str, Any] | None = None, output_schema: dict[str, Any] | None = None,
             meta: dict[str, Any] | None = None, read_only: bool | None = None,
             destructive: bool | None = None, idempotent: bool | None = None,
             open_world: bool | None = None, task: bool | str = False, task_start: str = "immediate",
             scopes: list[str] | tuple[str, ...] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a function as a tool; its signature becomes the input schema.

        ``task=True`` (or ``"optional"``) lets a call run as a task, ``"required"`` only as one
        (:mod:`conduit.mcp.tasks.runner`); with ``task_start="explicit"`` the call stays a plain
        request (input rounds included) until the tool awaits ``ctx.begin_task()``. ``scopes``
        are the OAuth scopes a caller's access token must carry (:mod:`conduit.mcp.auth`).

        ``@mcp.tool`` without parentheses registers the function under its own name, as
        ``@mcp.tool()`` does.
        """
        if callable(name) and not isinstance(name, str):  # @mcp.tool, bare: name is the function
            return self.tool()(name)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_tool(fn, name=name, title=title, description=description, annotations=annotations,
                          input_schema=input_schema, output_schema=output_schema, meta=meta,
                          read_only=read_only, destructive=destructive, idempotent=idempotent,
                          open_world=open_world, task=task, task_start=task_start, scopes=scopes)
            return fn
        return decorator

    @suggest_options("mcp.add_tool")
    def add_tool(self, fn: Callable[..., Any], *, name: str | None = None, title: str | None = None,
                 description: str | None = None, annotations: ToolAnnotations | dict[str, Any] | None = None,
                 input_schema: dict[str, Any] | None = None, output_schema: dict[str, Any] | None = None,
                 meta: dict[str, Any] | None = None, read_only: bool | None = None,
                 destructive: bool | None = None, idempotent: bool | None = None,
                 open_world: bool | None = None, task: bool | str = False, task_start: str = "immediate",
                 scopes: list[str] | tuple[str, ...] | None = None) -> Tool:
        from conduit.mcp.protocol.context import Context

        tool_name = name or fn.__name__
        if task not in TASK_SUPPORT:
            raise ValueError(f"tool {tool_name!r}: task must be True, False, 'optional' or 'required', not {task!r}")
        if task_start not in ("immediate", "explicit"):
            raise ValueError(f"tool {tool_name!r}: task_start must be 'immediate' or 'explicit', not {task_start!r}")
        if isinstance(scopes, str) or not all(isinstance(s, str) and s for s in (scopes or ())):
            raise ValueError(f"tool {tool_name!r}: scopes must be a list of non-empty strings")
        signature = build_signature(fn, context_types=(Context,))
        wire: dict[str, Any] = {"name": tool_name}
        if title:
            wire["title"] = title
        desc = description or signature.description
        if desc:
            wire["description"] = desc
        # An explicit schema is advertised verbatim (2020-12 keywords preserved); arguments
        # are then passed through unconverted, so the function takes **kwargs or plain names.
        wire["inputSchema"] = input_schema if input_schema is not None else signature.input_schema
        if output_schema is not None:
            signature.output_schema, signature.wrap_output = output_schema, False
        if signature.output_schema is not None:
            wire["outputSchema"] = signature.output_schema
        if annotations is None and any(v is not None for v in (read_only, destructive, idempotent, open_world)):
            annotations = ToolAnnotations(read_only_hint=read_only, destructive_hint=destructive,
                                          idempotent_hint=idempotent, open_world_hint=open_world)
        if annotations:
            wire["annotations"] = annotations.to_dict() if isinstance(annotations, ToolAnnotations) else annotations
        if meta:
            wire["_meta"] = meta
        task_support = TASK_SUPPORT[task]
        if task_support != "forbidden":
            wire["execution"] = {"taskSupport": task_support}
        tool = Tool(tool_name, fn, signature, _is_async(fn), self.sync_in_thread, wire,
                    raw_arguments=input_schema is not None, task_support=task_support,
                    task_immediate=task_start == "immediate",
                    param_headers=header_params(tool_name, wire["inputSchema"]), scopes=frozenset(scopes or ()))
        self.tools[tool_name] = tool
        self._emit("notifications/tools/list_changed", {})
        return tool

    def remove_tool(self, name: str) -> None:
        if self.tools.pop(name, None) is not None:
            self._emit("notifications/tools/list_changed", {})

    # ------------------------------------------------------------ resources
    @suggest_options("@mcp.resource")
    def resource(self, uri: str, *, name: str | None = None, title: str | None = None,
                 description: str | None = None, mime_type: str | None = None,
                 annotations: dict[str, Any] | None = None, size: int | None = None,
                 meta: dict[str, Any] | None = None, cache_ttl_ms: int | None = None,
                 cache_scope: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a static resource, or a URI template when ``uri`` has ``{params}``.

        ``cache_ttl_ms``/``cache_scope`` override the server's caching hints on this
        resource's 2026-07-28 ``resources/read`` results.
        """
        _check_called(uri, "mcp.resource", "a URI: write @mcp.resource('data://items')")

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_resource(fn, uri, name=name, title=title, description=description, mime_type=mime_type,
                              annotations=annotations, size=size, meta=meta, cache_ttl_ms=cache_ttl_ms,
                              cache_scope=cache_scope)
            return fn
        return decorator

    @suggest_options("mcp.add_resource")
    def add_resource(self, fn: Callable[..., Any], uri: str, *, name: str | None = None,
                     title: str | None = None, description: str | None = None, mime_type: str | None = None,
                     annotations: dict[str, Any] | None = None, size: int | None = None,
                     meta: dict[str, Any] | None = None, cache_ttl_ms: int | None = None,
                     cache_scope: str | None = None) -> None:
        from conduit.mcp.protocol.context import Context

        _check_cache(f"resource {uri!r}", cache_ttl_ms, cache_scope)
        cache = {k: v for k, v in (("ttlMs", cache_ttl_ms), ("cacheScope", cache_scope)) if v is not None}
        summary, _ = parse_docstring(inspect.getdoc(fn))
        wire: dict[str, Any] = {"name": name or fn.__name__}
        for key, value in (("title", title), ("description", description or summary), ("mimeType", mime_type),
                           ("annotations", annotations), ("_meta", meta)):
            if value:
                wire[key] = value
        context_param = _context_param(fn, Context)
        if is_template(uri):
            template = UriTemplate(uri)
            params = set(inspect.signature(fn).parameters) - {context_param}
            if not params <= set(template.variables) and not any(
                    p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(fn).parameters.values()):
                raise ValueError(f"resource template {uri!r}: function parameters {sorted(params)} "
                                 f"must be among the template variables {template.variables}")
            wire["uriTemplate"] = uri
            self.templates[uri] = ResourceTemplate(template, fn, mime_type, _is_async(fn), context_param,
                                                   _converters(fn, template.variables), wire, cache)
        else:
            wire["uri"] = uri
            if size is not None:
                wire["size"] = size
            self.resources[uri] = Resource(uri, fn, mime_type, _is_async(fn), context_param, wire, cache)
        self._emit("notifications/resources/list_changed", {})

    def remove_resource(self, uri: str) -> None:
        if self.resources.pop(uri, None) is not None or self.templates.pop(uri, None) is not None:
            self._emit("notifications/resources/list_changed", {})

    # ------------------------------------------------------------ prompts
    @suggest_options("@mcp.prompt")
    def prompt(self, name: str | Callable[..., Any] | None = None, *, title: str | None = None,
               description: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a prompt; its string parameters become the prompt's arguments.

        ``@mcp.prompt`` without parentheses registers the function under its own name.
        """
        if callable(name) and not isinstance(name, str):  # @mcp.prompt, bare: name is the function
            return self.prompt()(name)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_prompt(fn, name=name, title=title, description=description)
            return fn
        return decorator

    @suggest_options("mcp.add_prompt")
    def add_prompt(self, fn: Callable[..., Any], *, name: str | None = None, title: str | None = None,
                   description: str | None = None) -> None:
        from conduit.mcp.protocol.context import Context

        prompt_name = name or fn.__name__
        summary, docs = parse_docstring(inspect.getdoc(fn))
        context_param = _context_param(fn, Context)
        arguments, required = [], []
        for pname, param in inspect.signature(fn).parameters.items():
            if pname == context_param or param.kind in (inspect.Parameter.VAR_POSITIONAL,
                                                         inspect.Parameter.VAR_KEYWORD):
                continue
            arg: dict[str, Any] = {"name": pname}
            if pname in docs:
                arg["description"] = docs[pname]
            is_required = param.default is inspect.Parameter.empty
            arg["required"] = is_required
            if is_required:
                required.append(pname)
            arguments.append(arg)
        wire: dict[str, Any] = {"name": prompt_name}
        if title:
            wire["title"] = title
        if description or summary:
            wire["description"] = description or summary
        wire["arguments"] = arguments
        self.prompts[prompt_name] = Prompt(prompt_name, fn, _is_async(fn), context_param, tuple(required),
                                           frozenset(a["name"] for a in arguments), wire)
        self._emit("notifications/prompts/list_changed", {})

    def remove_prompt(self, name: str) -> None:
        if self.prompts.pop(name, None) is not None:
            self._emit("notifications/prompts/list_changed", {})

    # ------------------------------------------------------------ completions
    def completion(self, ref: str, argument: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register argument completion for a prompt (by name) or a resource template (by URI).

        The function takes ``(value: str, context: dict[str, str])`` and returns a list of
        strings, optionally ``(values, total, has_more)``; sync or async.
        """
        kind = "ref/resource" if "://" in ref else "ref/prompt"

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.completers[(kind, ref, argument)] = fn
            return fn
        return decorator

    # ------------------------------------------------------------ background work
    def background_task(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Register an async function the transport runs for the server's lifetime."""
        self.background_tasks.append(fn)
        return fn

    def start_background(self, start_soon: Callable[..., Any] | None = None) -> None:
        """Start the background tasks once: in ``start_soon`` (a nursery's), else as trio system tasks."""
        if self._background_started:
            return
        self._background_started = True
        import trio

        for fn in self.background_tasks:
            (start_soon or trio.lowlevel.spawn_system_task)(guarded, fn, f"background task {fn!r}")

    @classmethod
    def proxy(cls, target: Any, *, name: str | None = None, **client_options: Any) -> MCPServer:
        """A server that serves the remote MCP server at ``target`` (a URL or a command).

        Serve it over any transport (``app.mount_mcp``, ``run_stdio``) or ``mount`` it; the
        ``client_options`` go to :class:`~conduit.mcp.client.Client` (``auth``, ``env``, ...).
        """
        from conduit.mcp.proxy import Proxy

        shown = target if isinstance(target, str) else " ".join(map(str, target))
        server = cls(name or f"proxy:{shown}")
        Proxy(server, target, **client_options)
        return server

    @classmethod
    def from_app(cls, app: Any, *, include: list[str] | None = None, tags: list[str] | None = None,
                 headers: Any = None, name: str | None = None, **options: Any) -> MCPServer:
        """A server whose tools are ``app``'s routes, called in-process through the app's lifecycle.

        ``include`` keeps routes by name or path, ``tags`` by OpenAPI tag; ``headers`` (a dict
        or a function of the call's Context) go with every call (:mod:`conduit.mcp.from_app`).
        """
        from conduit.mcp.from_app import tools_from_app

        server = cls(name or app.title, app.version, **options)
        tools_from_app(server, app, include=include, tags=tags, headers=headers)
        return server

    @classmethod
    def from_openapi(cls, spec: Any, base_url: str, *, include: list[str] | None = None,
                     tags: list[str] | None = None, headers: Any = None, name: str | None = None,
                     http_client: Any = None, timeout: float = 30.0, **options: Any) -> MCPServer:
        """A server whose tools are the operations of an OpenAPI 3.x document, called with httpx."""
        from conduit.mcp.from_app import load_spec, tools_from_openapi

        document = load_spec(spec)
        info = document.get("info") if isinstance(document.get("info"), dict) else {}
        server = cls(name or str(info.get("title") or "openapi"), str(info.get("version") or "0.1.0"), **options)
        tools_from_openapi(server, document, base_url, include=include, tags=tags, headers=headers,
                           http_client=http_client, timeout=timeout)
        return server

    def add_model_tool(self, registry: Any, name: str, **options: Any) -> Tool:
        """Serve the model ``name`` of ``registry`` as a tool (``predict_<name>``).

        With ``app=`` (and ``path=`` when the app has several predict routes) the tool shares
        the predict route's dynamic batcher, so HTTP and MCP callers batch together
        (:mod:`conduit.mcp.model_tools`).
        """
        from conduit.mcp.model_tools import add_model_tool
        return add_model_tool(self, registry, name, **options)

    # ------------------------------------------------------------ startup
    def on_startup(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Run async ``fn`` before this server answers its first request (a proxy connects here).

        Every transport goes through the dispatcher, which awaits :meth:`ensure_started`
        while ``startup_pending``; a hook that fails fails that request and is tried again
        on the next.
        """
        self.startup_hooks.append(fn)
        self.startup_pending = True
        return fn

    async def ensure_started(self) -> None:
        if not self.startup_pending:
            return
        import trio

        token = trio.lowlevel.current_trio_token()
        if self._startup_lock is None or self._startup_lock[0] is not token:
            self._startup_lock = (token, trio.Lock())
        async with self._startup_lock[1]:
            if self.startup_pending:
                for fn in list(self.startup_hooks):
                    await fn()
                self.startup_pending = False

    # ------------------------------------------------------------ running
    def run_stdio(self, **options: Any) -> None:
        """Serve this server over stdin/stdout until stdin closes (blocking).

        The transport is :func:`conduit.mcp.transports.stdio.run_stdio`; ``options`` go to it
        (``auth=`` checks the ``MCP_ACCESS_TOKEN`` of the environment).
        """
        from conduit.mcp.transports.stdio import run_stdio
        run_stdio(self, **options)

    async def serve_stdio(self, **options: Any) -> None:
        from conduit.mcp.transports.stdio import serve_stdio
        await serve_stdio(self, **options)


def _check_called(first: Any, decorator: str, needs: str) -> None:
    """Refuse a decorator used bare (``@mcp.resource``): it would register nothing, silently."""
    if callable(first) and not isinstance(first, str):
        raise TypeError(f"@{decorator} needs {needs} (with parentheses), not @{decorator} alone above "
                        f"{getattr(first, '__name__', repr(first))}(), which would register nothing")


def _check_cache(where: str, ttl_ms: int | None, scope: str | None) -> None:
    """SEP-2549 caching hints: ``ttlMs`` a non-negative integer, ``cacheScope`` private or public."""
    if ttl_ms is not None and (isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 0):
        raise ValueError(f"{where}: cache_ttl_ms must be a non-negative integer (milliseconds), not {ttl_ms!r}")
    if scope is not None and scope not in ("private", "public"):
        raise ValueError(f"{where}: cache_scope must be 'private' or 'public', not {scope!r}")


def _context_param(fn: Callable[..., Any], context_type: type) -> str | None:
    try:
        from typing import get_type_hints
        hints = get_type_hints(fn)
    except Exception:
        hints = {}
    for pname in inspect.signature(fn).parameters:
        hint = hints.get(pname)
        members = getattr(hint, "__args__", None) or (hint,)
        if any(isinstance(m, type) and issubclass(m, context_type) for m in members) or \
                (hint is None and pname in ("ctx",)):
            return pname
    return None


def _converters(fn: Callable[..., Any], variables: list[str]) -> dict[str, Callable[[str], Any]]:
    try:
        from typing import get_type_hints
        hints = get_type_hints(fn)
    except Exception:
        hints = {}
    out: dict[str, Callable[[str], Any]] = {}
    for var in variables:
        hint = hints.get(var)
        if hint in (int, float):
            out[var] = hint
    return out

