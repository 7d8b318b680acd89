"""The client side of Streamable HTTP (both eras) and of the 2024-11-05 HTTP+SSE transport.

Streamable HTTP: every message is a POST. A request's answer is JSON, or an SSE stream
whose events carry the related progress, logs and server requests before the response;
each POST runs in its own task so a server request arriving mid-stream can be answered
(by another POST) while the stream is still open. The handshake era keeps the
``Mcp-Session-Id`` the server gave at ``initialize``, opens the GET stream for unrelated
notifications, and ends the session with DELETE. A JSON-RPC error body is delivered even
on a 4xx (2026-07-28 answers envelope errors with 400 and unknown methods with 404).

HTTP+SSE (2024-11-05): a GET stream whose ``endpoint`` event names the URL to POST to;
every answer then arrives on that one stream.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import anyio.abc
import httpx
from httpx_sse import EventSource

from conduit.mcp.client.base import BearerToken, ClientTransport, Sink
from conduit.mcp.client.errors import AuthenticationError, SessionExpired, TransportError
from conduit.mcp.protocol.jsonrpc import MCPError, dumps, is_id, parse

__all__ = ["StreamableHTTPTransport", "LegacySSETransport"]

log = logging.getLogger("conduit.mcp.client")
_ACCEPT = "application/json, text/event-stream"


class _HTTPBase(ClientTransport):
    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, auth: Any = None,
                 http_client: httpx.AsyncClient | None = None, timeout: float = 30.0) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"an MCP server URL must be http:// or https://, not {url!r}")
        self.url = url
        self.headers = dict(headers or {})
        self.token = BearerToken(auth)
        self._own_client = http_client is None
        self.client = http_client or httpx.AsyncClient(timeout=httpx.Timeout(timeout, read=None))
        self.sink: Sink | None = None
        self.task_group: anyio.abc.TaskGroup | None = None

    async def _open(self, method: str, url: str, headers: dict[str, str], content: bytes | None = None,
                    ) -> httpx.Response:
        """Send one request (retrying once with a fresh token after a 401); returns the open response."""
        for refresh in (False, True):
            request = self.client.build_request(method, url, content=content, headers={
                **self.headers, **headers, **await self.token.header(refresh)})
            try:
                response = await self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise TransportError(f"{method} {url} failed: {exc}") from exc
            if response.status_code == 401 and not refresh and self.token.refreshable:
                await response.aclose()
                continue
            if response.status_code in (401, 403):
                body = (await response.aread())[:300].decode("utf-8", "replace")
                await response.aclose()
                raise AuthenticationError(f"{method} {url}: HTTP {response.status_code} {body}".strip(),
                                          response.status_code, response.headers.get("www-authenticate"))
            return response
        raise AssertionError("unreachable")

    async def _deliver_body(self, response: httpx.Response) -> bool:
        """Deliver the JSON or SSE messages of ``response``; False when it held no JSON-RPC message."""
        assert self.sink is not None
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "text/event-stream":
            async for event in EventSource(response).aiter_sse():
                if event.event in ("", "message") and event.data:
                    await self._deliver_text(event.data)
            return True
        body = await response.aread()
        if ctype == "application/json" and body:
            return await self._deliver_text(body)
        return False

    async def _deliver_text(self, text: str | bytes) -> bool:
        assert self.sink is not None
        try:
            message = parse(text)
        except MCPError:
            log.warning("MCP server sent a body that is not JSON: %r", text[:200])
            return False
        if not isinstance(message, dict):
            return False
        await self.sink.receive(message)
        return True

    async def aclose(self) -> None:
        if self._own_client:
            with anyio.CancelScope(shield=True):
                await self.client.aclose()


class StreamableHTTPTransport(_HTTPBase):
    session_id: str | None = None
    carries_headers = True

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._posts: dict[Any, anyio.CancelScope] = {}
        self._listening = False

    async def start(self, task_group: anyio.abc.TaskGroup, sink: Sink) -> None:
        self.task_group, self.sink = task_group, sink

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"accept": _ACCEPT, "content-type": "application/json"}
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        if self.protocol_version:
            headers["mcp-protocol-version"] = self.protocol_version
        if extra:
            headers.update(extra)
        return headers

    async def send(self, message: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        request_id = message.get("id")
        if "method" in message and is_id(request_id):
            assert self.task_group is not None
            scope = self._posts[request_id] = anyio.CancelScope()
            self.task_group.start_soon(self._post_request, message, self._headers(headers), scope)
        else:  # notifications and our answers to server requests: 202, nothing to read
            response = await self._open("POST", self.url, self._headers(headers), dumps(message))
            await response.aclose()
            if response.status_code >= 400:
                raise TransportError(f"POST {self.url}: HTTP {response.status_code}", response.status_code)

    async def _post_request(self, message: dict[str, Any], headers: dict[str, str], scope: anyio.CancelScope) -> None:
        assert self.sink is not None
        request_id = message["id"]
        try:
            with scope:
                response = await self._open("POST", self.url, headers, dumps(message))
                try:
                    session = response.headers.get("mcp-session-id")
                    if session and message.get("method") == "initialize":
                        self.session_id = session
                    if response.status_code == 404 and self.session_id and "mcp-session-id" in headers:
                        raise SessionExpired(f"the server ended MCP session {self.session_id}", 404)
                    if not await self._deliver_body(response) and response.status_code != 202:
                        raise TransportError(f"POST {self.url}: HTTP {response.status_code} without a "
                                             f"JSON-RPC answer", response.status_code)
                finally:
                    await response.aclose()
        except (TransportError, httpx.HTTPError) as exc:
            error = exc if isinstance(exc, TransportError) else TransportError(f"POST {self.url} failed: {exc}")
            self.sink.request_failed(request_id, error)
        except Exception as exc:  # a bug must fail this request, not the client's task group
            log.exception("MCP client POST failed")
            self.sink.request_failed(request_id, TransportError(f"POST {self.url} failed: {exc!r}"))
        finally:
            self._posts.pop(request_id, None)

    def cancel(self, request_id: Any) -> None:
        scope = self._posts.pop(request_id, None)
        if scope is not None:
            scope.cancel()

    def session_started(self) -> None:
        if self.session_id and not self._listening and self.task_group is not None:
            self._listening = True
            self.task_group.start_soon(self._listen)

    async def _listen(self) -> None:
        """The GET stream of unrelated notifications; a server without one (405) is fine."""
        try:
            response = await self._open("GET", self.url, self._headers({"accept": "text/event-stream"}))
            try:
                if response.status_code == 200:
                    await self._deliver_body(response)
            finally:
                await response.aclose()
        except (TransportError, httpx.HTTPError) as exc:
            log.info("MCP notification stream ended: %s", exc)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            if self.session_id:
                with anyio.move_on_after(2):
                    try:
                        response = await self._open("DELETE", self.url, self._headers(None))
                        await response.aclose()
                    except (TransportError, httpx.HTTPError):
                        pass
            await super().aclose()


class LegacySSETransport(_HTTPBase):
    """2024-11-05 HTTP+SSE: ``url`` is the SSE endpoint (``.../sse``)."""

    def __init__(self, url: str, *, connect_timeout: float = 30.0, **options: Any) -> None:
        super().__init__(url, **options)
        self.endpoint: str | None = None
        self.connect_timeout = connect_timeout
        self._ready = anyio.Event()
        self._failure: BaseException | None = None

    async def start(self, task_group: anyio.abc.TaskGroup, sink: Sink) -> None:
        self.task_group, self.sink = task_group, sink
        task_group.start_soon(self._stream)
        with anyio.move_on_after(self.connect_timeout):
            await self._ready.wait()
        if self._failure is not None:
            raise self._failure
        if self.endpoint is None:
            raise TransportError(f"GET {self.url}: no endpoint event within {self.connect_timeout} s")

    async def _stream(self) -> None:
        assert self.sink is not None
        error: BaseException = TransportError(f"the SSE stream {self.url} ended")
        try:
            response = await self._open("GET", self.url, {"accept": "text/event-stream"})
            try:
                if response.status_code != 200:
                    raise TransportError(f"GET {self.url}: HTTP {response.status_code}", response.status_code)
                async for event in EventSource(response).aiter_sse():
                    if event.event == "endpoint":
                        endpoint = urljoin(self.url, event.data.strip())
                        if urlsplit(endpoint)[:2] != urlsplit(self.url)[:2]:
                            raise TransportError(f"the server named an endpoint on another origin: {endpoint}")
                        self.endpoint = endpoint
                        self._ready.set()
                    elif event.event in ("", "message") and event.data:
                        await self._deliver_text(event.data)
            finally:
                await response.aclose()
        except (TransportError, httpx.HTTPError) as exc:
            error = exc if isinstance(exc, TransportError) else TransportError(f"GET {self.url} failed: {exc}")
        if not self._ready.is_set():
            self._failure = error
            self._ready.set()
        self.sink.connection_lost(error)

    async def send(self, message: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        if self.endpoint is None:
            raise TransportError("the SSE transport is not connected")
        response = await self._open("POST", self.endpoint, {"content-type": "application/json"}, dumps(message))
        await response.aclose()
        if response.status_code >= 400:
            raise TransportError(f"POST {self.endpoint}: HTTP {response.status_code}", response.status_code)
