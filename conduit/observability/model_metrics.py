"""Per-model and per-tool metrics: the ML serving path and MCP tool calls.

Families (``prometheus_client``; labels bounded by what the app registered)::

    conduit_model_requests_total{model, version}              counter
    conduit_model_rows_total{model, version}                  counter
    conduit_model_request_duration_seconds{model, version}    histogram: validation + queue + inference
    conduit_model_errors_total{model, version, type}          counter; type = the error class
                                                              (ValidationError, PayloadTooLarge,
                                                              ServiceUnavailable, GatewayTimeout, InferenceError)
    conduit_model_batch_size{model, version}                  histogram: rows per batched kernel call
    conduit_model_queue_wait_seconds{model, version}          histogram: time in the batcher's queue
    conduit_model_info{model, version, path}                  gauge 1; path = compiled | partial |
                                                              fallback | onnxruntime | pipeline
    conduit_model_loaded{model, version}                      gauge: 1 loaded, 0 not (lazy, unloaded
                                                              by max_loaded, or down)
    conduit_model_shadow_rows_total{model, version, candidate}            rows mirrored to a shadow
    conduit_model_shadow_agreeing_rows_total{model, version, candidate}   classifiers: rows it agreed on
    conduit_model_shadow_absolute_error_total{model, version, candidate}  regressors: sum of |error|
    conduit_model_shadow_failures_total{model, candidate}                 shadow runs that raised
    conduit_mcp_tool_calls_total{tool}                        counter
    conduit_mcp_tool_errors_total{tool, type}                 counter; type = the exception class
    conduit_mcp_tool_duration_seconds{tool}                   histogram

The hooks (:func:`track_prediction`, :func:`batch_observer`, :func:`track_tool`) are
the only things the ML and MCP packages call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from .metrics import _BATCH_BUCKETS, _LATENCY_BUCKETS, lazy_families


def _build() -> SimpleNamespace:
    from prometheus_client import Counter, Gauge, Histogram

    mv = ["model", "version"]
    return SimpleNamespace(
        requests=Counter("conduit_model_requests", "Prediction requests.", mv),
        rows=Counter("conduit_model_rows", "Rows predicted.", mv),
        latency=Histogram("conduit_model_request_duration_seconds",
                          "Prediction request time (validation, queue, inference).", mv, buckets=_LATENCY_BUCKETS),
        errors=Counter("conduit_model_errors", "Failed prediction requests by error type.", mv + ["type"]),
        batch=Histogram("conduit_model_batch_size", "Rows per batched inference call.", mv, buckets=_BATCH_BUCKETS),
        wait=Histogram("conduit_model_queue_wait_seconds", "Time a request waited in the batcher.", mv,
                       buckets=_LATENCY_BUCKETS),
        info=Gauge("conduit_model_info", "Loaded model versions and their inference path.", mv + ["path"],
                   multiprocess_mode="livemax"),
        loaded=Gauge("conduit_model_loaded", "Whether a registered model version is loaded (1) or not (0).", mv,
                     multiprocess_mode="livemax"),
        shadow_rows=Counter("conduit_model_shadow_rows", "Rows mirrored to a shadow version.",
                            mv + ["candidate"]),
        shadow_agreeing=Counter("conduit_model_shadow_agreeing_rows",
                                "Mirrored rows on which a shadow classifier agreed with the served version.",
                                mv + ["candidate"]),
        shadow_error=Counter("conduit_model_shadow_absolute_error",
                             "Sum of the absolute differences between a shadow regressor and the served version.",
                             mv + ["candidate"]),
        shadow_failures=Counter("conduit_model_shadow_failures", "Shadow runs that raised.", ["model", "candidate"]),
        tool_calls=Counter("conduit_mcp_tool_calls", "MCP tool calls.", ["tool"]),
        tool_errors=Counter("conduit_mcp_tool_errors", "MCP tool calls that failed.", ["tool", "type"]),
        tool_latency=Histogram("conduit_mcp_tool_duration_seconds", "MCP tool call time.", ["tool"],
                               buckets=_LATENCY_BUCKETS),
    )


_m = lazy_families(_build)


class _Prediction:
    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows = 0


@contextmanager
def track_prediction(name: str, version: Any, path: str | None) -> Iterator[_Prediction]:
    """``with track_prediction(name, version, path) as p: ...; p.rows = n`` records one request."""
    m = _m()
    version = str(version)
    m.info.labels(name, version, path or "unknown").set(1)
    m.requests.labels(name, version).inc()
    record = _Prediction()
    start = time.perf_counter()
    try:
        yield record
    except Exception as exc:
        m.errors.labels(name, version, type(exc).__name__).inc()
        raise
    finally:
        m.latency.labels(name, version).observe(time.perf_counter() - start)
        if record.rows:
            m.rows.labels(name, version).inc(record.rows)


def record_loaded(name: str, version: Any, loaded: bool) -> None:
    """Set ``conduit_model_loaded`` for one model version (the registry calls it on each change)."""
    _m().loaded.labels(name, str(version)).set(1 if loaded else 0)


def record_shadow(name: str, version: Any, candidate: str, rows: int, *, agreeing: int | None = None,
                  absolute_error: float | None = None) -> None:
    """Count one mirrored request: its rows, and the rows agreed on or the absolute error."""
    m = _m()
    labels = (name, str(version), candidate)
    m.shadow_rows.labels(*labels).inc(rows)
    if agreeing is not None:
        m.shadow_agreeing.labels(*labels).inc(agreeing)
    if absolute_error is not None:
        m.shadow_error.labels(*labels).inc(absolute_error)


def record_shadow_failure(name: str, candidate: str) -> None:
    _m().shadow_failures.labels(name, candidate).inc()


def batch_observer(name: str, version: Any) -> Callable[[int, list[float]], None]:
    """``observe(rows, queue_waits)`` for one batcher: its batch sizes and each request's wait."""
    m = _m()
    batch = m.batch.labels(name, str(version))
    wait = m.wait.labels(name, str(version))

    def observe(rows: int, waits: list[float]) -> None:
        batch.observe(rows)
        for seconds in waits:
            wait.observe(seconds)
    return observe


@contextmanager
def track_tool(name: str) -> Iterator[None]:
    """Count and time one MCP tool call; a raised exception counts as an error of its type."""
    m = _m()
    m.tool_calls.labels(name).inc()
    start = time.perf_counter()
    try:
        yield
    except Exception as exc:
        m.tool_errors.labels(name, type(exc).__name__).inc()
        raise
    finally:
        m.tool_latency.labels(name).observe(time.perf_counter() - start)
