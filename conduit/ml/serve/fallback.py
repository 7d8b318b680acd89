"""Model-level fallback: ``app.predict(..., fallback=other_model)``.

Owns the rule for when a prediction route answers from its fallback model instead of
the primary: the primary's inference failed with a server-side error (an exception,
a 5xx such as an open circuit breaker's 503, a full queue, a timeout); a client error
(4xx: bad rows) never fails over, because the fallback would refuse the same rows.
Also owns the count of answers by path, exported to Prometheus (``/metrics``)::

    conduit_model_answers_total{model, path}     path: primary | fallback
"""

from __future__ import annotations

import threading
from typing import Any

from conduit.exceptions import HTTPError

__all__ = ["count_answer", "fails_over"]

_lock = threading.Lock()
_counter: Any = None


def fails_over(exc: BaseException) -> bool:
    """Whether ``exc`` from the primary model sends the request to the fallback."""
    if isinstance(exc, HTTPError):
        return exc.status_code >= 500
    return isinstance(exc, Exception)


def count_answer(model: str, path: str) -> None:
    """Count one prediction answered by ``path`` (``"primary"`` or ``"fallback"``)."""
    global _counter
    if _counter is None:
        with _lock:
            if _counter is None:
                from prometheus_client import Counter

                _counter = Counter("conduit_model_answers", "Predictions answered, by model and path.",
                                   ["model", "path"])
    _counter.labels(model, path).inc()
