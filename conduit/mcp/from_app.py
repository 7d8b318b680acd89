"""``MCPServer.from_app`` and ``MCPServer.from_openapi``: HTTP operations served as MCP tools.

``from_app`` reads the app's own OpenAPI document (the type layer's schemas for path, query
and body parameters) and calls a route *in-process through the app's lifecycle*: each tool
call becomes a :class:`~conduit.http.request.Request` handed to ``app.handle``, the entry
every face uses, so the route's validation, middleware, auth, limits and error mapping
apply exactly as over HTTP; a streaming body is read and its background tasks and
after-send callbacks run through :mod:`conduit.lifecycle.sending`, as every face does. ``from_openapi`` does the same for any OpenAPI 3.x document, calling
``base_url`` with httpx. ``headers`` (a dict, or a function of the tool call's
:class:`~conduit.mcp.Context` returning one) are sent with every call: that is where
credentials for the app's or the API's own auth go.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import pathlib
from typing import Any

from conduit.http.datastructures import Headers
from conduit.http.request import Request
from conduit.http.response import StreamingResponse
from conduit.lifecycle import finish_response, response_chunks
from conduit.mcp.openapi_tools import MAX_RESPONSE_BYTES, add_operation_tools, operations
from conduit.mcp.protocol.jsonrpc import InternalError

__all__ = ["tools_from_app", "tools_from_openapi"]


async def _extra_headers(headers: Any, ctx: Any) -> dict[str, str]:
    if headers is None:
        return {}
    value = headers(ctx) if callable(headers) else headers
    if inspect.isawaitable(value):
        value = await value
    return {str(k).lower(): str(v) for k, v in dict(value).items()}


def tools_from_app(server: Any, app: Any, *, include: list[str] | None = None, tags: list[str] | None = None,
                   headers: Any = None) -> None:
    """Add one tool per route of ``app`` (its OpenAPI operations) to ``server``."""
    chosen = operations(app.openapi(), include=include, tags=tags)

    async def send(method: str, path: str, query: str, extra: dict[str, str], body: bytes | None,
                   ctx: Any) -> tuple[int, str, bytes]:
        if not app.started:
            await app.startup()
        pairs = {"host": "mcp.invalid", **({"content-type": "application/json"} if body is not None else {}),
                 **await _extra_headers(headers, ctx), **extra}
        if body is not None:
            pairs["content-length"] = str(len(body))
        chunks = [body] if body else []

        async def receive() -> bytes:
            return chunks.pop() if chunks else b""

        request = Request(method, path.encode(), query.encode(), Headers(
            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs.items()]), None, receive)
        response = await app.handle(request)
        sent = False
        try:
            data = response.body
            if isinstance(response, StreamingResponse):
                parts, size = [], 0
                async with contextlib.aclosing(response_chunks(response)) as chunks:
                    async for chunk in chunks:
                        size += len(chunk)
                        if size > MAX_RESPONSE_BYTES:
                            raise InternalError(f"{method} {path} answered more than {MAX_RESPONSE_BYTES} bytes")
                        parts.append(chunk)
                data = b"".join(parts)
            sent = True
        finally:
            await finish_response(response, sent=sent)
        content_type = next((v for k, v in response.headers if k.lower() == "content-type"), "")
        return response.status_code, content_type, data

    add_operation_tools(server, chosen, send)


def load_spec(spec: Any) -> dict[str, Any]:
    """A document given as a dict, or a path to a JSON or YAML file."""
    if isinstance(spec, dict):
        return spec
    path = pathlib.Path(spec)
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml
        return yaml.safe_load(text)
    return json.loads(text)


def tools_from_openapi(server: Any, spec: Any, base_url: str, *, include: list[str] | None = None,
                       tags: list[str] | None = None, headers: Any = None, http_client: Any = None,
                       timeout: float = 30.0) -> None:
    """Add one tool per operation of an OpenAPI 3.x document; calls go to ``base_url`` with httpx."""
    import httpx

    chosen = operations(load_spec(spec), include=include, tags=tags)
    base = base_url.rstrip("/")

    async def send(method: str, path: str, query: str, extra: dict[str, str], body: bytes | None,
                   ctx: Any) -> tuple[int, str, bytes]:
        url = base + path + (f"?{query}" if query else "")
        request_headers = {**({"content-type": "application/json"} if body is not None else {}),
                           **await _extra_headers(headers, ctx), **extra}
        try:
            if http_client is not None:
                response = await http_client.request(method, url, content=body, headers=request_headers)
            else:
                async with httpx.AsyncClient(timeout=timeout) as client:
                    response = await client.request(method, url, content=body, headers=request_headers)
        except httpx.HTTPError as exc:
            raise InternalError(f"{method} {url} failed: {exc}") from None
        return response.status_code, response.headers.get("content-type", ""), response.content[:MAX_RESPONSE_BYTES]

    add_operation_tools(server, chosen, send)
