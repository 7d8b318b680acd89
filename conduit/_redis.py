"""The one place a Redis client is made from a URL (rate limits, MCP sessions).

``redis`` is an optional dependency (the ``redis`` extra); it is imported only here,
only when a URL is given, with short socket timeouts so a dead Redis fails a request
instead of hanging it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["redis_client"]


def redis_client(client: Any, url: str | None, owner: str) -> Any:
    """``client`` when given, else a ``redis.Redis`` for ``url``; ``owner`` names the caller in errors."""
    if client is not None:
        return client
    if url is None:
        raise ValueError(f"{owner} needs a redis client or a url")
    import redis  # optional dependency: pip install 'conduit[redis]'

    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
