"""Listening, accepting and running: ``serve`` for trio code, ``run`` for a process."""

from __future__ import annotations

import logging
import signal
from typing import Any

import trio

from .config import ServerConfig
from . import framing
from .connection import HTTPConnection

logger = logging.getLogger("conduit.server")


async def _serve_stream(stream: trio.SocketStream, app: Any, config: ServerConfig) -> None:
    try:
        peer = stream.socket.getpeername()
        client = (peer[0], peer[1])
    except OSError:
        client = None
    try:
        await HTTPConnection(stream, app, config, client).serve()
    except Exception:
        logger.exception("connection handler crashed for %s", client)


async def serve(app: Any, host: str = "127.0.0.1", port: int = 8000, *,
                config: ServerConfig | None = None,
                task_status=trio.TASK_STATUS_IGNORED, **options: Any) -> None:
    """Serve ``app`` until cancelled.

    Kernels are compiled and startup hooks run before the socket accepts;
    ``task_status.started(port)`` reports the bound port (useful with ``port=0``).
    """
    config = config or ServerConfig.from_options(host=host, port=port, **options)
    framing.warmup()
    await app.startup()
    try:
        listeners = await trio.open_tcp_listeners(config.port, host=config.host)
        bound = listeners[0].socket.getsockname()[1]
        logger.info("conduit serving on http://%s:%d", config.host, bound)
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(_accept_loop, listener, app, config, nursery)
            task_status.started(bound)
    finally:
        with trio.CancelScope(shield=True):
            await app.shutdown()


async def _accept_loop(listener: trio.SocketListener, app: Any, config: ServerConfig,
                       nursery: trio.Nursery) -> None:
    async with listener:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:  # EMFILE and friends: back off instead of spinning
                logger.error("accept failed: %s", exc)
                await trio.sleep(0.1)
                continue
            nursery.start_soon(_serve_stream, stream, app, config)


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Run the server in this process until SIGINT or SIGTERM."""
    config = ServerConfig.from_options(host=host, port=port, **options)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            await serve(app, config=config)

    trio.run(main)


async def _stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info("received %s, shutting down", signal.Signals(signum).name)
            scope.cancel()
            return
