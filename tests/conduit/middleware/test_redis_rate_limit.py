"""The Redis rate-limit backend against a real redis-server on 127.0.0.1 (the ``redis_client`` fixture)."""

from __future__ import annotations

import time

import httpx
import pytest

from conduit import Conduit
from conduit.middleware import RateLimit, RedisBackend
from conduit.testing.client import LiveServer

redis = pytest.importorskip("redis", reason="redis is in the test extra (./dev test installs it)")


def test_shared_bucket_across_two_servers(redis_client):
    """Two apps (as two workers or hosts would be) share one limit through Redis."""
    def make():
        app = Conduit()
        app.add_middleware(RateLimit(4, 60.0, backend=RedisBackend(redis_client, prefix="t1:")))

        @app.get("/")
        async def index():
            return "ok"
        return app

    with LiveServer(make()) as a, LiveServer(make()) as b:
        statuses = [httpx.get((a if i % 2 else b).url + "/").status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_bucket_refills_and_expires(redis_client):
    backend = RedisBackend(redis_client, prefix="t2:")
    first = backend.take("k", 2, 20.0)
    assert first.allowed and first.remaining == 1
    assert backend.take("k", 2, 20.0).allowed
    refused = backend.take("k", 2, 20.0)
    assert not refused.allowed and 0 < refused.retry_after <= 0.05 + 1e-6
    time.sleep(0.12)
    assert backend.take("k", 2, 20.0).allowed
    assert 0 < redis_client.pttl("t2:k") <= 1200


def test_fail_open_when_redis_is_down():
    import trio

    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    backend = RedisBackend(client)
    decision = trio.run(backend.acquire, "k", 5, 1.0)
    assert decision.allowed
    strict = RedisBackend(client, fail_open=False)
    with pytest.raises(redis.ConnectionError):
        trio.run(strict.acquire, "k", 5, 1.0)
