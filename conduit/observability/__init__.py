"""Observability: Prometheus metrics, liveness and readiness.

``install(app)`` adds the metrics middleware and the ``/metrics``, ``/health``
and ``/ready`` routes; each part can be turned off or moved. Metrics go through
``prometheus_client`` (never hand-written text) and work with ``--workers N``
through its multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by the
server's supervisor). Nothing here does socket IO.
"""

from __future__ import annotations

from .health import add_readiness_check, is_ready
from .install import install
from .metrics import (
    MetricsMiddleware,
    inference_timer,
    observe_batch_size,
    observe_inference,
    render_metrics,
)

__all__ = [
    "MetricsMiddleware",
    "add_readiness_check",
    "inference_timer",
    "install",
    "is_ready",
    "observe_batch_size",
    "observe_inference",
    "render_metrics",
]
