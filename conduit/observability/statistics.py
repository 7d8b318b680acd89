"""Route statistics: what the metrics already know, per route, as one frozen snapshot.

``app.statistics()`` reads the request families of :mod:`.metrics` (all workers'
in multiprocess mode) and returns an :class:`AppStatistics`: per route pattern and
method the count, the error count, latency percentiles interpolated from the
latency histogram (as Prometheus' ``histogram_quantile`` does, so they are as
coarse as its buckets), request and response body bytes, and the share of
traffic. Parameter values seen by each route are sampled by a
:class:`ParamObserver` (per process, at most ``max_values`` distinct values per
parameter) for the hints of :mod:`.hints`.

The JSON form (:meth:`AppStatistics.to_json`) is what the optional statistics
endpoint serves and what ``conduit routes MODULE:APP --stats URL`` reads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .metrics import MetricsMiddleware, metrics_registry

_QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class ParamValues:
    """Distinct values one parameter took (``overflow``: more than were kept)."""

    values: tuple[str, ...]
    overflow: bool
    all_int: bool


@dataclass(frozen=True)
class RouteStatistics:
    method: str
    route: str
    count: int
    errors: int
    p50: float | None  # seconds; None without requests
    p90: float | None
    p99: float | None
    bytes_in: int
    bytes_out: int
    share: float  # of all requests counted
    params: dict[str, ParamValues] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0


@dataclass(frozen=True)
class AppStatistics:
    routes: tuple[RouteStatistics, ...]  # hottest first
    total: int
    unmatched: int  # requests no route matched (404s, 405s)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "unmatched": self.unmatched,
                "routes": [asdict(r) for r in self.routes]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "AppStatistics":
        try:
            routes = tuple(RouteStatistics(**{**r, "params": {k: ParamValues(tuple(v["values"]), v["overflow"],
                                                                              v["all_int"])
                                                              for k, v in r.get("params", {}).items()}})
                           for r in data["routes"])
            return cls(routes, int(data["total"]), int(data["unmatched"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Conduit statistics document: {type(exc).__name__}: {exc}") from None

    def route(self, method: str, pattern: str) -> RouteStatistics | None:
        return next((r for r in self.routes if r.method == method and r.route == pattern), None)


class ParamObserver:
    """Bounded sample of the parameter values each route saw (a set per parameter)."""

    def __init__(self, max_values: int = 32) -> None:
        self.max_values = max_values
        self._seen: dict[str, dict[str, list]] = {}  # pattern -> name -> [values, overflow, all_int]

    def observe(self, route: Any, params: dict[str, Any]) -> None:
        per_route = self._seen.get(route.pattern)
        if per_route is None:
            per_route = self._seen[route.pattern] = {}
        for name, value in params.items():
            slot = per_route.get(name)
            if slot is None:
                slot = per_route[name] = [set(), False, True]
            text = str(value)
            if slot[2] and not _is_int(text):
                slot[2] = False
            values = slot[0]
            if text not in values:
                if len(values) < self.max_values:
                    values.add(text)
                else:
                    slot[1] = True

    def snapshot(self, pattern: str) -> dict[str, ParamValues]:
        return {name: ParamValues(tuple(sorted(values)), overflow, all_int)
                for name, (values, overflow, all_int) in self._seen.get(pattern, {}).items()}


def _is_int(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isdigit() and digits.isascii()


def _collect() -> list[Any]:
    return list(metrics_registry().collect())


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """``histogram_quantile``: ``buckets`` are (upper bound, cumulative count), +inf last."""
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(upper):
                return lower  # the top finite bound, as Prometheus answers
            if cumulative == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (cumulative - below)
        lower, below = upper, cumulative
    return lower


def app_statistics(app: Any) -> AppStatistics:
    """The snapshot for ``app``'s routes (routes never hit appear with count 0).

    Raises ``RuntimeError`` saying what to install when the app has no metrics
    middleware: without it nothing is counted, and a table of zeros would lie.
    """
    if not any(isinstance(m, MetricsMiddleware) for m in app.middleware):
        raise RuntimeError("app.statistics() reads what the metrics middleware counts, and this app has none: "
                           "call conduit.observability.install(app) before it starts serving")
    counts: dict[tuple[str, str], float] = {}
    errors: dict[tuple[str, str], float] = {}
    bytes_in: dict[tuple[str, str], float] = {}
    bytes_out: dict[tuple[str, str], float] = {}
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = {}
    sums = {"conduit_requests_total": counts, "conduit_request_errors_total": errors,
            "conduit_request_body_bytes_total": bytes_in, "conduit_response_body_bytes_total": bytes_out}
    for family in _collect():
        for sample in family.samples:
            labels = sample.labels
            if "route" not in labels or "method" not in labels:
                continue
            key = (labels["method"], labels["route"])
            target = sums.get(sample.name)
            if target is not None:
                target[key] = target.get(key, 0.0) + sample.value
            elif sample.name == "conduit_request_duration_seconds_bucket":
                buckets.setdefault(key, []).append((float(labels["le"]), sample.value))
    known = {(m, r.pattern) for r in app.router.routes for m in r.methods}
    known |= {("HEAD", r.pattern) for r in app.router.routes if "GET" in r.methods}
    keys = {k for k in counts if k in known} | {(m, r.pattern) for r in app.router.routes for m in r.methods}
    total = sum(v for k, v in counts.items() if k in known)
    unmatched = int(sum(v for (_, route), v in counts.items() if route == "<unmatched>"))
    observer = getattr(app.state, "route_observer", None)
    rows = []
    for key in keys:
        method, pattern = key
        count = int(counts.get(key, 0))
        cumulative = sorted(buckets.get(key, []))
        p50, p90, p99 = (quantile(q, cumulative) if count else None for q in _QUANTILES)
        rows.append(RouteStatistics(
            method, pattern, count, int(errors.get(key, 0)), p50, p90, p99, int(bytes_in.get(key, 0)),
            int(bytes_out.get(key, 0)), count / total if total else 0.0,
            observer.snapshot(pattern) if observer is not None else {}))
    rows.sort(key=lambda r: (-r.count, r.route, r.method))
    return AppStatistics(tuple(rows), int(total), unmatched)


__all__ = ["AppStatistics", "ParamObserver", "ParamValues", "RouteStatistics", "app_statistics", "quantile"]
