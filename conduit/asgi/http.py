"""The ASGI 3 face: a ``Conduit`` app is ``await app(scope, receive, send)``, and ASGI apps mount.

**Serving under an ASGI server** (``uvicorn module:app``). Under a trio-based ASGI
server the request runs directly on that loop. Under an asyncio server (uvicorn,
granian) the app starts on its own trio loop in one background thread (the lifespan
``startup`` event, or the first request when the server sends no lifespan), so state
made at startup lives there; then its requests run where
:class:`~conduit.asgi.placement.LoopPlacement` puts them, once per app: on the host's loop
(no thread hop: the lifecycle's shielded clean-up, worker threads and streaming race
come from :mod:`conduit.anyloop`, the handler deadline from one watchdog per loop,
:mod:`conduit.asgi.deadlines`), or, for an app that needs trio,
bridged to the trio thread: the body is read from ``receive`` chunk by chunk as the
handler asks for it, and a streaming response is sent chunk by chunk as it is produced.

An adapter only: the request's policy (body limits as the body streams in, the
handler deadline, middleware, auth, admission, error mapping) is the app's
lifecycle (``app.lifecycle.handle``), and ``http.response.start`` is built by the
codec's head rule (:func:`conduit.http.h1.header_pairs`), so a bad header is a 500
and a 204 carries no Content-Length, as on the native server. ``websocket`` scopes run ``@app.websocket`` handlers through
:mod:`conduit.asgi.websocket` (a scope with no matching route is closed before
acceptance, i.e. a 403 to the client).

**Mounting an ASGI app** (``app.mount("/legacy", starlette_app)``) lives in
:mod:`conduit.asgi.mount`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import aclosing
from typing import Any

import trio

from ..anyloop import on_trio as current_loop_is_trio
from ..anyloop import open_task_group
from ..http.datastructures import Headers
from ..http.h1 import UNFRAMED, ResponseHeaderError, header_pairs
from ..http.h1.writer import NO_BODY
from ..http.request import ClientDisconnect, Request
from ..http.response import Response, StreamingResponse
from ..lifecycle import finish_response, response_chunks
from ..server.loop_thread import app_loop  # the same loop-in-a-thread the TestClient uses
from .deadlines import HostDeadlines
from .placement import LoopPlacement

logger = logging.getLogger("conduit.asgi.http")

def _raw_path(scope: dict) -> bytes:
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    if b"?" in raw_path:
        raw_path = raw_path.partition(b"?")[0]
    return raw_path


def _request_from_scope(scope: dict, receive_body) -> Request:
    headers = Headers([(bytes(k), bytes(v)) for k, v in scope.get("headers", [])])
    raw_path = _raw_path(scope)
    client = tuple(scope["client"]) if scope.get("client") else None
    return Request(scope["method"], raw_path, scope.get("query_string", b""), headers, client, receive_body,
                   scheme=scope.get("scheme", "http"), http_version=scope.get("http_version", "1.1"))


def _response_start(response: Response, head_only: bool) -> dict:
    """``http.response.start`` from the codec's one head rule (validated headers, framing:
    Content-Length for a whole body or a stream of known length (a file), HEAD included;
    none on 204/304 nor on other streams)."""
    if isinstance(response, StreamingResponse):
        body = UNFRAMED if response.content_length is None else response.content_length
    else:
        body = len(response.body)
    return {"type": "http.response.start", "status": response.status_code,
            "headers": header_pairs(response.status_code, response.headers, body)}


class _BodyReader:
    """``receive`` for the Request: ``http.request`` bodies until ``more_body`` is false.

    The Request counts what arrives against its limit (the lifecycle's), so a body
    over it is refused after one message past the limit, before the rest is read.
    """

    def __init__(self, next_message):
        self.next_message = next_message
        self.done = False
        self.disconnected = False

    async def __call__(self) -> bytes:
        while not self.done:
            message = await self.next_message()
            if message["type"] == "http.disconnect":
                self.disconnected = self.done = True
                raise ClientDisconnect("the client disconnected before the body was complete")
            self.done = not message.get("more_body", False)
            if message.get("body"):
                return message["body"]
        return b""

    async def wait_disconnect(self) -> None:
        """Return once the client has gone; call only once the body is through (one reader at a time)."""
        while not self.disconnected:
            self.disconnected = (await self.next_message())["type"] == "http.disconnect"


def _has_body(request: Request) -> bool:
    headers = request.headers
    return "transfer-encoding" in headers or headers.get("content-length", "0") != "0"


async def _send_stream(request: Request, response: StreamingResponse, body: _BodyReader, send) -> None:
    """Send the chunks until the stream ends, racing the client's disconnect.

    The iterator is closed on every path (:func:`~conduit.lifecycle.response_chunks`).
    A stream whose iterator fails is logged and the failure re-raised: an ASGI
    server then aborts the connection, so the client sees a truncated body, never
    a clean end (the native server closes the connection the same way).
    """
    failed: list[BaseException] = []

    async def pump(cancel_scope) -> None:
        async with aclosing(response_chunks(response)) as chunks:
            while True:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    chunk = None
                except Exception as exc:
                    logger.exception("a streaming response's iterator failed")
                    failed.append(exc)
                    break
                try:
                    if chunk is None:
                        await send({"type": "http.response.body", "body": b""})
                        break
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except Exception as exc:  # the server could not send: the client is gone
                    logger.debug("stream stopped, the ASGI server's send failed: %r", exc)
                    break
        cancel_scope.cancel()

    async def watch(cancel_scope) -> None:
        await body.wait_disconnect()
        cancel_scope.cancel()

    async with open_task_group() as group:
        group.start_soon(pump, group.cancel_scope)
        if body.done or not _has_body(request):  # else the handler may still read it: one reader only
            group.start_soon(watch, group.cancel_scope)
    if failed:
        raise StreamFailed("the streaming response's iterator failed; the body is cut short") from failed[0]


class StreamFailed(RuntimeError):
    """Raised to the ASGI server so that it aborts a stream cut short."""


class ASGIFace:
    """The ASGI callable behind ``Conduit.__call__`` (one per app)."""

    def __init__(self, app: Any):
        self.app = app
        self._loop = None  # the background trio loop, under asyncio servers
        self._start_lock = threading.Lock()
        self.placement = LoopPlacement(app)  # which requests run on the host's loop
        self._deadlines: HostDeadlines | None = None  # the handler deadline there

    async def __call__(self, scope: dict, receive, send) -> None:
        kind = scope["type"]
        on_trio = current_loop_is_trio()
        if kind == "lifespan":
            await self._lifespan(receive, send, on_trio)
        elif kind == "http":
            if on_trio:
                await self._http(scope, receive, send)
                return
            if self._loop is None:
                await asyncio.to_thread(self._start_loop)
            if self.placement.runs_on_host():
                await self._http(scope, receive, send, host_loop=True)
            else:
                await self._bridged(self._http, scope, receive, send)
        elif kind == "websocket":
            if on_trio:
                await self._websocket(scope, receive, send)
                return
            if self._loop is None:
                await asyncio.to_thread(self._start_loop)
            if self.placement.runs_on_host():
                await self._websocket(scope, receive, send)
            else:
                await self._bridged(self._websocket, scope, receive, send)
        else:
            raise ValueError(f"Conduit does not serve ASGI scope type {kind!r}")

    # ------------------------------------------------------------------ lifespan

    async def _lifespan(self, receive, send, on_trio: bool) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if on_trio:
                        await self.app.startup()
                    else:
                        await asyncio.to_thread(self._start_loop)
                except Exception as exc:
                    logger.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if on_trio:
                    await self.app.shutdown()
                else:
                    await asyncio.to_thread(self._stop_loop)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _start_loop(self) -> None:
        with self._start_lock:  # concurrent first requests (no lifespan) start one loop, one startup
            if self._loop is None:
                self._loop = app_loop(self.app)

    def _stop_loop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    # ---------------------------------------------------------------------- http

    async def _http(self, scope: dict, receive, send, host_loop: bool = False) -> None:
        """One request on the calling loop: trio, or the host's asyncio loop (``host_loop``, :mod:`.placement`)."""
        if not self.app.started:
            await self.app.startup()
        body = _BodyReader(receive)
        request = _request_from_scope(scope, body)
        lifecycle = self.app.lifecycle
        if host_loop:  # the deadline by one watchdog per loop, not a timer per request
            response = await self._host_deadlines().handle(lifecycle, request)
        else:
            response = await lifecycle.handle(request)  # limits, deadline, auth, errors: the app's
        head_only = request.method == "HEAD"
        sent = False
        try:
            if body.disconnected:  # the client left mid-body: nobody to answer
                return
            try:
                start = _response_start(response, head_only)
            except ResponseHeaderError as exc:
                await finish_response(response, sent=False)
                response = lifecycle.invalid_response(request, exc)
                start = _response_start(response, head_only)
            await send(start)
            if isinstance(response, StreamingResponse) and not head_only:
                await _send_stream(request, response, body, send)
            else:
                no_body = head_only or response.status_code in NO_BODY
                await send({"type": "http.response.body", "body": b"" if no_body else response.body})
            sent = True
        finally:
            await finish_response(response, sent=sent)

    def _host_deadlines(self) -> HostDeadlines:
        loop = asyncio.get_running_loop()
        deadlines = self._deadlines
        if deadlines is None or deadlines.loop is not loop or deadlines.timeout != self.app.handler_timeout:
            deadlines = self._deadlines = HostDeadlines(loop, self.app.handler_timeout)
        return deadlines

    async def _websocket(self, scope: dict, receive, send) -> None:
        from .websocket import serve_asgi_websocket

        if not self.app.started:
            await self.app.startup()
        await serve_asgi_websocket(self.app, scope, receive, send)

    async def _bridged(self, serve_on_trio, scope: dict, receive, send) -> None:
        """Run ``serve_on_trio(scope, receive, send)`` on the app's trio loop, bridging both calls."""
        if self._loop is None:
            await asyncio.to_thread(self._start_loop)
        loop, token = asyncio.get_running_loop(), self._loop.token

        async def on_asyncio(coroutine_fn, *args):
            """Run ``coroutine_fn(*args)`` on the asyncio loop and wait for it, cancellably:
            a cancelled wait cancels the asyncio task too (a watch for a disconnect ends).

            Granian's ``receive``/``send`` return awaitables that are not coroutines, hence the wrapper.
            """
            async def awaited():
                return await coroutine_fn(*args)

            future = asyncio.run_coroutine_threadsafe(awaited(), loop)
            try:
                return await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)
            except trio.Cancelled:
                future.cancel()
                raise

        async def next_message():
            return await on_asyncio(receive)

        async def send_from_trio(message):
            await on_asyncio(send, message)

        async def serve() -> None:
            await serve_on_trio(scope, next_message, send_from_trio)

        await asyncio.to_thread(trio.from_thread.run, serve, trio_token=token)


__all__ = ["ASGIFace", "StreamFailed"]
