"""Observability: Prometheus metrics, liveness and readiness.

``install(app)`` adds the metrics middleware and the ``/metrics``, ``/health``
and ``/ready`` routes (and, when asked, a JSON statistics route); each part can be
turned off or moved. ``app.statistics()`` and :func:`route_hints` read what the
metrics saw; :func:`install_tracing` adds OpenTelemetry spans (``conduit[otel]``). Metrics go through
``prometheus_client`` (never hand-written text) and work with ``--workers N``
through its multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by the
server's supervisor). Nothing here does socket IO.
"""

from __future__ import annotations

from .health import add_readiness_check, is_ready
from .hints import route_hints
from .install import install
from .metrics import (
    MetricsMiddleware,
    inference_timer,
    observe_batch_size,
    observe_inference,
    render_metrics,
)
from .statistics import AppStatistics, RouteStatistics
from .tracing import install_tracing

__all__ = [
    "AppStatistics",
    "MetricsMiddleware",
    "RouteStatistics",
    "install_tracing",
    "route_hints",
    "add_readiness_check",
    "inference_timer",
    "install",
    "is_ready",
    "observe_batch_size",
    "observe_inference",
    "render_metrics",
]
