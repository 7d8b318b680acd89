"""MCP session metrics through ``prometheus_client``, created on first use.

Families (they share the process registry, so the app's ``/metrics`` shows them)::

    conduit_mcp_sessions                          gauge, live sessions (livesum across workers)
    conduit_mcp_session_refusals_total{reason}    counter: per_client (429), full (503)
    conduit_mcp_session_evictions_total{reason}   counter: never_used, idle

Labels come from the fixed sets above, never from client input.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

__all__ = ["refused", "evicted", "sessions_changed"]

_lock = threading.Lock()
_metrics: SimpleNamespace | None = None


def _m() -> SimpleNamespace:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                from prometheus_client import Counter, Gauge

                _metrics = SimpleNamespace(
                    sessions=Gauge("conduit_mcp_sessions", "Live MCP sessions.", multiprocess_mode="livesum"),
                    refusals=Counter("conduit_mcp_session_refusals", "initialize calls refused a session.",
                                     ["reason"]),
                    evictions=Counter("conduit_mcp_session_evictions", "Sessions evicted to make room.",
                                      ["reason"]),
                )
    return _metrics


def refused(reason: str) -> None:
    _m().refusals.labels(reason).inc()


def evicted(reason: str) -> None:
    _m().evictions.labels(reason).inc()


def sessions_changed(delta: int) -> None:
    _m().sessions.inc(delta)
