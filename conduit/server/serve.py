"""Listening, accepting and serving connections: ``serve``, for trio code.

Owns the connection cap, graceful shutdown (stop accepting, close idle
keep-alive connections, let in-flight requests finish within the grace period)
and the startup contract (warm-ups and startup hooks before the first accept; a
failing startup raises :class:`StartupError`). Pure trio: it never installs signal
handlers, calls ``trio.run`` or exits the process; that is the process entry's job
(:mod:`.process` for one server process, :mod:`.workers` for ``run`` and the
supervisor of several).
"""

from __future__ import annotations

import gc
import logging
import os
import random
import socket as stdlib_socket
from typing import Any

import trio

from ..http import h1
from . import tls
from .binding import BindError
from .binding import describe as describe_bind_error
from .config import ServerConfig
from .connection import HTTPConnection
from .served_app import ServedApp

logger = logging.getLogger("conduit.server")

class StartupError(RuntimeError):
    """A startup hook or warm-up raised: the server does not serve."""


class ServerState:
    """What the accept loop and the connections share: the live set and the deadline watchdog.

    The drain flag is the app's (``app.draining``): one flag, read by ``/ready``, the
    connections and the WebSocket sessions alike.
    """

    def __init__(self, config: ServerConfig, handler_timeout: float = 30.0):
        self.config = config
        self.connections: set[HTTPConnection] = set()
        self.rejecting = 0
        self.idle = trio.Event()  # set whenever no connection is open
        #: Set by ``serve`` when TLS is configured: every accepted socket is wrapped.
        self.ssl_context = None
        self.idle.set()
        #: Seconds between deadline checks: late by at most this (a tenth of the shortest timeout).
        self.tick = min(0.25, min(config.head_timeout, config.body_timeout, config.keepalive_timeout,
                                  handler_timeout, config.send_timeout) / 10)

    def add(self, connection: HTTPConnection) -> None:
        self.connections.add(connection)
        if self.idle.is_set():
            self.idle = trio.Event()

    def discard(self, connection: HTTPConnection) -> None:
        self.connections.discard(connection)
        if not self.connections:
            self.idle.set()

    async def watch_deadlines(self) -> None:
        """Expire every connection whose deadline has passed, every :attr:`tick` seconds.

        Connections keep their deadline as a float; one task checking them all a few
        times a second costs far less than moving a trio deadline twice per request,
        at the price of up to one tick of lateness.
        """
        while True:
            await trio.sleep(self.tick)
            now = trio.current_time()
            for connection in [c for c in self.connections if c.deadline <= now]:
                connection.expire()

    def begin_drain(self, close_idle: bool = True) -> None:
        """Once the caller has set ``app.draining`` (each response then says ``Connection: close``).

        ``close_idle`` (a shutdown) also ends idle keep-alive connections now. A worker
        that retires (recycling) keeps them instead: a client may be sending its next
        request on one this very moment, and closing would lose it; that request is
        answered with ``Connection: close`` and the connection ends after it (or at its
        keep-alive timeout).
        """
        if close_idle:
            self.close_idle()

    def close_idle(self) -> None:
        for connection in list(self.connections):
            connection.close_if_idle()


def _peer(stream: trio.SocketStream) -> tuple[str, int] | None:
    try:
        peer = stream.socket.getpeername()
        return (peer[0], peer[1])
    except OSError:
        return None


async def _serve_stream(stream: trio.SocketStream, app: ServedApp, config: ServerConfig,
                        state: ServerState | None = None) -> None:
    client = _peer(stream)
    if state is not None and state.ssl_context is not None:
        stream = tls.wrap(stream, state.ssl_context)
    connection = HTTPConnection(stream, app, config, client, state)
    if state is not None:
        state.add(connection)
    try:
        await connection.serve()
    except Exception:
        logger.exception("connection handler crashed for %s", client)
    finally:
        if state is not None:
            state.discard(connection)


def _admission(app: ServedApp, config: ServerConfig, retire_trigger: trio.Event | None):
    """The request gate the config asks for (conduit.admission), or None."""
    from ..admission import admission_from_config

    budget = None
    if config.max_requests is not None and retire_trigger is not None:
        budget = config.max_requests + random.randint(0, config.max_requests_jitter)
    admission = admission_from_config(config, on_budget_spent=retire_trigger.set if budget else None,
                                      max_requests=budget)
    if admission is not None:
        for path in getattr(app.state, "unguarded_paths", ()):
            admission.exempt_path(path)
    return admission


def _overload_bytes(config: ServerConfig) -> bytes:
    codec = h1.HTTP1Codec(server_header=config.server_header)
    return codec.send_error(503, "server at its connection limit, retry shortly", headers={"retry-after": "1"})


async def _reject(stream: trio.SocketStream, state: ServerState) -> None:
    """Over the cap: answer 503 without parsing, then close (bounded in time)."""
    state.rejecting += 1
    try:
        with trio.move_on_after(1.0):
            await stream.send_all(_overload_bytes(state.config))
            # Read what the client sent so closing does not turn into a reset that
            # could destroy the 503 before the client reads it.
            await stream.send_eof()
            with trio.move_on_after(0.5):
                while await stream.receive_some(65536):
                    pass
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass
    finally:
        state.rejecting -= 1
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def _accept_loop(listener: trio.SocketListener, app: ServedApp, config: ServerConfig,
                       nursery: trio.Nursery, state: ServerState) -> None:
    cap = config.max_connections
    reject_cap = max(64, cap // 4)
    # After each wake-up, take every connection already queued (up to a batch) without
    # yielding: one trio accept per loop turn would make the n-th of a burst of new
    # connections wait n turns of the scheduler, each longer as more connections are open.
    raw = stdlib_socket.socket(fileno=os.dup(listener.socket.fileno()))
    raw.setblocking(False)

    def start(stream: trio.SocketStream) -> None:
        if len(state.connections) < cap:
            nursery.start_soon(_serve_stream, stream, app, config, state)
        elif state.rejecting < reject_cap:
            nursery.start_soon(_reject, stream, state)
        else:  # a flood: do not even answer
            stream.socket.close()

    async with listener:
        try:
            while True:
                try:
                    stream = await listener.accept()
                except OSError as exc:  # EMFILE and friends: back off instead of spinning
                    logger.error("accept failed: %s", exc)
                    await trio.sleep(0.1)
                    continue
                start(stream)
                for _ in range(_ACCEPT_BATCH):
                    try:
                        sock, _address = raw.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:
                        logger.error("accept failed: %s", exc)
                        break
                    start(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))
        finally:
            raw.close()


_ACCEPT_BATCH = 64


async def _startup(app: ServedApp, progress: Any = None) -> None:
    try:
        await app.startup(progress=progress)
    except Exception as exc:
        raise StartupError(f"application startup failed: {type(exc).__name__}: {exc}") from exc


async def serve(app: ServedApp, host: str = "127.0.0.1", port: int = 8000, *,
                config: ServerConfig | None = None, sockets: list[stdlib_socket.socket] | None = None,
                shutdown_trigger: trio.Event | None = None, retire_trigger: trio.Event | None = None,
                warmup_progress: Any = None, task_status=trio.TASK_STATUS_IGNORED, **options: Any) -> None:
    """Serve ``app`` until cancelled, or gracefully until ``shutdown_trigger`` or ``retire_trigger`` is set.

    Kernels are compiled and startup hooks run before the socket accepts (a
    failure raises :class:`StartupError`); ``task_status.started(port)`` reports
    the bound port (useful with ``port=0``). ``sockets`` are already-bound
    sockets (from :func:`conduit.server.run` or a supervisor) used instead of binding; they start
    listening here, after the warm-up. ``warmup_progress`` is passed to
    ``app.startup`` (see :meth:`conduit.Conduit.warmup`).

    Graceful shutdown: stop accepting, mark the app draining (``/ready`` turns
    503), close idle keep-alive connections, give in-flight requests up to
    ``config.grace_period`` seconds, then cancel what is left and run the
    shutdown hooks.

    Retiring (``retire_trigger``: a recycled worker; the request budget of
    ``config.max_requests`` sets it) drains the same way except that idle keep-alive
    connections are kept for their next request, answered with ``Connection: close``
    (see :meth:`ServerState.begin_drain`); a shutdown trigger during it closes them.
    """
    config = config or ServerConfig.from_options(host=host, port=port, **options)
    app.draining = False
    ssl_context = tls.server_ssl_context(config)  # a bad certificate fails before the warm-up
    app_limits = app.configure_limits(**config.app_limits())  # restored when this server stops
    await _startup(app, warmup_progress)  # the app's warm-up includes the HTTP/1.1 codec
    app.admission = _admission(app, config, retire_trigger if retire_trigger is not None else shutdown_trigger)
    # Everything loaded so far (numba, llvmlite, models) lives for the whole process:
    # move it out of the collector's reach so full collections stay short and do not
    # show up as tail latency (CPython gc.freeze, 3.7+).
    gc.collect()
    gc.freeze()
    state = ServerState(config, app.handler_timeout)
    state.ssl_context = ssl_context
    try:
        if sockets is not None:
            for sock in sockets:
                _listen(sock, config)
            listeners = [trio.SocketListener(trio.socket.from_stdlib_socket(s)) for s in sockets]
        else:
            listeners = await trio.open_tcp_listeners(config.port, host=config.host,
                                                      backlog=config.backlog)
        bound = listeners[0].socket.getsockname()[1]
        logger.debug("conduit serving on %s://%s:%d", "https" if state.ssl_context else "http",
                     config.host, bound)  # run() prints it
        async with trio.open_nursery() as connections:
            connections.start_soon(state.watch_deadlines)
            async with trio.open_nursery() as acceptors:
                for listener in listeners:
                    acceptors.start_soon(_accept_loop, listener, app, config, connections, state)
                task_status.started(bound)
                retiring = await _first_set(shutdown_trigger, retire_trigger) is retire_trigger
                acceptors.cancel_scope.cancel()  # closes the listening sockets
            await _drain(app, state, config.grace_period, retiring, shutdown_trigger)
            connections.cancel_scope.cancel()
    finally:
        app.admission = None  # the gate belongs to this serve() call's config
        app.configure_limits(**app_limits)
        with trio.CancelScope(shield=True):
            await app.shutdown()


async def _first_set(*events: trio.Event | None) -> trio.Event | None:
    """Wait until one of ``events`` (None entries never fire) is set; return it."""
    first: list[trio.Event] = []
    async with trio.open_nursery() as nursery:
        async def wait(event: trio.Event) -> None:
            await event.wait()
            first.append(event)
            nursery.cancel_scope.cancel()

        for event in events:
            if event is not None:
                nursery.start_soon(wait, event)
        if not nursery.child_tasks:
            await trio.sleep_forever()
    return first[0]


async def _drain(app: ServedApp, state: ServerState, grace_period: float, retiring: bool = False,
                 shutdown_trigger: trio.Event | None = None) -> None:
    app.draining = True
    state.begin_drain(close_idle=not retiring)
    open_now = len(state.connections)
    if open_now:
        logger.info("draining %d connection(s), up to %.0f s", open_now, grace_period)
    with trio.move_on_after(grace_period) as scope:
        async with trio.open_nursery() as nursery:
            if retiring and shutdown_trigger is not None:
                async def close_idle_on_shutdown() -> None:  # a shutdown while retiring: no more waiting
                    await shutdown_trigger.wait()
                    state.close_idle()

                nursery.start_soon(close_idle_on_shutdown)
            await state.idle.wait()
            nursery.cancel_scope.cancel()
    if scope.cancelled_caught:
        logger.warning("grace period over: cancelling %d connection(s)", len(state.connections))


def _listen(sock: stdlib_socket.socket, config: ServerConfig) -> None:
    try:
        sock.listen(config.backlog)
    except OSError as exc:  # another process bound the same port meanwhile (SO_REUSEADDR)
        host, port = sock.getsockname()[:2]
        raise BindError(describe_bind_error(exc, config.host or host, port)) from None


__all__ = ["ServerState", "StartupError", "serve"]
