"""An ASGI application mounted inside Conduit (``app.mount("/legacy", starlette_app)``).

The request is handed to the ASGI app on Conduit's trio loop (anyio apps such as
Starlette run on trio), with ``root_path`` set to the prefix. The app runs in its
own task so that its response can stream: once it has sent ``http.response.start``
and its first body message, a one-message response becomes a plain ``Response``
and anything longer a ``StreamingResponse`` fed through a channel with no buffer,
so a slow client slows the app (backpressure) and an endless stream works. When
the client goes away mid-stream the server closes the body iterator, which
cancels the app. A failing app before its response start is a 500 (logged).
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ..http.request import Request
from ..http.response import Response, StreamingResponse

logger = logging.getLogger("conduit.asgi.http")

#: Headers the native server writes itself for a streamed body.
_FRAMING = (b"content-length", b"transfer-encoding", b"connection")


def asgi_scope(request: Request, prefix: str) -> dict:
    """The ASGI ``http`` scope for a request handed to a mounted ASGI app under ``prefix``."""
    raw = request.raw_path
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": request.http_version,
            "method": request.method, "scheme": request.scheme, "path": request.path, "raw_path": raw,
            "root_path": prefix, "query_string": request.query_string, "headers": list(request.headers.raw),
            "client": request.client, "server": None, "state": {}}


def _receiver(request: Request):
    stream = request.stream()
    finished = False

    async def receive() -> dict:
        nonlocal finished
        if finished:
            await trio.sleep_forever()  # the app waits for a disconnect; it is cancelled if one comes
        try:
            chunk = await stream.__anext__()
            return {"type": "http.request", "body": chunk, "more_body": True}
        except StopAsyncIteration:
            finished = True
            return {"type": "http.request", "body": b"", "more_body": False}

    return receive


def asgi_mount_server(asgi_app: Any, prefix: str):
    """The ``serve(request, path)`` coroutine a mount uses for an ASGI application."""

    async def serve(request: Request, path: str) -> Response:
        start: dict = {}
        chunks_in, chunks_out = trio.open_memory_channel[tuple[bytes, bool]](0)
        cancel = trio.CancelScope()
        failure: list[BaseException] = []

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                more = bool(message.get("more_body", False))
                await chunks_in.send((bytes(message.get("body", b"")), more))
                if not more:
                    await chunks_in.aclose()

        async def run_app() -> None:
            with cancel:
                try:
                    await asgi_app(asgi_scope(request, prefix), _receiver(request), send)
                except Exception as exc:
                    failure.append(exc)
                    logger.exception("the ASGI app mounted at %r failed", prefix)
            await chunks_in.aclose()

        # A system task outlives this call, so the body can stream after serve() returns.
        trio.lowlevel.spawn_system_task(run_app)
        try:
            first, more = await chunks_out.receive()
        except trio.EndOfChannel:
            raise RuntimeError(f"the ASGI app mounted at {prefix!r} sent no response") from (failure or [None])[0]
        if not start:
            raise RuntimeError(f"the ASGI app mounted at {prefix!r} sent a body before its response start")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
        if not more:
            return Response(first, start["status"], headers)

        async def body():
            completed = False
            try:
                yield first
                async for chunk, _ in chunks_out:
                    yield chunk
                completed = True
            finally:
                if not completed:  # the client went away: stop the app
                    cancel.cancel()

        streamed = [(k, v) for k, v in headers if k.lower().encode("latin-1") not in _FRAMING]
        return StreamingResponse(body(), start["status"], streamed)

    return serve


__all__ = ["asgi_mount_server", "asgi_scope"]
