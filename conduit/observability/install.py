"""One call to add metrics, ``/metrics``, ``/health`` and ``/ready`` to an app."""

from __future__ import annotations

from typing import Any

from ..anyloop import run_in_thread
from ..http.response import Response
from .health import health, ready_endpoint
from .metrics import MetricsMiddleware, render_metrics
from .statistics import ParamObserver


async def metrics_endpoint() -> Response:
    # Multiprocess mode reads one file per worker: keep that off the event loop.
    body, content_type = await run_in_thread(render_metrics)
    return Response(body, headers={"content-type": content_type, "cache-control": "no-store"})


def statistics_endpoint(app: Any):
    async def statistics() -> Response:
        import orjson

        snapshot = await run_in_thread(app.statistics)
        return Response(orjson.dumps(snapshot.to_json()),
                        headers={"content-type": "application/json", "cache-control": "no-store"})
    return statistics


def install(app: Any, *, metrics_path: str | None = "/metrics", health_path: str | None = "/health",
            ready_path: str | None = "/ready", statistics_path: str | None = None,
            middleware: bool = True) -> None:
    """Add the observability routes and the metrics middleware to ``app``.

    Pass None for a path to leave that route out, ``middleware=False`` to skip
    request metrics. ``statistics_path`` (off by default, e.g. ``"/metrics/routes"``)
    serves ``app.statistics()`` as JSON for ``conduit routes --stats URL``; like
    ``/metrics`` it shows the app's routes to whoever can reach it. Call it before
    the app starts (routes are frozen then); the middleware goes where it is added
    in the stack (add it early to time the rest).
    """
    # Probes and scrapes are never refused by admission control (conduit.admission).
    unguarded = app.state.__dict__.setdefault("unguarded_paths", set())
    unguarded.update(p for p in (metrics_path, health_path, ready_path, statistics_path) if p)
    if middleware:
        app.state.route_observer = ParamObserver()
        excluded = tuple(p for p in (metrics_path, statistics_path) if p)
        app.add_middleware(MetricsMiddleware(exclude=excluded, observer=app.state.route_observer))
    if metrics_path:
        app.add_route(metrics_path, metrics_endpoint, ["GET"], name="conduit.metrics")
    if statistics_path:
        app.add_route(statistics_path, statistics_endpoint(app), ["GET"], name="conduit.statistics")
    if health_path:
        app.add_route(health_path, health, ["GET", "HEAD"], name="conduit.health")
    if ready_path:
        app.add_route(ready_path, ready_endpoint(app), ["GET", "HEAD"], name="conduit.ready")
