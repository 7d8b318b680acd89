"""``Client``: talk to any MCP server, over stdio, Streamable HTTP or the old HTTP+SSE.

The session owns the protocol; a transport (:mod:`.stdio`, :mod:`.streamable_http`) only
moves messages. On entry it negotiates the era: with ``protocol="auto"`` it probes
``server/discover`` (2026-07-28) and falls back to the ``initialize`` handshake when the
server answers anything but a modern discover result. Server requests for client input
(sampling, elicitation, roots) reach the callbacks the same way in both eras: as JSON-RPC
requests in the handshake era, as an ``input_required`` result the client answers and
retries in 2026-07-28. Cancelling the awaiting task (or a timeout) cancels the request on
the server. Written on anyio, so it runs under trio and asyncio alike.
"""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import anyio.abc

from conduit.mcp.client.base import ClientTransport
from conduit.mcp.client.errors import (
    ClientError, InputRoundsExceeded, RequestTimeout, TransportError, error_from_wire,
)
from conduit.mcp.protocol.eras import (
    HANDSHAKE_VERSIONS, LATEST_HANDSHAKE, LATEST_MODERN, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL,
    META_PROTOCOL_VERSION, META_SERVER_INFO, MODERN_VERSIONS, NAME_PARAM,
)
from conduit.mcp.protocol.jsonrpc import (
    InternalError, MCPError, MethodNotFound, error_message, is_id, notification_message, request_message,
    result_message,
)
from conduit.mcp.transports.params import header_params

__all__ = ["Client"]

log = logging.getLogger("conduit.mcp.client")
Callback = Callable[..., Any]
_MAX_PAGES = 1000  # a server whose cursors never end cannot keep a list_* call going forever


async def _maybe_await(value: Any) -> Any:
    return await value if isinstance(value, Awaitable) else value


class _Waiter:
    __slots__ = ("event", "response", "error")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.response: dict[str, Any] | None = None
        self.error: BaseException | None = None


def _header_value(value: str) -> str:
    """A header carries visible ASCII as is; anything else base64-wrapped (SEP-2243)."""
    if value.isascii() and value.isprintable() and value == value.strip():
        return value
    return "=?base64?" + base64.b64encode(value.encode()).decode() + "?="


def _header_argument(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _header_value(str(value))


class Client:
    """An MCP client: ``async with Client(target) as client: await client.call_tool(...)``.

    ``target`` is a URL (Streamable HTTP; ``transport="sse"`` for the 2024-11-05 HTTP+SSE
    endpoint), a command (a string or argv list, spawned over stdio), or a
    :class:`~conduit.mcp.client.base.ClientTransport`. ``protocol`` is ``"auto"``, a
    2026-07-28-era version, or a handshake-era version such as ``"2025-11-25"``. ``auth``
    is an OAuth bearer token or a function returning one (asked again after a 401).
    Callbacks may be sync or async: ``sampling(params) -> CreateMessageResult dict``,
    ``elicitation(params) -> {action, content}``, ``roots`` a list of root dicts or a
    function returning one, ``on_log(params)``, ``on_notification(method, params)``.
    """

    def __init__(self, target: str | Sequence[str] | ClientTransport, *, protocol: str = "auto",
                 transport: str = "auto", auth: Any = None, headers: dict[str, str] | None = None,
                 sampling: Callback | None = None, elicitation: Callback | None = None,
                 roots: Any = None, on_log: Callback | None = None, on_notification: Callback | None = None,
                 log_level: str | None = None, client_info: dict[str, Any] | None = None,
                 timeout: float | None = 60.0, env: dict[str, str] | None = None, cwd: str | None = None,
                 stderr: Any = None, http_client: Any = None, max_input_rounds: int = 10) -> None:
        if protocol != "auto" and protocol not in MODERN_VERSIONS and protocol not in HANDSHAKE_VERSIONS:
            raise ValueError(f"protocol must be 'auto' or one of {list(MODERN_VERSIONS + HANDSHAKE_VERSIONS)}, "
                             f"not {protocol!r}")
        self.transport = _make_transport(target, transport, auth=auth, headers=headers, env=env, cwd=cwd,
                                         stderr=stderr, http_client=http_client)
        self.requested_protocol = protocol
        self.sampling = sampling
        self.elicitation = elicitation
        self.roots = roots
        self.on_log = on_log
        self.on_notification = on_notification
        self.log_level = log_level
        self.client_info = client_info or {"name": "conduit-mcp-client", "version": "0.1.0"}
        self.timeout = timeout
        self.max_input_rounds = max_input_rounds
        self.modern = False
        self.protocol_version: str | None = None
        self.server_info: dict[str, Any] = {}
        self.server_capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self._ids = itertools.count(1)
        self._pending: dict[Any, _Waiter] = {}
        self._progress: dict[Any, Callback] = {}
        self._tool_headers: dict[str, dict[str, tuple[str, str]]] = {}
        self._lost: BaseException | None = None
        self._task_group: anyio.abc.TaskGroup | None = None

    @property
    def capabilities(self) -> dict[str, Any]:
        """What this client declares: a capability per callback given."""
        caps: dict[str, Any] = {}
        if self.sampling is not None:
            caps["sampling"] = {}
        if self.elicitation is not None:
            caps["elicitation"] = {"form": {}}
        if self.roots is not None:
            caps["roots"] = {"listChanged": False}
        return caps

    # ------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Client:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            await self.transport.start(self._task_group, self)
            await self._negotiate()
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.transport.aclose()
        task_group, self._task_group = self._task_group, None
        assert task_group is not None
        task_group.cancel_scope.cancel()
        # The body's own exception propagates as it is, never wrapped in a group: the
        # background tasks (readers, POSTs) report their failures to requests, not here.
        await task_group.__aexit__(None, None, None)

    async def _negotiate(self) -> None:
        from conduit.mcp.client.streamable_http import LegacySSETransport

        requested = self.requested_protocol
        if requested in MODERN_VERSIONS or (requested == "auto" and not isinstance(self.transport, LegacySSETransport)):
            version = requested if requested in MODERN_VERSIONS else LATEST_MODERN
            try:
                result = await self._send_request("server/discover", {}, modern_version=version)
            except (MCPError, TransportError) as exc:
                if requested != "auto" or (isinstance(exc, TransportError) and not _is_refusal(exc)):
                    raise
            else:
                supported = result.get("supportedVersions")
                if isinstance(supported, list) and version in supported:
                    self.modern, self.protocol_version = True, version
                    caps = result.get("capabilities")
                    self.server_capabilities = caps if isinstance(caps, dict) else {}
                    self.instructions = result.get("instructions")
                    meta = result.get("_meta")
                    info = meta.get(META_SERVER_INFO) if isinstance(meta, dict) else None
                    self.server_info = info if isinstance(info, dict) else {}
                    return
                if requested != "auto":
                    raise ClientError(f"the server does not support protocol {version} (it offers {supported!r})")
        await self._initialize(requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE)

    async def _initialize(self, version: str) -> None:
        result = await self._send_request("initialize", {
            "protocolVersion": version, "capabilities": self.capabilities, "clientInfo": self.client_info})
        agreed = result.get("protocolVersion")
        if agreed not in HANDSHAKE_VERSIONS:
            raise ClientError(f"the server answered initialize with protocol version {agreed!r}, "
                              f"which this client does not speak")
        self.protocol_version = self.transport.protocol_version = agreed
        caps, info = result.get("capabilities"), result.get("serverInfo")
        self.server_capabilities = caps if isinstance(caps, dict) else {}
        self.server_info = info if isinstance(info, dict) else {}
        self.instructions = result.get("instructions")
        await self.transport.send(notification_message("notifications/initialized"))
        self.transport.session_started()
        if self.log_level is not None and "logging" in self.server_capabilities:
            await self.request("logging/setLevel", {"level": self.log_level})

    # ------------------------------------------------------------ requests
    async def request(self, method: str, params: dict[str, Any] | None = None, *,
                      progress: Callback | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Send any request; answers ``input_required`` rounds (2026-07-28) through the callbacks."""
        params = dict(params or {})
        result = await self._send_request(method, params, progress=progress, timeout=timeout)
        rounds = 0
        while self.modern and result.get("resultType") == "input_required":
            rounds += 1
            if rounds > self.max_input_rounds:
                raise InputRoundsExceeded(f"{method}: the server asked for input {rounds} times")
            requests = result.get("inputRequests")
            responses = {}
            for key, wanted in (requests.items() if isinstance(requests, dict) else ()):
                if not isinstance(wanted, dict) or not isinstance(wanted.get("method"), str):
                    raise InternalError(f"{method}: malformed input request {key!r} from the server")
                wanted_params = wanted.get("params")
                responses[key] = await self._serve(wanted["method"],
                                                   wanted_params if isinstance(wanted_params, dict) else {})
            params = {**params, "inputResponses": responses}
            if "requestState" in result:
                params["requestState"] = result["requestState"]
            result = await self._send_request(method, params, progress=progress, timeout=timeout)
        return result

    async def _send_request(self, method: str, params: dict[str, Any], *, progress: Callback | None = None,
                            timeout: float | None = None, modern_version: str | None = None) -> dict[str, Any]:
        if self._lost is not None:
            raise TransportError(f"the connection is closed: {self._lost}")
        request_id = next(self._ids)
        version = modern_version or (self.protocol_version if self.modern else None)
        meta = dict(params.get("_meta") or {})
        if progress is not None:
            meta["progressToken"] = request_id
            self._progress[request_id] = progress
        headers: dict[str, str] = {}
        if version is not None:
            meta.update({META_PROTOCOL_VERSION: version, META_CLIENT_CAPABILITIES: self.capabilities,
                         META_CLIENT_INFO: self.client_info})
            if self.log_level is not None:
                meta[META_LOG_LEVEL] = self.log_level
            headers = self._modern_headers(version, method, params)
        if meta:
            params = {**params, "_meta": meta}
        waiter = self._pending[request_id] = _Waiter()
        try:
            await self.transport.send(request_message(request_id, method, params), headers)
            with anyio.fail_after(timeout if timeout is not None else self.timeout):
                await waiter.event.wait()
        except TimeoutError:
            await self._cancel(request_id, "timed out")
            raise RequestTimeout(f"{method} got no answer within "
                                 f"{timeout if timeout is not None else self.timeout} s") from None
        except anyio.get_cancelled_exc_class():
            await self._cancel(request_id, "cancelled by the client")
            raise
        finally:
            self._pending.pop(request_id, None)
            self._progress.pop(request_id, None)
        if waiter.error is not None:
            raise waiter.error
        response = waiter.response or {}
        if "error" in response:
            raise error_from_wire(response["error"])
        result = response.get("result")
        if not isinstance(result, dict):
            raise InternalError(f"{method}: the server's result is not an object: {result!r}")
        return result

    def _modern_headers(self, version: str, method: str, params: dict[str, Any]) -> dict[str, str]:
        headers = {"mcp-protocol-version": version, "mcp-method": method}
        name_key = NAME_PARAM.get(method)
        if name_key is not None and isinstance(params.get(name_key), str):
            headers["mcp-name"] = _header_value(params[name_key])
        if method == "tools/call":
            arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
            for prop, (header, _) in self._tool_headers.get(params.get("name"), {}).items():
                if arguments.get(prop) is not None:
                    headers[header] = _header_argument(arguments[prop])
        return headers

    async def _cancel(self, request_id: Any, reason: str) -> None:
        """Tell the server to stop (MCP cancellation utility); never raises."""
        self.transport.cancel(request_id)
        with anyio.CancelScope(shield=True), anyio.move_on_after(2):
            try:
                await self.transport.send(notification_message(
                    "notifications/cancelled", {"requestId": request_id, "reason": reason}))
            except (ClientError, OSError):
                pass

    # ------------------------------------------------------------ incoming (the Sink)
    async def receive(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        method = message.get("method")
        if isinstance(method, str):
            params = message.get("params") if isinstance(message.get("params"), dict) else {}
            if "id" in message:
                if is_id(message["id"]) and self._task_group is not None:
                    self._task_group.start_soon(self._answer, message["id"], method, params)
            else:
                await self._notified(method, params)
            return
        request_id = message.get("id")
        waiter = self._pending.get(request_id) if is_id(request_id) else None
        if waiter is not None and ("result" in message or "error" in message):
            waiter.response = message
            waiter.event.set()

    def request_failed(self, request_id: Any, error: BaseException) -> None:
        waiter = self._pending.get(request_id)
        if waiter is not None:
            waiter.error = error
            waiter.event.set()

    def connection_lost(self, error: BaseException) -> None:
        self._lost = error
        for waiter in list(self._pending.values()):
            waiter.error = error
            waiter.event.set()

    async def _notified(self, method: str, params: dict[str, Any]) -> None:
        try:
            if method == "notifications/progress":
                callback = self._progress.get(params.get("progressToken")) \
                    if is_id(params.get("progressToken")) else None
                if callback is not None:
                    await _maybe_await(callback(params.get("progress"), params.get("total"), params.get("message")))
            elif method == "notifications/message" and self.on_log is not None:
                await _maybe_await(self.on_log(params))
            elif self.on_notification is not None:
                await _maybe_await(self.on_notification(method, params))
        except Exception:  # a callback's bug must not end the reader
            log.exception("MCP client callback for %s failed", method)

    async def _answer(self, request_id: Any, method: str, params: dict[str, Any]) -> None:
        try:
            reply = result_message(request_id, await self._serve(method, params))
        except MCPError as exc:
            reply = error_message(request_id, exc)
        except Exception as exc:  # the callback's bug: the server hears of it, not its traceback
            log.exception("MCP client %s callback failed", method)
            reply = error_message(request_id, InternalError(
                f"the client's {method} callback failed: {type(exc).__name__}"))
        try:
            await self.transport.send(reply)
        except ClientError as exc:
            log.warning("could not answer the server's %s request: %s", method, exc)

    async def _serve(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answer a server request for client input through the matching callback."""
        if method == "ping":
            return {}
        if method == "roots/list" and self.roots is not None:
            roots = self.roots() if callable(self.roots) else self.roots
            return {"roots": list(await _maybe_await(roots))}
        callback = {"sampling/createMessage": self.sampling, "elicitation/create": self.elicitation}.get(method)
        if callback is None:
            raise MethodNotFound(f"this client does not handle {method}")
        # A callback's exception propagates: to the server as an error (``_answer``), or, in a
        # 2026-07-28 input round, to whoever awaits the request.
        result = await _maybe_await(callback(params))
        if not isinstance(result, dict):
            raise InternalError(f"the client's {method} callback returned {type(result).__name__}, not a dict")
        return result

    # ------------------------------------------------------------ the MCP methods
    async def _list(self, method: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: Any = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            result = await self.request(method, {"cursor": cursor} if cursor is not None else {})
            page = result.get(key)
            items.extend(item for item in (page if isinstance(page, list) else ()) if isinstance(item, dict))
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str) or cursor in seen:
                return items
            seen.add(cursor)
        raise ClientError(f"{method}: the server kept paging past {_MAX_PAGES} pages")

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every tool (all pages); their ``x-mcp-header`` arguments are mirrored in later calls."""
        tools = await self._list("tools/list", "tools")
        for tool in tools:
            name, schema = tool.get("name"), tool.get("inputSchema")
            if isinstance(name, str) and isinstance(schema, dict):
                try:
                    self._tool_headers[name] = header_params(name, schema)
                except ValueError:
                    self._tool_headers[name] = {}
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                        progress: Callback | None = None, timeout: float | None = None) -> dict[str, Any]:
        """The ``CallToolResult`` dict; a tool's own failure is ``isError: true``, not an exception."""
        if self.modern and name not in self._tool_headers and self.transport.carries_headers:
            await self.list_tools()  # 2026-07-28 HTTP repeats some arguments in Mcp-Param-* headers
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return await self.request("tools/call", params, progress=progress, timeout=timeout)

    async def list_resources(self) -> list[dict[str, Any]]:
        return await self._list("resources/list", "resources")

    async def list_resource_templates(self) -> list[dict[str, Any]]:
        return await self._list("resources/templates/list", "resourceTemplates")

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return await self.request("resources/read", {"uri": uri})

    async def subscribe_resource(self, uri: str) -> dict[str, Any]:
        return await self.request("resources/subscribe", {"uri": uri})

    async def unsubscribe_resource(self, uri: str) -> dict[str, Any]:
        return await self.request("resources/unsubscribe", {"uri": uri})

    async def list_prompts(self) -> list[dict[str, Any]]:
        return await self._list("prompts/list", "prompts")

    async def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return await self.request("prompts/get", params)

    async def complete(self, ref: dict[str, Any], argument: str, value: str,
                       context: dict[str, str] | None = None) -> dict[str, Any]:
        """``completion/complete``; ``ref`` is ``{"type": "ref/prompt", "name": ...}`` or a ref/resource."""
        params: dict[str, Any] = {"ref": ref, "argument": {"name": argument, "value": value}}
        if context is not None:
            params["context"] = {"arguments": context}
        result = await self.request("completion/complete", params)
        completion = result.get("completion")
        return completion if isinstance(completion, dict) else {}

    async def ping(self) -> None:
        await self.request("ping" if not self.modern else "server/discover")

    async def set_logging_level(self, level: str) -> None:
        """Handshake era: ``logging/setLevel``; 2026-07-28: the level rides on every later request."""
        self.log_level = level
        if not self.modern:
            await self.request("logging/setLevel", {"level": level})


def _is_refusal(exc: TransportError) -> bool:
    """A 4xx without a JSON-RPC body: a server that does not speak 2026-07-28 (not 401/403)."""
    return exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403)


def _make_transport(target: Any, kind: str, **options: Any) -> ClientTransport:
    if isinstance(target, ClientTransport):
        return target
    if kind not in ("auto", "stdio", "http", "sse"):
        raise ValueError(f"transport must be 'auto', 'stdio', 'http' or 'sse', not {kind!r}")
    is_url = isinstance(target, str) and target.startswith(("http://", "https://"))
    http = {k: options[k] for k in ("auth", "headers", "http_client")}
    if kind == "sse" or (kind == "auto" and is_url and target.rstrip("/").endswith("/sse")):
        from conduit.mcp.client.streamable_http import LegacySSETransport
        return LegacySSETransport(target, **http)
    if kind == "http" or (kind == "auto" and is_url):
        from conduit.mcp.client.streamable_http import StreamableHTTPTransport
        return StreamableHTTPTransport(target, **http)
    if options.get("auth") is not None:
        raise ValueError("auth (a bearer token) applies to HTTP servers; a stdio server is trusted as a child process")
    from conduit.mcp.client.stdio import StdioTransport
    return StdioTransport(target, env=options["env"], cwd=options["cwd"], stderr=options["stderr"])
