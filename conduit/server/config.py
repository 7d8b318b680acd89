"""Server settings with safe defaults (docs/production.md explains each)."""

from __future__ import annotations

from dataclasses import dataclass, fields


#: Settings that are the app's (``Conduit(...)``); a server option only overrides them.
APP_LIMITS = ("max_body_size", "handler_timeout", "websocket_max_message_size")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    #: Largest request head (request line + headers) in bytes → 431.
    max_head_size: int = 16 * 1024
    #: Largest request body in bytes → 413; None = the app's (``Conduit(max_body_size=...)``,
    #: 1 MiB by default). A value here overrides the app's while this server runs.
    max_body_size: int | None = None
    #: The whole request head must arrive within this many seconds of its first byte → 408.
    head_timeout: float = 10.0
    #: Longest silence while a request body is being received → 408.
    body_timeout: float = 10.0
    #: Idle keep-alive connections are closed after this many seconds.
    keepalive_timeout: float = 5.0
    #: A handler running longer than this gets cancelled → 504; None = the app's (30 s by default).
    handler_timeout: float | None = None
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
    #: A WebSocket message (all its fragments) over this many bytes closes with 1009;
    #: None = the app's (1 MiB by default).
    websocket_max_message_size: int | None = None
    #: Seconds a WebSocket receive may wait for the client before closing with 1001.
    websocket_idle_timeout: float = 300.0
    #: Seconds between the server's WebSocket pings; None = no pings.
    websocket_ping_interval: float | None = 20.0
    #: Seconds a ping may wait for its pong before the connection closes with 1011.
    websocket_ping_timeout: float = 20.0
    #: Whole WebSocket messages read ahead of the handler; while full, the server stops reading the socket.
    websocket_queue_size: int = 16
    # -- admission control and workers (docs/operations.md) -------------------------
    #: Process RSS in bytes past which new requests get 503 (``--max-memory 1GB``); None = off.
    max_memory: int | None = None
    #: RSS under which a shedding process takes requests again (default 90 % of max_memory).
    memory_low_water: int | None = None
    #: Seconds between two RSS reads of the memory guard.
    memory_check_interval: float = 0.25
    #: ``--workers`` mode: a worker whose RSS passes this is drained and replaced
    #: (default 1.5x max_memory when that is set).
    max_memory_hard: int | None = None
    #: Requests in flight before they queue (``--max-concurrency``); None = no cap.
    max_concurrency: int | None = None
    #: Requests that may wait for a slot (default max_concurrency // 4); beyond it 503 at once.
    concurrency_queue: int | None = None
    #: Seconds a queued request waits for a slot before 503.
    queue_timeout: float = 1.0
    #: With max_concurrency: adapt the cap (AIMD) to keep latency under this many seconds.
    latency_target: float | None = None
    #: A worker drains and is replaced after about this many requests (``--max-requests``).
    max_requests: int | None = None
    #: Up to this many requests added at random to max_requests per worker, so they do not recycle together.
    max_requests_jitter: int = 0
    #: Load the app and its kernels in the supervisor and fork workers afterwards (``--no-preload`` = False).
    preload: bool = True
    #: A worker whose event loop has not beaten for this many seconds is killed and replaced.
    worker_timeout: float | None = None

    def app_limits(self) -> dict:
        """The app limits this config overrides (``Conduit.configure_limits`` takes them)."""
        return {name: getattr(self, name) for name in APP_LIMITS if getattr(self, name) is not None}

    @classmethod
    def from_options(cls, **options) -> "ServerConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(options) - known
        if unknown:
            raise TypeError(f"unknown server options: {sorted(unknown)} (known: {sorted(known)})")
        config = cls(**options)
        config.validate()
        return config

    def __post_init__(self) -> None:
        from ..admission.memory import parse_size

        for name in ("max_memory", "memory_low_water", "max_memory_hard"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, parse_size(value))
        if self.max_memory is not None and self.max_memory_hard is None:
            self.max_memory_hard = int(self.max_memory * 1.5)

    def validate(self) -> None:
        for name in ("max_head_size", "max_connections", "workers", "backlog", "websocket_queue_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_body_size", "websocket_max_message_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.handler_timeout is not None and not self.handler_timeout > 0:
            raise ValueError(f"handler_timeout must be > 0 seconds, got {self.handler_timeout}")
        for name in ("head_timeout", "body_timeout", "keepalive_timeout",
                     "send_timeout", "grace_period", "websocket_idle_timeout",
                     "websocket_ping_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        for name in ("max_concurrency", "max_requests"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("queue_timeout", "memory_check_interval"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        for name in ("latency_target", "worker_timeout", "websocket_ping_interval"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        if self.concurrency_queue is not None and self.concurrency_queue < 0:
            raise ValueError(f"concurrency_queue must be >= 0, got {self.concurrency_queue}")
        if self.max_requests_jitter < 0:
            raise ValueError(f"max_requests_jitter must be >= 0, got {self.max_requests_jitter}")
        if self.max_memory is not None:
            low = self.memory_low_water
            if low is not None and not 0 < low <= self.max_memory:
                raise ValueError(f"memory_low_water must be at most max_memory ({self.max_memory}), got {low}")
