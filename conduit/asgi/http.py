"""The ASGI 3 face: a ``Conduit`` app is ``await app(scope, receive, send)``, and ASGI apps mount.

**Serving under an ASGI server** (``uvicorn module:app``). Conduit's request path is
written for trio (worker threads, streaming, background tasks). Under a trio-based
ASGI server it runs directly on that loop; under an asyncio server (uvicorn) the app
runs on its own trio loop in one background thread, started by the lifespan
``startup`` event (or by the first request when the server sends no lifespan), and
each ASGI call is bridged to it: the body is read from ``receive`` chunk by chunk as
the handler asks for it, and a streaming response is sent chunk by chunk as it is
produced. ``websocket`` scopes run ``@app.websocket`` handlers through
:mod:`conduit.asgi.websocket` (a scope with no matching route is closed before
acceptance, i.e. a 403 to the client).

**Mounting an ASGI app** (``app.mount("/legacy", starlette_app)``) lives in
:mod:`conduit.asgi.mount`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sniffio
import trio

from ..http.datastructures import Headers
from ..http.request import ClientDisconnect, Request
from ..http.response import Response, StreamingResponse
from ..server.loop_thread import app_loop  # the same loop-in-a-thread the TestClient uses

logger = logging.getLogger("conduit.asgi.http")

def _request_from_scope(scope: dict, receive_body) -> Request:
    headers = Headers([(bytes(k), bytes(v)) for k, v in scope.get("headers", [])])
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    if b"?" in raw_path:
        raw_path = raw_path.partition(b"?")[0]
    client = tuple(scope["client"]) if scope.get("client") else None
    return Request(scope["method"], raw_path, scope.get("query_string", b""), headers, client, receive_body,
                   scheme=scope.get("scheme", "http"), http_version=scope.get("http_version", "1.1"))


def _head(response: Response) -> dict:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
               if k.lower() not in ("content-length", "transfer-encoding", "connection")]
    if not isinstance(response, StreamingResponse):
        headers.append((b"content-length", str(len(response.body)).encode()))
    return {"type": "http.response.start", "status": response.status_code, "headers": headers}


class _BodyReader:
    """``receive`` for the Request: ``http.request`` bodies until ``more_body`` is false."""

    def __init__(self, next_message):
        self.next_message = next_message
        self.done = False

    async def __call__(self) -> bytes:
        while not self.done:
            message = await self.next_message()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect("the client disconnected before the body was complete")
            self.done = not message.get("more_body", False)
            if message.get("body"):
                return message["body"]
        return b""


async def iterate_chunks(response: StreamingResponse):
    """The encoded chunks of a streaming response (sync iterators advance in a worker thread)."""
    iterable = response.iterable
    if hasattr(iterable, "__aiter__"):
        async for item in iterable:
            yield response.encode_chunk(item)
    else:
        iterator, done = iter(iterable), object()
        while (item := await trio.to_thread.run_sync(next, iterator, done)) is not done:
            yield response.encode_chunk(item)


class ASGIFace:
    """The ASGI callable behind ``Conduit.__call__`` (one per app)."""

    def __init__(self, app: Any):
        self.app = app
        self._loop = None  # the background trio loop, under asyncio servers

    async def __call__(self, scope: dict, receive, send) -> None:
        kind = scope["type"]
        on_trio = sniffio.current_async_library() == "trio"
        if kind == "lifespan":
            await self._lifespan(receive, send, on_trio)
        elif kind in ("http", "websocket"):
            serve = self._http_trio if kind == "http" else self._websocket_trio
            if on_trio:
                await serve(scope, receive, send)
            else:
                await self._bridged(serve, scope, receive, send)
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
        if self._loop is not None:
            return
        self._loop = app_loop(self.app)

    def _stop_loop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    # ---------------------------------------------------------------------- http

    async def _http_trio(self, scope: dict, receive, send) -> None:
        if not self.app.started:
            await self.app.startup()
        request = _request_from_scope(scope, _BodyReader(receive))
        response = await self.app.handle(request)
        try:
            await send(_head(response))
            if isinstance(response, StreamingResponse) and request.method != "HEAD":
                async for chunk in iterate_chunks(response):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            else:
                await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else response.body})
            if response.background is not None:
                await response.background()
        finally:
            await response.run_after_send()

    async def _websocket_trio(self, scope: dict, receive, send) -> None:
        from .websocket import serve_asgi_websocket

        if not self.app.started:
            await self.app.startup()
        await serve_asgi_websocket(self.app, scope, receive, send)

    async def _bridged(self, serve_on_trio, scope: dict, receive, send) -> None:
        """Run ``serve_on_trio(scope, receive, send)`` on the app's trio loop, bridging both calls."""
        if self._loop is None:
            await asyncio.to_thread(self._start_loop)
        loop, token = asyncio.get_running_loop(), self._loop.token

        def on_asyncio(coroutine_fn, *args):
            """From the trio thread: run ``coroutine_fn(*args)`` on the asyncio loop, wait for it.

            Granian's ``receive``/``send`` return awaitables that are not coroutines, hence the wrapper.
            """
            async def awaited():
                return await coroutine_fn(*args)

            return asyncio.run_coroutine_threadsafe(awaited(), loop).result()

        async def next_message():
            return await trio.to_thread.run_sync(on_asyncio, receive)

        async def send_from_trio(message):
            await trio.to_thread.run_sync(on_asyncio, send, message)

        async def serve() -> None:
            await serve_on_trio(scope, next_message, send_from_trio)

        await asyncio.to_thread(trio.from_thread.run, serve, trio_token=token)


__all__ = ["ASGIFace", "iterate_chunks"]
