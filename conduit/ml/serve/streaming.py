"""Streaming inference over Server-Sent Events.

Owns :func:`stream_route`: ``POST path`` answers ``text/event-stream``. What streams
depends on the model:

- a generator function ``fn(X)`` (sync or async): each item it yields is one event
  (partial results: a token, a stage output, a progress record);
- a :class:`~conduit.ml.Pipeline`: one event per stage, as each finishes;
- any other model: the rows are predicted ``chunk_size`` at a time, one event per chunk.

Back-pressure: the next item is produced only when the server has sent the last one
(the generator is pulled, never drained ahead). When the client goes away the core
closes the stream; the model's generator is closed in turn (its ``finally`` runs)
and no further work is done. The stream ends with an ``event: done``.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, AsyncIterator, Callable

import numpy as np
import trio

from conduit.http.request import Request
from conduit.http.response import EventSourceResponse

from .registry import ModelRegistry
from .requests import ProbabilitiesQuery, VersionQuery, invalid_rows, predict_body_schema, read_prediction
from ..validation import InvalidInput

__all__ = ["StreamingModel", "stream_route"]

logger = logging.getLogger("conduit.ml")
_DONE = object()

#: One event of a ``text/event-stream`` answer, as OpenAPI 3.1 tools read the schema of that
#: media type (per event: HTML's fields, ``data`` the JSON text of the item).
SSE_EVENT = {"type": "object", "required": ["data"],
             "properties": {"event": {"type": "string", "enum": ["prediction", "error", "done"]},
                            "data": {"type": "string", "contentMediaType": "application/json"},
                            "id": {"type": "string"}, "retry": {"type": "integer"}}}


class StreamingModel:
    """Wrap a generator function ``fn(X) -> iterator of JSON-able items`` as a servable model.

    ``n_features`` is validated like any model; ``predict`` collects the whole stream.
    """

    path = "generator"
    kind = "stream"
    reason = None
    classes_ = None

    def __init__(self, fn: Callable[[np.ndarray], Any], n_features: int, *, name: str | None = None,
                 allow_nan: bool = False) -> None:
        self.fn = fn
        self.n_features_in_ = n_features
        self.name = name or getattr(fn, "__name__", "stream")
        self.allow_nan = allow_nan
        self.estimator = fn
        self.members: list[Any] = []
        self.open_streams = 0  # streams currently running (for tests and metrics)
        self.closed_streams = 0

    def validate(self, X: Any) -> np.ndarray:
        from ..validation import as_features

        return as_features(X, self.n_features_in_, allow_nan=self.allow_nan)

    def has(self, method: str) -> bool:
        return method == "predict"

    def predict_unchecked(self, X: np.ndarray) -> list[Any]:
        result = self.fn(X)
        if inspect.isasyncgen(result):
            raise TypeError("an async generator model can only be streamed")
        return list(result)

    def warm_up(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"estimator": self.name, "path": self.path, "kind": self.kind, "reason": None,
                "n_features": self.n_features_in_, "classes": None, "methods": ["stream"],
                "accepts_nan": self.allow_nan, "open_streams": self.open_streams}

    async def stream(self, X: np.ndarray) -> AsyncIterator[Any]:
        self.open_streams += 1
        result = self.fn(X)
        try:
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            else:
                iterator = iter(result)
                while True:
                    # A sync generator may be CPU-bound: advance it off the event loop.
                    item = await trio.to_thread.run_sync(next, iterator, _DONE)
                    if item is _DONE:
                        break
                    yield item
        finally:
            self.open_streams -= 1
            self.closed_streams += 1
            close = getattr(result, "aclose", None)
            if close is not None:
                with trio.CancelScope(shield=True):
                    await close()
            elif hasattr(result, "close"):
                result.close()


async def _chunks(model: Any, X: np.ndarray, chunk_size: int, proba: bool) -> AsyncIterator[Any]:
    for start in range(0, X.shape[0], chunk_size):
        part = X[start:start + chunk_size]
        if getattr(model, "path", None) == "compiled":
            labels = model.predict_unchecked(part)
            probs = model.predict_proba_unchecked(part) if proba else None
        else:
            labels, probs = await trio.to_thread.run_sync(
                lambda: (model.predict_unchecked(part), model.predict_proba_unchecked(part) if proba else None))
        data: dict[str, Any] = {"offset": start, "predictions": labels}
        if probs is not None:
            data["probabilities"] = probs
        yield data
        await trio.lowlevel.checkpoint()


def stream_route(app: Any, path: str, registry: ModelRegistry, *, name: str | None = None,
                 chunk_size: int = 256, ping_interval: float = 15.0) -> ModelRegistry:
    """Register ``POST path`` streaming the model's output as SSE (see the module docstring).

    Usually reached through ``app.predict(path, model, stream=True)``.
    """
    async def stream_endpoint(request: Request, version: VersionQuery = None,
                              probabilities: ProbabilitiesQuery = None, **path_params: Any) -> EventSourceResponse:
        predict, entry = await read_prediction(request, registry, name, version)
        model = entry.model
        try:
            X = model.validate(predict.rows)
        except InvalidInput as exc:
            raise invalid_rows(exc, predict) from None
        proba = predict.flag("probabilities", probabilities, False) and model.has("predict_proba")

        async def events() -> AsyncIterator[dict[str, Any]]:
            if hasattr(model, "stream"):
                source = model.stream(X)
            else:
                source = _chunks(model, X, chunk_size, proba)
            count = 0
            try:
                async for item in source:
                    count += 1
                    yield {"event": "prediction", "data": item}
            except Exception as exc:  # noqa: BLE001 - an error event, never a traceback
                logger.error("stream from model %s failed", entry.name, exc_info=exc)
                yield {"event": "error", "data": {"detail": f"model {entry.name!r} failed"}}
                return
            finally:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    with trio.CancelScope(shield=True):
                        await aclose()
            yield {"event": "done", "data": {"model": entry.name, "version": entry.version,
                                             "events": count}}

        return EventSourceResponse(events(), ping_interval=ping_interval)

    from conduit.openapi.predict import predict_route_options

    served = registry.get(name).model if name is not None else None
    options = predict_route_options(name)
    options["responses"] = {"200": {"description": "Server-Sent Events: prediction..., then done",
                                    "content": {"text/event-stream": {"schema": SSE_EVENT}}}}
    app.add_route(path, stream_endpoint, ["POST"], request_body=predict_body_schema(served), **options)
    return registry
