"""Request metrics appended to plain lists per request, folded into Prometheus families at scrape.

Why: each update of a ``prometheus_client`` Counter, Gauge or Histogram takes a lock;
the five updates and two gauge moves of a request cost about 5 µs. Here a request costs
one dict lookup and four list appends (:meth:`RouteCounts.record`); every
:data:`FOLD_EVERY` requests, and when ``/metrics`` is read, numpy folds the lists into
per-series arrays (counts, sums, histogram buckets by index), and
:class:`RequestCountsCollector` builds the families :mod:`.metrics` documents from them.

Single process only: in Prometheus multiprocess mode (several workers) every worker must
write its values to the shared files, so :class:`~.metrics.MetricsMiddleware` keeps
``prometheus_client``'s own metrics there.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

#: Requests recorded between two folds (bounds the lists' memory).
FOLD_EVERY = 4096
#: Distinct raw (method, route, status) keys remembered; past it a key is normalised each time.
MAX_RAW_KEYS = 10_000
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class RouteCounts:
    """One middleware's counts, by series (method, route pattern, status), and requests in flight."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.bounds = np.asarray(buckets, dtype=np.float64)
        self.series: list[tuple[str, str, int]] = []  # series id -> labels
        self._ids: dict[tuple, int] = {}  # raw (method, route or None, status) or labels -> series id
        self.in_flight = 0
        self._pending = ([], [], [], [])  # series ids, seconds, body bytes in, body bytes out
        self.count = np.zeros(0, np.int64)
        self.seconds = np.zeros(0, np.float64)
        self.bytes_in = np.zeros(0, np.float64)
        self.bytes_out = np.zeros(0, np.float64)
        self.buckets = np.zeros((0, len(buckets) + 1), np.int64)  # per series, by bucket index (+Inf last)
        self._fold_lock = threading.Lock()
        collector().tables.add(self)

    def recorder(self):
        """``record(method, route, status, seconds, bytes_in, bytes_out)`` for the hot path."""
        ids, pending = self._ids, self._pending
        add_id, add_seconds, add_in, add_out = (p.append for p in pending)
        series_of, fold = self.series_of, self.fold

        def record(method: str, route, status: int, seconds: float, bytes_in: int, bytes_out: int) -> None:
            series = ids.get((method, route, status))
            add_id(series if series is not None else series_of(method, route, status))
            add_seconds(seconds)
            add_in(bytes_in)
            add_out(bytes_out)
            if len(pending[0]) >= FOLD_EVERY:
                fold()
        return record

    def series_of(self, method: str, route, status: int) -> int:
        """The series id of a request (a new series on first sight); ``route`` is a Route or None."""
        labels = (method if method in KNOWN_METHODS else "OTHER",
                  route.pattern if route is not None else "<unmatched>", status)
        series = self._ids.get(labels)
        if series is None:
            series = self._ids[labels] = len(self.series)
            self.series.append(labels)
        if len(self._ids) < MAX_RAW_KEYS:
            self._ids[(method, route, status)] = series
        return series

    def fold(self) -> None:
        """Move the recorded requests into the arrays (the loop thread and a scrape may both call it)."""
        with self._fold_lock:
            pending = self._pending
            n = min(map(len, pending))  # the loop thread may be between two appends
            if not n:
                return
            ids, seconds, bytes_in, bytes_out = (np.array(p[:n]) for p in pending)
            for p in pending:
                del p[:n]
            size = len(self.series)
            if size > len(self.count):
                self._grow(size)
            width = self.buckets.shape[1]
            self.count += np.bincount(ids, minlength=size)
            self.seconds += np.bincount(ids, weights=seconds, minlength=size)
            self.bytes_in += np.bincount(ids, weights=bytes_in, minlength=size)
            self.bytes_out += np.bincount(ids, weights=bytes_out, minlength=size)
            index = ids * width + np.searchsorted(self.bounds, seconds, side="left")  # le: first bound >= s
            self.buckets += np.bincount(index, minlength=size * width).reshape(size, width)

    def _grow(self, size: int) -> None:
        extra = size - len(self.count)
        self.count = np.concatenate([self.count, np.zeros(extra, np.int64)])
        self.seconds = np.concatenate([self.seconds, np.zeros(extra)])
        self.bytes_in = np.concatenate([self.bytes_in, np.zeros(extra)])
        self.bytes_out = np.concatenate([self.bytes_out, np.zeros(extra)])
        self.buckets = np.concatenate([self.buckets, np.zeros((extra, self.buckets.shape[1]), np.int64)])

    def snapshot(self) -> list[tuple[tuple[str, str, int], int, float, float, float, np.ndarray]]:
        """Folded figures per series: (labels, count, seconds, bytes in, bytes out, bucket counts)."""
        self.fold()
        with self._fold_lock:
            return [(labels, int(self.count[i]), float(self.seconds[i]), float(self.bytes_in[i]),
                     float(self.bytes_out[i]), self.buckets[i].copy())
                    for i, labels in enumerate(self.series[:len(self.count)])]


class RequestCountsCollector:
    """A ``prometheus_client`` collector over every live :class:`RouteCounts` of the process."""

    def __init__(self) -> None:
        self.tables: weakref.WeakSet[RouteCounts] = weakref.WeakSet()

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        requests = CounterMetricFamily("conduit_requests", "HTTP requests answered.",
                                       labels=["method", "route", "status"])
        errors = CounterMetricFamily("conduit_request_errors", "Responses with status >= 400.",
                                     labels=["method", "route", "status"])
        latency = HistogramMetricFamily("conduit_request_duration_seconds",
                                        "Time from request head to response object.", labels=["method", "route"])
        bytes_in = CounterMetricFamily("conduit_request_body_bytes", "Request body bytes the app read.",
                                       labels=["method", "route"])
        bytes_out = CounterMetricFamily("conduit_response_body_bytes", "Response body bytes (not streams).",
                                        labels=["method", "route"])
        in_flight = 0
        by_route: dict[tuple[str, str], list] = {}
        by_status: dict[tuple[str, str, int], int] = {}
        bounds: tuple[str, ...] = ()
        for table in list(self.tables):
            in_flight += table.in_flight
            bounds = tuple(map(floatToGoString, table.bounds))
            for (method, route, status), count, seconds, size_in, size_out, buckets in table.snapshot():
                # several apps in one process (tests, mounts) may share labels: one sample each, summed
                by_status[(method, route, status)] = by_status.get((method, route, status), 0) + count
                total = by_route.setdefault((method, route), [0.0, 0.0, 0.0, 0])
                total[0] += seconds
                total[1] += size_in
                total[2] += size_out
                total[3] = total[3] + buckets
        for (method, route, status), count in by_status.items():
            labels = [method, route, str(status)]
            requests.add_metric(labels, count)
            if status >= 400:
                errors.add_metric(labels, count)
        for (method, route), (seconds, size_in, size_out, buckets) in by_route.items():
            latency.add_metric([method, route], list(zip((*bounds, "+Inf"), map(int, np.cumsum(buckets)))),
                               seconds)
            bytes_in.add_metric([method, route], size_in)
            bytes_out.add_metric([method, route], size_out)
        gauge = GaugeMetricFamily("conduit_requests_in_flight", "Requests being handled now.", value=in_flight)
        yield from (requests, latency, gauge, errors, bytes_in, bytes_out)


_collector: RequestCountsCollector | None = None
_lock = threading.Lock()


def collector() -> RequestCountsCollector:
    """The process's collector, registered in ``prometheus_client.REGISTRY`` on first use."""
    global _collector
    with _lock:
        if _collector is None:
            from prometheus_client import REGISTRY

            _collector = RequestCountsCollector()
            REGISTRY.register(_collector)
    return _collector


__all__ = ["FOLD_EVERY", "KNOWN_METHODS", "MAX_RAW_KEYS", "RequestCountsCollector", "RouteCounts", "collector"]
