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
    conduit_request_body_bytes_total{method, route}           counter (declared Content-Length)
    conduit_response_body_bytes_total{method, route}          counter (rendered bodies; streams count 0)
    conduit_inference_duration_seconds{model}                 histogram (ML hook)
    conduit_inference_batch_size{model}                       histogram (ML hook)

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

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
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
    """The process-wide metric objects, created once in ``prometheus_client.REGISTRY``."""
    global _metrics
    if _metrics is not None:
        return _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import Counter, Gauge, Histogram

            _metrics = SimpleNamespace(
                requests=Counter("conduit_requests", "HTTP requests answered.",
                                 ["method", "route", "status"]),
                latency=Histogram("conduit_request_duration_seconds",
                                  "Time from request head to response object.",
                                  ["method", "route"], buckets=_LATENCY_BUCKETS),
                in_flight=Gauge("conduit_requests_in_flight", "Requests being handled now.",
                                multiprocess_mode="livesum"),
                errors=Counter("conduit_request_errors", "Responses with status >= 400.",
                               ["method", "route", "status"]),
                bytes_in=Counter("conduit_request_body_bytes", "Request body bytes (Content-Length).",
                                 ["method", "route"]),
                bytes_out=Counter("conduit_response_body_bytes", "Response body bytes (not streams).",
                                  ["method", "route"]),
                inference=Histogram("conduit_inference_duration_seconds", "Model inference time.",
                                    ["model"], buckets=_LATENCY_BUCKETS),
                batch=Histogram("conduit_inference_batch_size", "Rows per inference call.",
                                ["model"], buckets=_BATCH_BUCKETS),
            )
    return _metrics


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

def render_metrics() -> tuple[bytes, str]:
    """The exposition text and its content type (all workers in multiprocess mode)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    metrics()  # the families exist even before the first request
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------- middleware

class MetricsMiddleware:
    """Middleware: count and time every request by route pattern.

    Label children are cached per (method, route, status), so a request costs a
    dict lookup, a gauge inc/dec, three counter increments and one histogram observe.
    With an ``observer`` (:class:`~conduit.observability.statistics.ParamObserver`)
    the parameter values of matched routes are sampled for the route hints.
    """

    def __init__(self, exclude: tuple[str, ...] = ("/metrics",), observer=None):
        self.exclude = frozenset(p.encode() for p in exclude)
        self.observer = observer

    def __call__(self, handler):
        from ..middleware.base import respond

        m = metrics()
        in_flight = m.in_flight
        children: dict[tuple, tuple] = {}
        exclude = self.exclude
        observe_params = self.observer.observe if self.observer is not None else None

        def child(method: str, route: str, status: int):
            key = (method, route, status)
            found = children.get(key)
            if found is None:
                code = str(status)
                found = (m.requests.labels(method, route, code), m.latency.labels(method, route),
                         m.errors.labels(method, route, code) if status >= 400 else None,
                         m.bytes_in.labels(method, route), m.bytes_out.labels(method, route))
                if len(children) < 10_000:
                    children[key] = found
            return found

        async def observe(request: Request) -> Response:
            if request.raw_path in exclude:
                return await handler(request)
            start = time.perf_counter()
            in_flight.inc()
            try:
                response = await respond(handler, request)
            finally:
                in_flight.dec()
            route = request.route
            method = request.method if request.method in _KNOWN_METHODS else "OTHER"
            count, latency, errors, bytes_in, bytes_out = child(
                method, route.pattern if route is not None else "<unmatched>", response.status_code)
            count.inc()
            latency.observe(time.perf_counter() - start)
            if errors is not None:
                errors.inc()
            length = request.headers.get("content-length")
            if length is not None and length.isdigit():
                bytes_in.inc(int(length))
            body = getattr(response, "body", None)
            if body:
                bytes_out.inc(len(body))
            if observe_params is not None and route is not None and route.param_names:
                observe_params(route, request.path_params)
            return response
        return observe
