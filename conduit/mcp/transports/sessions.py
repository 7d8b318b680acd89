"""Handshake-era HTTP sessions: ``Mcp-Session-Id`` -> protocol connection and event log.

A session is created only by a successful ``initialize`` (a rejected request never
makes one), removed by DELETE, and expires after ``idle_timeout`` seconds without a
request (swept lazily, at most once a second). Each session keeps a bounded log of the
SSE events it sent, so a client that lost a stream can resume it with ``Last-Event-ID``.

No client can lock the others out (issue 13). The table is bounded twice:

* per client (``max_per_client``; the client is the authenticated principal when there is
  one, else the peer address): one more ``initialize`` answers 429;
* in all (``max_sessions``): a new session first evicts a never-used one (initialized,
  then no request), oldest first, then the one idle longest, provided it has been idle
  for ``evict_idle_after`` seconds; only when every session is busy does it answer 503.

Refusals and evictions are counted in ``/metrics`` (:mod:`conduit.mcp.metrics`).

Beyond one process: with a shared :class:`~conduit.mcp.transports.store.SessionStore` (Redis), the
session's protocol state and event log are written through to the store, and a process
that meets a session id it does not hold loads it from there. The table then caches
live connections; the store decides what exists. The bounds stay per process.
"""

from __future__ import annotations

import collections
import secrets
import time
from typing import Any

from conduit._json import dumps, loads_body

from conduit.mcp import metrics
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.transports.access import token_digest
from conduit.mcp.transports.store import MemorySessionStore, SessionStore

__all__ = ["Session", "SessionTable", "SessionRefused", "client_key"]

# Requests after which a shared session's state is written back to the store.
STATEFUL_METHODS = frozenset({"initialize", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"})


class SessionRefused(Exception):
    """No session for this client now: ``status`` is 429 (its own bound) or 503 (table full)."""

    def __init__(self, status: int, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def client_key(request: Any, identity: str | None = None) -> str:
    """Whose sessions these are, for the per-client bound: the caller, else the peer address.

    ``identity`` is the gate's (:class:`~conduit.mcp.transports.access.Caller`); an
    authorization layer in front may also name the principal in ``request.state.mcp_principal``;
    a bearer token stands for one otherwise (hashed, never kept in the clear).
    """
    if identity:
        return identity
    state = getattr(request, "_state", None)
    principal = getattr(state, "mcp_principal", None) if state is not None else None
    if principal:
        return f"principal:{principal}"
    authorization = request.headers.get("authorization")
    if authorization:
        return "token:" + token_digest(authorization)
    client = request.client
    return f"addr:{client[0]}" if client else "addr:unknown"


class Session:
    __slots__ = ("id", "connection", "client", "created", "last_seen", "used", "events", "standalone")

    def __init__(self, session_id: str, connection: Connection, client: str, max_events: int) -> None:
        self.id = session_id
        self.connection = connection
        self.client = client
        self.created = self.last_seen = time.monotonic()
        self.used = False  # set by the first request after initialize
        self.events: collections.deque[tuple[str, str, bytes]] = collections.deque(maxlen=max_events)
        self.standalone: Any = None  # the memory channel of the GET stream, when one is open

    @property
    def busy(self) -> bool:
        """An open GET stream or a request in flight: never evicted."""
        return self.standalone is not None or bool(self.connection._inflight)

    def new_stream(self) -> str:
        # Random, not a counter: with a shared store two processes open streams on one session.
        return secrets.token_hex(4)


def _state(session: Session) -> bytes:
    c = session.connection
    return dumps({"client": session.client, "used": session.used, "initialized": c.initialized,
                         "owner": c.owner,
                         "protocolVersion": c.protocol_version, "capabilities": c.client_capabilities,
                         "clientInfo": c.client_info, "logLevel": c.log_level,
                         "subscriptions": sorted(c.subscriptions)})


class SessionTable:
    """The live sessions of one endpoint, bounded per client and in all."""

    def __init__(self, idle_timeout: float = 1800.0, max_sessions: int = 10000, max_events: int = 512, *,
                 max_per_client: int | None = 100, evict_idle_after: float = 60.0,
                 store: SessionStore | None = None) -> None:
        if max_per_client is not None and max_per_client < 1:
            raise ValueError("max_sessions_per_client must be at least 1 (or None for no bound)")
        self.idle_timeout = idle_timeout
        self.max_sessions = max_sessions
        self.max_events = max_events
        self.max_per_client = max_per_client
        self.evict_idle_after = evict_idle_after
        self.store = store if store is not None else MemorySessionStore()
        self.sessions: dict[str, Session] = {}
        self.per_client: collections.Counter[str] = collections.Counter()
        self._last_sweep = 0.0

    @property
    def shared(self) -> bool:
        return self.store.shared

    # ------------------------------------------------------------ admission
    async def admit(self, client: str) -> None:
        """Make room for one more session of ``client``, or raise :class:`SessionRefused`."""
        self.sweep()
        if self.max_per_client is not None and self.per_client[client] >= self.max_per_client:
            metrics.refused("per_client")
            raise SessionRefused(429, f"Too many sessions for this client (at most {self.max_per_client}); "
                                      "end unused sessions with DELETE", 60)
        if len(self.sessions) < self.max_sessions:
            return
        victim = self._victim()
        if victim is None:
            metrics.refused("full")
            raise SessionRefused(503, "Too many sessions", 30)
        metrics.evicted("never_used" if not victim.used else "idle")
        await self.remove(victim.id)

    def _victim(self) -> Session | None:
        """The never-used session created first, else the longest idle one past the grace period."""
        now = time.monotonic()
        never_used = idle = None
        for session in self.sessions.values():  # bounded by max_sessions, only when the table is full
            if session.busy:
                continue
            if not session.used:
                if never_used is None or session.created < never_used.created:
                    never_used = session
            elif now - session.last_seen >= self.evict_idle_after and (
                    idle is None or session.last_seen < idle.last_seen):
                idle = session
        return never_used or idle

    async def create(self, connection: Connection, client: str) -> Session:
        """Register a session for an initialized ``connection`` (after :meth:`admit`)."""
        session_id = secrets.token_hex(16)
        connection.session_id = session_id
        session = self.sessions[session_id] = Session(session_id, connection, client, self.max_events)
        self.per_client[client] += 1
        metrics.sessions_changed(1)
        await self.save(session)
        return session

    # ------------------------------------------------------------ lookup
    async def get(self, session_id: str, server: Any = None) -> Session | None:
        now = time.monotonic()
        if now - self._last_sweep >= 1.0:
            self.sweep(now)
        session = self.sessions.get(session_id)
        if self.shared:
            raw = await self.store.get("session:" + session_id, refresh_ttl=self.idle_timeout)
            if raw is None:  # ended or expired elsewhere
                if session is not None:
                    self._drop(session_id)
                return None
            if session is None:
                session = self._load(session_id, raw, server)
            else:
                _apply(session, loads_body(raw))
        if session is not None:
            session.last_seen = now
        return session

    def _load(self, session_id: str, raw: bytes, server: Any) -> Session | None:
        try:
            data = loads_body(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or server is None:
            return None
        connection = Connection(server, session_id=session_id)
        session = Session(session_id, connection, str(data.get("client", "")), self.max_events)
        _apply(session, data)
        self.sessions[session_id] = session
        self.per_client[session.client] += 1
        metrics.sessions_changed(1)
        return session

    async def save(self, session: Session) -> None:
        """Write a shared session's state through to the store (no-op for a local one)."""
        if self.shared:
            await self.store.set("session:" + session.id, _state(session), self.idle_timeout)

    async def mark_used(self, session: Session) -> None:
        if not session.used:
            session.used = True
            await self.save(session)

    # ------------------------------------------------------------ events (Last-Event-ID)
    async def record(self, session: Session, stream: str, seq: int, data: bytes) -> str:
        event_id = f"{stream}-{seq}"
        if self.shared:
            await self.store.append("events:" + session.id, event_id.encode() + b"\n" + data,
                                    max_items=self.max_events, ttl=self.idle_timeout)
        else:
            session.events.append((stream, event_id, data))
        return event_id

    async def replay_after(self, session: Session, last_event_id: str) -> list[tuple[str, bytes]] | None:
        """The events of ``last_event_id``'s stream sent after it; None when it is unknown."""
        if self.shared:
            events = []
            for item in await self.store.items("events:" + session.id):
                event_id, _, data = item.partition(b"\n")
                text = event_id.decode("ascii", "replace")
                events.append((text.partition("-")[0], text, data))
        else:
            events = list(session.events)
        stream = last_event_id.partition("-")[0]
        found = False
        out = []
        for event_stream, event_id, data in events:
            if event_id == last_event_id:
                found = True
                continue
            if found and event_stream == stream:
                out.append((event_id, data))
        return out if found else None

    # ------------------------------------------------------------ removal
    async def remove(self, session_id: str) -> bool:
        existed = self._drop(session_id)
        if self.shared:
            existed = await self._delete_from_store(session_id) or existed
        return existed

    async def _delete_from_store(self, session_id: str) -> bool:
        existed = await self.store.delete("session:" + session_id)
        await self.store.delete("events:" + session_id)
        return existed

    def _drop(self, session_id: str) -> bool:
        """Forget the live session here (its connection closed); the store is not touched."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        self.per_client[session.client] -= 1
        if self.per_client[session.client] <= 0:
            del self.per_client[session.client]
        metrics.sessions_changed(-1)
        session.connection.close()
        if session.standalone is not None:
            session.standalone.close()
        return True

    def sweep(self, now: float | None = None) -> None:
        """Drop sessions idle past the timeout (a shared store expires its own copy by TTL)."""
        if now is None:
            now = time.monotonic()
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        expired = [sid for sid, s in self.sessions.items() if now - s.last_seen > self.idle_timeout
                   and s.standalone is None]
        for sid in expired:
            self._drop(sid)


def _apply(session: Session, data: dict[str, Any]) -> None:
    """Load stored protocol state into a live session (another process may have changed it)."""
    c = session.connection
    session.used = bool(data.get("used")) or session.used
    owner = data.get("owner")
    c.owner = owner if isinstance(owner, str) else None
    c.initialized = bool(data.get("initialized"))
    version = data.get("protocolVersion")
    c.protocol_version = version if isinstance(version, str) else None
    caps = data.get("capabilities")
    c.client_capabilities = caps if isinstance(caps, dict) else {}
    info = data.get("clientInfo")
    c.client_info = info if isinstance(info, dict) else None
    level = data.get("logLevel")
    c.log_level = level if isinstance(level, str) or level is None else "debug"
    subscriptions = data.get("subscriptions")
    c.subscriptions = {u for u in subscriptions if isinstance(u, str)} if isinstance(subscriptions, list) else set()
