"""Request and ML metrics through ``prometheus_client``.

Metrics are process-wide (the Prometheus idiom) and created on first use, not at
import. Labels are bounded: the route *pattern* (``/users/{id:int}``, or
``<unmatched>`` for 404s), a method from a fixed set, and the status code, so a
scan of random paths cannot blow up the series count.

Families::

    conduit_requests_total{method, route, status}             counter
    conduit_request_duration_seconds{method, route}           histogram
    conduit_requests_in_flight                                gauge (livesum across workers)
    conduit_request_errors_total{method, route, status}       counter, status >= 400
    conduit_request_body_bytes_total{method, route}           counter (body bytes the app read)
    conduit_response_body_bytes_total{method, route}          counter (rendered bodies; streams count 0)
    conduit_inference_duration_seconds{model}                 histogram (ML hook)
    conduit_inference_batch_size{model}                       histogram (ML hook)

In one process the request families are counted in plain lists and built at scrape
time (:mod:`.request_counts`: well under 1 µs per request); in multiprocess mode
(several workers) they are ``prometheus_client`` metrics, written to the shared files.

Resilience families (circuit breakers, retries...) live in
:mod:`conduit.resilience` and share the registry.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace
from collections.abc import Iterator

from ..http.request import Request
from ..http.response import Response
from .request_counts import KNOWN_METHODS, RouteCounts, collector

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
_lock = threading.Lock()
_metrics: SimpleNamespace | None = None


def lazy_families(build):
    """``build() -> SimpleNamespace`` of metric families, run once, on first use, under a lock.

    Metrics are created on first use, not at import, so importing a module never
    touches the registry (and a module imported twice never registers twice).
    """
    built: list[SimpleNamespace] = []
    lock = threading.Lock()

    def families() -> SimpleNamespace:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]
    return families


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def metrics() -> SimpleNamespace:
    """The process-wide ML metric objects, created once in ``prometheus_client.REGISTRY``."""
    global _metrics
    if _metrics is not None:
        return _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import Histogram

            _metrics = SimpleNamespace(
                inference=Histogram("conduit_inference_duration_seconds", "Model inference time.",
                                    ["model"], buckets=_LATENCY_BUCKETS),
                batch=Histogram("conduit_inference_batch_size", "Rows per inference call.",
                                ["model"], buckets=_BATCH_BUCKETS),
            )
    return _metrics


def _build_request_metrics() -> SimpleNamespace:
    from prometheus_client import Counter, Gauge, Histogram

    return SimpleNamespace(
        requests=Counter("conduit_requests", "HTTP requests answered.", ["method", "route", "status"]),
        latency=Histogram("conduit_request_duration_seconds", "Time from request head to response object.",
                          ["method", "route"], buckets=_LATENCY_BUCKETS),
        in_flight=Gauge("conduit_requests_in_flight", "Requests being handled now.", multiprocess_mode="livesum"),
        errors=Counter("conduit_request_errors", "Responses with status >= 400.", ["method", "route", "status"]),
        bytes_in=Counter("conduit_request_body_bytes", "Request body bytes the app read.", ["method", "route"]),
        bytes_out=Counter("conduit_response_body_bytes", "Response body bytes (not streams).", ["method", "route"]),
    )


#: The request families as ``prometheus_client`` metrics (multiprocess mode only).
request_metrics = lazy_families(_build_request_metrics)


# ------------------------------------------------------------------ ML hooks

def observe_inference(model: str, seconds: float, batch_size: int | None = None) -> None:
    """Record one inference call of ``model`` (and its batch size when given)."""
    m = metrics()
    m.inference.labels(model).observe(seconds)
    if batch_size is not None:
        m.batch.labels(model).observe(batch_size)


def observe_batch_size(model: str, batch_size: int) -> None:
    metrics().batch.labels(model).observe(batch_size)


@contextmanager
def inference_timer(model: str, batch_size: int | None = None) -> Iterator[None]:
    """``with inference_timer("iris"): model.predict(x)`` records the latency."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_inference(model, time.perf_counter() - start, batch_size)


# ---------------------------------------------------------------- exposition

def metrics_registry():
    """The registry to read: this process's, or one over every worker's files (multiprocess mode).

    Every family exists in it even before the first request.
    """
    from prometheus_client import REGISTRY, CollectorRegistry

    metrics()
    if multiprocess_dir():
        from prometheus_client import multiprocess

        request_metrics()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    collector()
    return REGISTRY


def render_metrics() -> tuple[bytes, str]:
    """The exposition text and its content type (all workers in multiprocess mode)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(metrics_registry()), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------- middleware

class MetricsMiddleware:
    """Middleware: count and time every request by route pattern.

    In one process a request costs a dict lookup and a few list increments
    (:class:`~.request_counts.RouteCounts`); in multiprocess mode it updates the
    cached ``prometheus_client`` label children (:class:`_SharedFileCounts`). With an
    ``observer`` (:class:`~conduit.observability.statistics.ParamObserver`) the
    parameter values of matched routes are sampled for the route hints.
    """

    def __init__(self, exclude: tuple[str, ...] = ("/metrics",), observer=None):
        self.exclude = frozenset(p.encode() for p in exclude)
        self.observer = observer

    def __call__(self, handler):
        from ..middleware.base import error_answer

        counts = _SharedFileCounts() if multiprocess_dir() else RouteCounts(_LATENCY_BUCKETS)
        record = counts.recorder()
        exclude = self.exclude
        observe_params = self.observer.observe if self.observer is not None else None
        clock = time.perf_counter

        async def observe(request: Request) -> Response:
            if request.raw_path in exclude:
                return await handler(request)
            start = clock()
            counts.in_flight += 1
            try:
                response = await handler(request)
            except Exception as exc:  # decorated like any answer (middleware.base.respond, inlined)
                response = await error_answer(request, exc)
            finally:
                counts.in_flight -= 1
            seconds = clock() - start
            route = request.route
            body = getattr(response, "body", None)
            record(request.method, route, response.status_code, seconds, request.received, len(body) if body else 0)
            if observe_params is not None and route is not None and route.param_names:
                observe_params(route, request.path_params)
            return response
        return observe


class _SharedFileCounts:
    """:class:`~.request_counts.RouteCounts`'s interface over ``prometheus_client`` metrics
    (multiprocess mode: each update goes to this worker's file). Label children are cached."""

    def __init__(self) -> None:
        self.families = request_metrics()
        self.children: dict[tuple, tuple] = {}

    @property
    def in_flight(self) -> int:
        return 0  # the gauge is the truth here; the middleware only moves it

    @in_flight.setter
    def in_flight(self, value: int) -> None:
        self.families.in_flight.inc() if value > 0 else self.families.in_flight.dec()

    def recorder(self):
        return self.record

    def record(self, method: str, route, status: int, seconds: float, bytes_in: int, bytes_out: int) -> None:
        key = (method, route, status)
        found = self.children.get(key)
        if found is None:
            method = method if method in KNOWN_METHODS else "OTHER"
            route = route.pattern if route is not None else "<unmatched>"
            m, code = self.families, str(status)
            found = (m.requests.labels(method, route, code), m.latency.labels(method, route),
                     m.errors.labels(method, route, code) if status >= 400 else None,
                     m.bytes_in.labels(method, route), m.bytes_out.labels(method, route))
            if len(self.children) < 10_000:
                self.children[key] = found
        count, latency, errors, total_in, total_out = found
        count.inc()
        latency.observe(seconds)
        if errors is not None:
            errors.inc()
        if bytes_in:
            total_in.inc(bytes_in)
        if bytes_out:
            total_out.inc(bytes_out)
