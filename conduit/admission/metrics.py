"""Prometheus families of the admission gate (created on first use, not at import).

::

    conduit_memory_rss_bytes                 gauge, per process (liveall)
    conduit_memory_shedding                  gauge 1 while the memory guard refuses requests (livemax)
    conduit_memory_shed_transitions_total    counter: times the guard started shedding
    conduit_shed_requests_total{reason}      counter: memory | concurrency | queue_timeout
    conduit_concurrency_limit                gauge: the current in-flight cap (liveall; moves when adaptive)
    conduit_requests_queued                  gauge: requests waiting for a slot (livesum)
"""

from __future__ import annotations

from types import SimpleNamespace

from ..observability.metrics import lazy_families


def _build() -> SimpleNamespace:
    from prometheus_client import Counter, Gauge

    return SimpleNamespace(
        rss=Gauge("conduit_memory_rss_bytes", "Resident set size of this process.",
                  multiprocess_mode="liveall"),
        shedding=Gauge("conduit_memory_shedding", "1 while the memory guard refuses new requests.",
                       multiprocess_mode="livemax"),
        transitions=Counter("conduit_memory_shed_transitions", "Times the memory guard started shedding."),
        shed=Counter("conduit_shed_requests", "Requests refused with 503 by admission control.", ["reason"]),
        limit=Gauge("conduit_concurrency_limit", "Current cap on requests in flight.",
                    multiprocess_mode="liveall"),
        queued=Gauge("conduit_requests_queued", "Requests waiting for an in-flight slot.",
                     multiprocess_mode="livesum"),
    )


admission_metrics = lazy_families(_build)
