"""OpenTelemetry tracing (the optional extra ``conduit[otel]``).

``install_tracing(app)`` turns it on: one SERVER span per request named
``"{method} {route pattern}"`` (``http.route``, ``http.request.method``,
``http.response.status_code``), a ``handler`` child around the route's handler,
and, from the ML and MCP packages, ``batch wait`` and ``inference`` spans of a
prediction and a ``tools/call {name}`` span per MCP tool call. The W3C trace
context (``traceparent``/``tracestate``) is taken from the request headers, so a
caller's trace continues here, and written to the response headers;
:func:`outgoing_headers` gives the headers for a call this request makes.

Without ``install_tracing`` (or without opentelemetry installed) every hook here
is a no-op costing one global read; nothing imports opentelemetry before then.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

_tracer: Any = None  # the opentelemetry Tracer once install_tracing ran


class _HeaderGetter:
    """opentelemetry's Getter protocol over Conduit's request headers."""

    def get(self, carrier: Any, key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [value]

    def keys(self, carrier: Any) -> list[str]:
        return list(carrier.keys())


def install_tracing(app: Any, tracer_provider: Any = None) -> None:
    """Trace every request of ``app`` (call before it starts; needs ``conduit[otel]``).

    ``tracer_provider`` defaults to opentelemetry's global provider (configure
    exporters there, as for any OpenTelemetry program).
    """
    global _tracer
    if app.lifecycle.frozen:
        raise RuntimeError("install_tracing must be called before the app starts serving")
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise RuntimeError("tracing needs OpenTelemetry: pip install 'conduit[otel]'") from exc
    _tracer = trace.get_tracer("conduit", tracer_provider=tracer_provider)
    app.middleware.insert(0, TracingMiddleware())  # outermost: the span covers the whole stack
    app.add_warmup(lambda: _wrap_endpoints(app))


def tracing_enabled() -> bool:
    return _tracer is not None


def _wrap_endpoints(app: Any) -> None:
    """Give every route's endpoint a ``handler`` span (once; warm-ups may run twice)."""
    for route in app.router.routes:
        endpoint = route.endpoint
        if endpoint is None or getattr(endpoint, "_conduit_traced", False):
            continue

        def traced(request, _endpoint=endpoint, _pattern=route.pattern):
            return _handler_span(_endpoint, request, _pattern)
        traced._conduit_traced = True  # type: ignore[attr-defined]
        route.endpoint = traced


async def _handler_span(endpoint: Any, request: Any, pattern: str) -> Any:
    with _tracer.start_as_current_span("handler", attributes={"http.route": pattern}):
        return await endpoint(request)


class TracingMiddleware:
    """The SERVER span of each request, continuing the caller's W3C trace context."""

    def __call__(self, handler):
        from opentelemetry import propagate, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        from ..middleware.base import respond

        getter = _HeaderGetter()
        tracer = _tracer

        async def traced(request):
            parent = propagate.extract(request.headers, getter=getter)
            with tracer.start_as_current_span(f"{request.method}", context=parent, kind=SpanKind.SERVER,
                                              attributes={"http.request.method": request.method,
                                                          "url.path": request.path}) as span:
                response = await respond(handler, request)
                route = request.route
                if route is not None:
                    span.update_name(f"{request.method} {route.pattern}")
                    span.set_attribute("http.route", route.pattern)
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                carrier: dict[str, str] = {}
                propagate.inject(carrier, context=trace.set_span_in_context(span))
                for key, value in carrier.items():
                    response.headers.append((key, value))
                return response
        return traced


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager:
    """A child span of the current one, or a no-op when tracing is off."""
    if _tracer is None:
        return contextlib.nullcontext()
    return _tracer.start_as_current_span(name, attributes=attributes)


def record_span(name: str, start_ns: int, end_ns: int, **attributes: Any) -> None:
    """A finished child span with given times (for work another task did, e.g. a batch)."""
    if _tracer is None:
        return
    child = _tracer.start_span(name, start_time=start_ns, attributes=attributes)
    child.end(end_time=end_ns)


def outgoing_headers() -> dict[str, str]:
    """``traceparent``/``tracestate`` for a call made while handling this request."""
    if _tracer is None:
        return {}
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def now_ns() -> int:
    return time.time_ns()


__all__ = ["TracingMiddleware", "install_tracing", "outgoing_headers", "record_span", "span",
           "tracing_enabled"]
