"""Binding the listening socket, and saying in one line why it could not be bound.

A process entry point (``conduit run``, ``app.run()``, ``conduit mcp --http``) binds
before it compiles anything, so a port already in use fails in a second, not after
the warm-up, and it fails with one line (``error: 127.0.0.1:8000 is already in use``)
and exit status 1 instead of a trio traceback. The socket is bound here and starts
listening in :func:`conduit.server.serve` once the app has started, so clients are
refused (not queued) while kernels compile.
"""

from __future__ import annotations

import errno
import socket

from .config import ServerConfig

#: Exit status of a process that could not bind its address.
BIND_FAILED = 1


class BindError(OSError):
    """The address cannot be bound; ``str(exc)`` is the one line to show."""


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def describe(exc: OSError, host: str, port: int) -> str:
    """The one-line reason for a failed bind, naming the address."""
    where = _where(host, port)
    if isinstance(exc, socket.gaierror):
        return f"cannot bind {where}: the host name {host!r} does not resolve ({exc.strerror})"
    if exc.errno == errno.EADDRINUSE:
        return f"{where} is already in use"
    if exc.errno in (errno.EACCES, errno.EPERM):
        hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" if 0 < port < 1024 else ""
        return f"permission denied to bind {where}{hint}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot bind {where}: that address does not belong to this machine"
    return f"cannot bind {where}: {exc.strerror or exc}"


def bind(config: ServerConfig) -> socket.socket:
    """A TCP socket bound to ``config.host:config.port``, not yet listening.

    Inheritable, so forked workers can accept on it. Raises :class:`BindError`.
    """
    host, port = config.host, config.port
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        error = exc if isinstance(exc, OSError) else socket.gaierror(str(exc))
        raise BindError(describe(error, host, port)) from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise BindError(describe(exc, host, port)) from None
    sock.set_inheritable(True)
    return sock
