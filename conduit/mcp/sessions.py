"""Handshake-era HTTP sessions: ``Mcp-Session-Id`` -> protocol connection and event log.

A session is created only by a successful ``initialize`` (a rejected request never
makes one), removed by DELETE, and expires after ``idle_timeout`` seconds without a
request (swept lazily, at most once a second). Each session keeps a bounded log of the
SSE events it sent, so a client that lost a stream can resume it with ``Last-Event-ID``.
"""

from __future__ import annotations

import collections
import secrets
import time
from typing import Any

from conduit.mcp.protocol import Connection

__all__ = ["Session", "SessionStore"]


class Session:
    __slots__ = ("id", "connection", "last_seen", "events", "streams", "standalone", "_next_stream")

    def __init__(self, session_id: str, connection: Connection, max_events: int) -> None:
        self.id = session_id
        self.connection = connection
        self.last_seen = time.monotonic()
        self.events: collections.deque[tuple[str, str, bytes]] = collections.deque(maxlen=max_events)
        self.standalone: Any = None  # the memory channel of the GET stream, when one is open
        self._next_stream = 0

    def new_stream(self) -> str:
        self._next_stream += 1
        return str(self._next_stream)

    def record(self, stream: str, seq: int, data: bytes) -> str:
        event_id = f"{stream}-{seq}"
        self.events.append((stream, event_id, data))
        return event_id

    def replay_after(self, last_event_id: str) -> tuple[str, list[tuple[str, bytes]]] | None:
        stream, _, _ = last_event_id.partition("-")
        found = False
        out = []
        for event_stream, event_id, data in self.events:
            if event_id == last_event_id:
                found = True
                continue
            if found and event_stream == stream:
                out.append((event_id, data))
        return (stream, out) if found else None


class SessionStore:
    def __init__(self, idle_timeout: float = 1800.0, max_sessions: int = 10000, max_events: int = 512) -> None:
        self.idle_timeout = idle_timeout
        self.max_sessions = max_sessions
        self.max_events = max_events
        self.sessions: dict[str, Session] = {}
        self._last_sweep = 0.0

    def create(self, connection: Connection) -> Session:
        self.sweep()
        session_id = secrets.token_hex(16)
        connection.session_id = session_id
        session = self.sessions[session_id] = Session(session_id, connection, self.max_events)
        return session

    def get(self, session_id: str) -> Session | None:
        now = time.monotonic()
        if now - self._last_sweep >= 1.0:
            self.sweep(now)
        session = self.sessions.get(session_id)
        if session is not None:
            session.last_seen = now
        return session

    def remove(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        session.connection.close()
        if session.standalone is not None:
            session.standalone.close()
        return True

    def full(self) -> bool:
        return len(self.sessions) >= self.max_sessions

    def sweep(self, now: float | None = None) -> None:
        if now is None:
            now = time.monotonic()
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        expired = [sid for sid, s in self.sessions.items() if now - s.last_seen > self.idle_timeout
                   and s.standalone is None]
        for sid in expired:
            self.remove(sid)
