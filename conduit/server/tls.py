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
    for path in (certfile, keyfile):  # OpenSSL's errors do not say which of the two files failed
        if path is None:
            continue
        try:
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            raise TLSConfigError(f"TLS file not found: {path}") from None
        except PermissionError:
            raise TLSConfigError(f"TLS file not readable (permission denied): {path}") from None
        except OSError as exc:
            raise TLSConfigError(f"TLS file cannot be read: {path}: {exc.strerror or exc}") from None
    try:
        context.load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise TLSConfigError(_diagnose(certfile, keyfile, exc)) from None
    return context


def _diagnose(certfile: str, keyfile: str | None, exc: Exception) -> str:
    """One line naming the file at fault and why (OpenSSL's own reason is often just "PEM lib")."""
    reason = getattr(exc, "reason", None) or str(exc)
    if "KEY_VALUES_MISMATCH" in str(reason).upper():
        return f"TLS key {keyfile or certfile} does not match the certificate {certfile}"
    if not _holds(certfile, b"-----BEGIN CERTIFICATE-----"):
        return f"TLS certificate {certfile} is not a PEM certificate (no BEGIN CERTIFICATE block)"
    key = keyfile or certfile
    if not _holds(key, b"PRIVATE KEY-----"):
        return f"TLS key {key} is not a PEM private key (no BEGIN ... PRIVATE KEY block)"
    return f"TLS certificate {certfile} with key {key} cannot be loaded: {reason}"


def _holds(path: str, marker: bytes) -> bool:
    try:
        with open(path, "rb") as file:
            return marker in file.read(1 << 20)
    except OSError:
        return False


def wrap(stream: trio.SocketStream, context: ssl.SSLContext) -> trio.SSLStream:
    return trio.SSLStream(stream, context, server_side=True, https_compatible=True)


__all__ = ["TLSConfigError", "server_ssl_context", "wrap"]
