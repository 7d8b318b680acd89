"""Where MCP state lives when it must outlive one process: a key/value store with TTLs.

The HTTP transport keeps live sessions (protocol connections, open streams) in its own
:class:`~conduit.mcp.transports.sessions.SessionTable`; what another worker or replica needs to
carry a session on is written through a :class:`SessionStore`:

=================================  ======================================================
key                                value
=================================  ======================================================
``session:<id>``                   the session's protocol state (JSON), TTL = idle timeout
``events:<id>``                    the session's SSE events, a capped list (resumption)
``state-secret``                   the HMAC key of 2026-07-28 ``requestState`` tokens
=================================  ======================================================

The interface is deliberately small (get/set/add/delete, a capped list) so that other
state, task records for instance, fits it unchanged: pick a key prefix and a TTL.
Every key is namespaced by the store's ``prefix``.

Two implementations: :class:`MemorySessionStore` (the default: this process only, so the
transport skips the write-through entirely) and :class:`RedisSessionStore` (``shared``:
every process pointed at one Redis server sees the same sessions). Redis calls are
blocking redis-py calls run in a worker thread, as the rate limiter's Redis backend does.
"""

from __future__ import annotations

import time
from typing import Any

import trio

__all__ = ["SessionStore", "MemorySessionStore", "RedisSessionStore", "StoreError"]


class StoreError(RuntimeError):
    """The store could not be reached or answered something unusable."""


class SessionStore:
    """Key/value with TTLs (seconds), plus capped lists; all methods are async.

    ``shared`` says whether other processes see what this store holds: the transport
    writes session state through only when it is true.
    """

    shared: bool = False

    async def get(self, key: str, *, refresh_ttl: float | None = None) -> bytes | None:
        """The value, or None; ``refresh_ttl`` restarts the key's TTL in the same step."""
        raise NotImplementedError

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        raise NotImplementedError

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set ``key`` only if it is absent; True when this call set it."""
        raise NotImplementedError

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        raise NotImplementedError

    async def append(self, key: str, value: bytes, *, max_items: int, ttl: float | None = None) -> None:
        """Append to the list at ``key``, keeping its newest ``max_items`` entries."""
        raise NotImplementedError

    async def items(self, key: str) -> list[bytes]:
        """The list at ``key``, oldest first (empty when absent)."""
        raise NotImplementedError


class MemorySessionStore(SessionStore):
    """A dict with expiry times: one process (or several endpoints in one process)."""

    def __init__(self, *, shared: bool = False, clock: Any = time.monotonic) -> None:
        self.shared = shared
        self._clock = clock
        self._values: dict[str, tuple[Any, float | None]] = {}

    def _live(self, key: str) -> Any:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self._clock():
            del self._values[key]
            return None
        return value

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    async def get(self, key: str, *, refresh_ttl: float | None = None) -> bytes | None:
        value = self._live(key)
        if value is not None and refresh_ttl is not None:
            self._values[key] = (value, self._expiry(refresh_ttl))
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._values[key] = (bytes(value), self._expiry(ttl))

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        await self.set(key, value, ttl)
        return True

    async def delete(self, key: str) -> bool:
        return self._values.pop(key, None) is not None

    async def append(self, key: str, value: bytes, *, max_items: int, ttl: float | None = None) -> None:
        current = self._live(key)
        items = list(current) if isinstance(current, list) else []
        items.append(bytes(value))
        self._values[key] = (items[-max_items:], self._expiry(ttl))

    async def items(self, key: str) -> list[bytes]:
        current = self._live(key)
        return list(current) if isinstance(current, list) else []

    def __len__(self) -> int:
        return sum(1 for key in list(self._values) if self._live(key) is not None)


class RedisSessionStore(SessionStore):
    """Sessions in Redis (the ``redis`` extra), shared by every worker and replica.

    ``client`` is a ``redis.Redis``; or give ``url`` (``redis://127.0.0.1:6379/0``).
    Keys are ``prefix`` + the key, so one Redis can hold several servers' sessions.
    """

    shared = True

    def __init__(self, client: Any = None, *, url: str | None = None, prefix: str = "conduit:mcp:") -> None:
        from conduit._redis import redis_client

        self.client = redis_client(client, url, "RedisSessionStore")
        self.prefix = prefix

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            return fn(*args, **kwargs)
        try:
            return await trio.to_thread.run_sync(call)
        except Exception as exc:  # redis.RedisError and socket errors alike
            raise StoreError(f"session store (redis) failed: {exc}") from exc

    @staticmethod
    def _ms(ttl: float | None) -> int | None:
        return None if ttl is None else max(1, int(ttl * 1000))

    async def get(self, key: str, *, refresh_ttl: float | None = None) -> bytes | None:
        if refresh_ttl is None:
            return await self._run(self.client.get, self.prefix + key)
        return await self._run(self.client.getex, self.prefix + key, px=self._ms(refresh_ttl))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._run(self.client.set, self.prefix + key, value, px=self._ms(ttl))

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        return bool(await self._run(self.client.set, self.prefix + key, value, px=self._ms(ttl), nx=True))

    async def delete(self, key: str) -> bool:
        return bool(await self._run(self.client.delete, self.prefix + key))

    async def append(self, key: str, value: bytes, *, max_items: int, ttl: float | None = None) -> None:
        full = self.prefix + key

        def push() -> None:
            pipe = self.client.pipeline()
            pipe.rpush(full, value)
            pipe.ltrim(full, -max_items, -1)
            if ttl is not None:
                pipe.pexpire(full, self._ms(ttl))
            pipe.execute()
        await self._run(push)

    async def items(self, key: str) -> list[bytes]:
        return list(await self._run(self.client.lrange, self.prefix + key, 0, -1))
