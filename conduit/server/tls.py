"""TLS for the listener: ``--ssl-certfile``/``--ssl-keyfile`` become one server ``SSLContext``.

The context is built once, before the first accept, so a missing or mismatched
certificate or key is a startup error that names the file; each accepted socket
is then wrapped in a :class:`trio.SSLStream` (the handshake runs on the first
read, under the connection's head deadline, so a client that never finishes it is
cut like any slow client). HTTP/1.1 only: ALPN offers ``http/1.1``.
"""

from __future__ import annotations

import ssl
from typing import Any

import trio


class TLSConfigError(ValueError):
    """The certificate or key cannot be loaded (raised at startup, naming the file)."""


def server_ssl_context(config: Any) -> ssl.SSLContext | None:
    """The server context for ``config.ssl_certfile``/``ssl_keyfile``, or None without TLS."""
    certfile, keyfile = config.ssl_certfile, config.ssl_keyfile
    if certfile is None and keyfile is None:
        return None
    if certfile is None:
        raise TLSConfigError("ssl_keyfile given without ssl_certfile")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certfile, keyfile)
    except FileNotFoundError as exc:
        raise TLSConfigError(f"TLS certificate or key file not found: {exc.filename or certfile}") from None
    except (ssl.SSLError, OSError) as exc:
        raise TLSConfigError(f"cannot load TLS certificate {certfile!r} with key {keyfile!r}: {exc}") from None
    return context


def wrap(stream: trio.SocketStream, context: ssl.SSLContext) -> trio.SSLStream:
    return trio.SSLStream(stream, context, server_side=True, https_compatible=True)


__all__ = ["TLSConfigError", "server_ssl_context", "wrap"]
