"""Server settings with safe defaults (docs/production.md explains each)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    #: Largest request head (request line + headers) in bytes → 431.
    max_head_size: int = 16 * 1024
    #: Largest request body in bytes → 413 (per-route ``max_body_size`` overrides it).
    max_body_size: int = 1024 * 1024
    #: The whole request head must arrive within this many seconds of its first byte → 408.
    head_timeout: float = 10.0
    #: Longest silence while a request body is being received → 408.
    body_timeout: float = 10.0
    #: Idle keep-alive connections are closed after this many seconds.
    keepalive_timeout: float = 5.0
    #: A handler running longer than this gets cancelled → 504.
    handler_timeout: float = 30.0
    #: A client that stops reading our response for this long is disconnected.
    send_timeout: float = 30.0
    #: Value of the ``Server`` header.
    server_header: str = "conduit"
    #: Open connections beyond this get a 503 and are closed at once.
    max_connections: int = 1000
    #: On SIGTERM/SIGINT, in-flight requests get this many seconds to finish.
    grace_period: float = 30.0
    #: Worker processes sharing one listening socket (``--workers``); 1 = serve in this process.
    workers: int = 1
    #: The listen() backlog.
    backlog: int = 2048
    #: PEM certificate chain and private key: serve HTTPS (``--ssl-certfile``/``--ssl-keyfile``).
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    #: A WebSocket message (all its fragments) over this many bytes closes with 1009.
    websocket_max_message_size: int = 1024 * 1024
    #: Seconds a WebSocket receive may wait for the client before closing with 1001.
    websocket_idle_timeout: float = 300.0

    @classmethod
    def from_options(cls, **options) -> "ServerConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(options) - known
        if unknown:
            raise TypeError(f"unknown server options: {sorted(unknown)} (known: {sorted(known)})")
        config = cls(**options)
        config.validate()
        return config

    def validate(self) -> None:
        for name in ("max_head_size", "max_body_size", "max_connections", "workers", "backlog",
                     "websocket_max_message_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("head_timeout", "body_timeout", "keepalive_timeout", "handler_timeout",
                     "send_timeout", "grace_period", "websocket_idle_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)}")
