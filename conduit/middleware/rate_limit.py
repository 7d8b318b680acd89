"""Rate limiting: a token bucket per client key, answered with 429 and ``RateLimit-*`` headers.

Each key (client IP by default, or an API key, or anything a function returns)
owns a bucket of ``burst`` tokens refilled at ``rate / period`` tokens a second;
a request takes one token or gets ``429 Too Many Requests`` with ``Retry-After``
(RFC 9110 §10.2.3). Every answer carries ``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` and ``RateLimit-Policy``
(draft-ietf-httpapi-ratelimit-headers).

Backends:

- :class:`MemoryBackend` (default) keeps buckets in this process, in an LRU of at
  most ``max_keys`` entries, so a flood of distinct clients cannot grow memory
  without bound. Limits are per process: with ``--workers N`` a client gets up to
  N times the rate (the kernel spreads connections over workers).
- :class:`RedisBackend` keeps the buckets in Redis (one atomic Lua script per
  request), shared by every worker and host. The ``redis`` client is imported
  lazily; its blocking calls run in a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..anyloop import run_in_thread

from ..exceptions import error_response
from ..http.request import Request
from ..http.request_id import request_id_of
from ..http.response import Response
from .base import Handler

logger = logging.getLogger("conduit.ratelimit")

KeyFunc = Callable[[Request], "str | None"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of taking a token: whether it was allowed and the bucket after it."""

    allowed: bool
    remaining: int
    #: Seconds until one token is available again (0 when allowed).
    retry_after: float
    #: Seconds until the bucket is full again.
    reset: float


def by_client_ip(request: Request) -> str | None:
    """The peer address. Behind a proxy, use a key function that reads a header you trust."""
    return request.client[0] if request.client else "unknown"


def by_api_key(header: str = "x-api-key") -> KeyFunc:
    """Key by API key (``header`` or ``Authorization: Bearer``), falling back to the client IP.

    The key is hashed before it is stored, so no secret sits in the bucket table.
    """
    header = header.lower()

    def key(request: Request) -> str | None:
        value = request.headers.get(header)
        if value is None:
            auth = request.headers.get("authorization", "")
            if auth[:7].lower() == "bearer ":
                value = auth[7:].strip()
        if value:
            return "key:" + hashlib.sha256(value.encode("latin-1", "replace")).hexdigest()[:32]
        return by_client_ip(request)
    return key


def _decide(tokens: float, capacity: int, per_second: float, allowed: bool) -> Decision:
    return Decision(allowed, int(tokens), 0.0 if allowed else (1.0 - tokens) / per_second,
                    (capacity - tokens) / per_second)


class MemoryBackend:
    """Token buckets in this process, at most ``max_keys`` of them (least recently used evicted).

    Evicting a bucket forgets it; a bucket untouched for one period is full again
    anyway, so eviction only matters when more than ``max_keys`` clients are
    active within one period, and then it errs towards letting requests through.
    """

    def __init__(self, max_keys: int = 100_000):
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, capacity: int, per_second: float, now: float | None = None) -> Decision:
        now = time.monotonic() if now is None else now
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            bucket = [float(capacity), now]
            buckets[key] = bucket
            if len(buckets) > self.max_keys:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(key)
            bucket[0] = min(float(capacity), bucket[0] + (now - bucket[1]) * per_second)
            bucket[1] = now
        allowed = bucket[0] >= 1.0
        if allowed:
            bucket[0] -= 1.0
        return _decide(bucket[0], capacity, per_second, allowed)

    async def acquire(self, key: str, capacity: int, per_second: float) -> Decision:
        return self.take(key, capacity, per_second)


# One round trip, atomic: refill from Redis' own clock, take a token, set the expiry
# to the time the bucket is full again (idle buckets vanish: memory stays bounded).
_REDIS_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisBackend:
    """Token buckets in Redis, shared by every worker and host.

    ``client`` is a ``redis.Redis`` (or compatible) instance, or pass ``url``
    (``redis://host:6379/0``). When Redis fails, ``fail_open`` (default True)
    lets the request through and logs a warning; set it False to answer 503.
    """

    def __init__(self, client: Any = None, *, url: str | None = None, prefix: str = "conduit:ratelimit:",
                 fail_open: bool = True):
        from .._redis import redis_client

        client = redis_client(client, url, "RedisBackend")
        self.client = client
        self.prefix = prefix
        self.fail_open = fail_open
        self._script = client.register_script(_REDIS_SCRIPT)

    def take(self, key: str, capacity: int, per_second: float) -> Decision:
        allowed, tokens = self._script(keys=[self.prefix + key], args=[capacity, repr(per_second)])
        tokens = float(tokens.decode() if isinstance(tokens, bytes) else tokens)
        return _decide(tokens, capacity, per_second, bool(int(allowed)))

    async def acquire(self, key: str, capacity: int, per_second: float) -> Decision:
        try:
            return await run_in_thread(self.take, key, capacity, per_second)
        except Exception as exc:
            if not self.fail_open:
                raise
            logger.warning("rate-limit backend failed, letting the request through: %s", exc)
            return Decision(True, capacity, 0.0, 0.0)


class RateLimit:
    """Middleware: ``rate`` requests per ``period`` seconds per key (100 per minute).

    Parameters
    ----------
    rate, period:
        The sustained rate: ``rate`` tokens refilled every ``period`` seconds.
    burst:
        Bucket capacity (defaults to ``rate``): how many requests may arrive at once.
    key:
        ``request -> str | None``; None exempts the request. Defaults to the client IP;
        see :func:`by_api_key`.
    backend:
        :class:`MemoryBackend` (default) or :class:`RedisBackend`.
    exempt:
        Paths never limited (``/health``, ``/ready`` by default, so probes keep working).
    """

    def __init__(self, rate: int = 100, period: float = 60.0, *, burst: int | None = None,
                 key: KeyFunc = by_client_ip, backend: MemoryBackend | RedisBackend | None = None,
                 exempt: Iterable[str] = ("/health", "/ready"), headers: bool = True):
        if rate <= 0 or period <= 0:
            raise ValueError("rate and period must be positive")
        self.capacity = int(burst if burst is not None else rate)
        self.per_second = rate / period
        self.key = key
        self.backend = backend if backend is not None else MemoryBackend()
        self.exempt = frozenset(p.encode() for p in exempt)
        self.send_headers = headers
        self.policy = f"{rate};w={int(period) if float(period).is_integer() else period}"
        if self.capacity != rate:
            self.policy += f";burst={self.capacity}"

    def _headers(self, decision: Decision) -> list[tuple[str, str]]:
        return [("ratelimit-limit", str(self.capacity)),
                ("ratelimit-remaining", str(max(0, decision.remaining))),
                ("ratelimit-reset", str(math.ceil(decision.reset))),
                ("ratelimit-policy", self.policy)]

    def __call__(self, handler: Handler) -> Handler:
        async def rate_limit(request: Request) -> Response:
            if request.raw_path in self.exempt:
                return await handler(request)
            key = self.key(request)
            if key is None:
                return await handler(request)
            decision = await self.backend.acquire(key, self.capacity, self.per_second)
            if not decision.allowed:
                retry = max(1, math.ceil(decision.retry_after))
                response = error_response(429, f"rate limit exceeded, retry in {retry} s",
                                          request_id_of(request))
                response.headers.append(("retry-after", str(retry)))
                response.headers.extend(self._headers(decision))
                return response
            response = await handler(request)
            if self.send_headers:
                response.headers.extend(self._headers(decision))
            return response
        return rate_limit
