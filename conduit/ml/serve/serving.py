"""Serving models over HTTP: ``app.predict(path, model, **options)``.

Owns the prediction endpoint: JSON rows in, predictions (and probabilities on
request) out, with the model's name and version; the ``/models`` listing; and the
mapping of every failure to its status: bad input 422 naming the problem, unknown
model 404, full queue 503, timeout 504, model failure 500 (``InferenceError``, the
traceback only in the log). Requests go through a :class:`DynamicBatcher` per model
version unless batching is turned off. Models live in a :class:`ModelRegistry`: the
one given, or the app's own (``app.state.models``) for single models.

Request body (JSON)::

    {"rows": [[5.1, 3.5, 1.4, 0.2], ...], "probabilities": true}
    {"row": [5.1, 3.5, 1.4, 0.2]}        or a bare list of rows / one row

Query parameters ``?version=2`` and ``?probabilities=true`` work too (bound and
documented like any handler's). A body that is not JSON is 400 ``invalid_json``; rows
a model refuses are 422 with entries naming the row and column
(:mod:`conduit.ml.serve.requests`). Response::

    {"model": "iris", "version": "1", "predictions": [0, ...],
     "probabilities": [[0.97, 0.03, 0.0], ...], "classes": [0, 1, 2]}
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import numpy as np
import trio

from conduit.exceptions import HTTPError, InferenceError, ValidationError
from conduit.http.request import Request
from conduit.http.response import JSONResponse
from conduit.observability import tracing
from conduit.observability.model_metrics import batch_observer, track_prediction

from .batching import BatcherPool
from .registry import ModelRegistry, ModelVersion
from .requests import (ProbabilitiesQuery, VersionQuery, invalid_rows, parse_rows, predict_body_schema,
                       read_prediction, without_parameter)
from ..validation import InvalidInput

__all__ = ["app_registry", "infer_unbatched", "mirror_to_shadow", "parse_rows", "predict_route"]

logger = logging.getLogger("conduit.ml")

Inference = Callable[[ModelVersion, np.ndarray, bool], Awaitable[tuple[np.ndarray, np.ndarray | None]]]


def app_registry(app: Any) -> ModelRegistry:
    """The app's own registry (``app.state.models``), created on first use."""
    registry = getattr(app.state, "models", None)
    if registry is None:
        registry = app.state.models = ModelRegistry()
    return registry


def predict_route(
    app: Any,
    path: str,
    model: Any,
    *,
    name: str | None = None,
    version: str | int | None = None,
    batching: bool = True,
    max_batch_size: int | None = None,
    max_wait: float = 0.0015,
    latency_target: float | None = None,
    max_queue: int = 4096,
    timeout: float = 5.0,
    probabilities: bool = False,
    list_path: str | None = "/models",
    wrap: Callable[[Inference], Inference] | None = None,
    stream: bool = False,
    fallback: Any = None,
    **stream_options: Any,
) -> ModelRegistry:
    """Register ``POST path`` that serves ``model``; returns the registry behind it.

    Parameters
    ----------
    model : a :class:`ModelRegistry` (``path`` must then contain ``{name}``), or one
        model: a fitted estimator (compiled here), a ``CompiledModel``, an ``OnnxModel``,
        a :class:`~conduit.ml.Pipeline` or a model file path (loaded at registration)
    name, version : for a single model (default name: the estimator's class)
    batching, max_batch_size, max_wait, max_queue, timeout : see :class:`DynamicBatcher`
        (``max_batch_size`` defaults to 64 rows, or 1024 as a ceiling with a latency target)
    latency_target : seconds a request may spend queued and in inference: batches are sized
        from the measured cost per row and the queue wait so that this holds, and a request
        predicted to miss it is refused with 503 + ``Retry-After`` (:mod:`conduit.ml.serve.latency`)
    probabilities : include probabilities unless the request says otherwise
    list_path : where ``GET`` lists the registry (and ``GET list_path/{name}`` one model);
        ``None`` for no listing
    wrap : resilience hook: a function that wraps the inference coroutine
        ``(version, X, proba) -> (predictions, probabilities)``; pass the production
        circuit breaker / retry / timeout / fallback here
    stream : serve Server-Sent Events instead (see :func:`conduit.ml.serve.streaming.stream_route`)
    fallback : a second model (same kinds as ``model``) that answers when the primary
        fails or its breaker is open (:mod:`conduit.ml.serve.fallback`); the response then has
        ``"path": "fallback"`` (else ``"primary"``), counted in ``/metrics``
    """
    _check_stream_options(stream, stream_options)
    if isinstance(model, ModelRegistry):
        if "{" not in path and ":" not in path:
            raise ValueError(f"route {path!r} serves a registry, so it needs a {{name}} parameter")
        registry, fixed = model, None
    else:
        registry = app_registry(app)
        fixed = name or getattr(model, "name", None) or type(getattr(model, "estimator", model)).__name__
        if not isinstance(fixed, str):
            raise ValueError(f"route {path!r}: give the model a name=")
    _claim_listing(app, registry, list_path, path)  # before anything compiles
    if fixed is not None and fixed not in registry:
        try:
            registry.register(fixed, model, version=version)
        except Exception as exc:
            if fallback is None:
                raise
            # The primary is down at start-up: the app starts and its fallback answers.
            logger.error("model %s failed to load or warm up; %s answers from its fallback", fixed, path,
                         exc_info=exc)
            registry.register_failed(fixed, model, exc, version=version)
    from .warmup import warm_kernels

    app.add_warmup(warm_kernels)  # every ML kernel, so later registrations find them loaded
    app.add_warmup(registry.warm_up)
    _add_listing(app, registry, list_path)
    _add_readiness(app, registry, fixed if fallback is not None else None)
    _report_loaded(registry)
    if stream:
        from .streaming import stream_route

        return stream_route(app, path, registry, name=fixed, **stream_options)

    if max_batch_size is None:  # with a latency target, the policy sizes batches up to this ceiling
        max_batch_size = 64 if latency_target is None else 1024
    batchers = BatcherPool(max_batch_size=max_batch_size, max_wait=max_wait, max_queue=max_queue,
                           timeout=timeout, observe=batch_observer, latency_target=latency_target)

    async def infer(entry: ModelVersion, X: np.ndarray, proba: bool):
        model_ = entry.model
        if model_ is None:  # unloaded (max_loaded) since the request resolved it: load it again
            model_ = (await registry.resolve(entry.name, entry.version)).model
        if batching:
            return await batchers.get(entry, model_).predict(X, proba=proba)
        with tracing.span("inference", model=entry.name, rows=int(X.shape[0])):
            return await infer_unbatched(model_, X, proba)

    call = wrap(infer) if wrap is not None else infer
    backup = None
    if fallback is not None:
        from .registry import as_model

        backup_model = as_model(fallback)
        backup_model.warm_up()
        app.add_warmup(backup_model.warm_up)
        backup = ModelVersion(fixed or "fallback", "fallback", backup_model)

    async def answer(entry: ModelVersion, X: np.ndarray, rows: Any, want_proba: bool):
        """(labels, probabilities, path): the primary's answer, or the fallback's."""
        if entry is backup:  # the primary is down (failed to load): read_prediction chose the fallback
            from .fallback import count_answer

            labels, probs = await infer(backup, X, want_proba)
            count_answer(backup.name, "fallback")
            return labels, probs, "fallback"
        try:
            labels, probs = await call(entry, X, want_proba)
            path_taken = "primary"
        except Exception as exc:  # noqa: BLE001 - classified by fails_over
            from .fallback import fails_over

            if backup is None or not fails_over(exc):
                raise
            logger.warning("model %s v%s failed (%s); answering from its fallback",
                           entry.name, entry.version, type(exc).__name__)
            if want_proba and not backup.model.has("predict_proba"):
                raise
            try:
                X_backup = backup.model.validate(rows)
            except InvalidInput:
                raise exc from None
            labels, probs = await infer(backup, X_backup, want_proba)
            path_taken = "fallback"
        if backup is not None:
            from .fallback import count_answer

            count_answer(entry.name, path_taken)
        return labels, probs, path_taken

    default_proba = probabilities

    async def predict_endpoint(request: Request, version: VersionQuery = None,
                               probabilities: ProbabilitiesQuery = None, **path_params: Any) -> JSONResponse:
        predict, entry = await read_prediction(request, registry, fixed, version, backup)
        model_ = entry.model
        with track_prediction(entry.name, entry.version, getattr(model_, "path", None)) as tracked:
            if probabilities is None and "probabilities" in request.query_params:
                probabilities = True  # a route without the parameter: refused just below
            want_proba = predict.flag("probabilities", probabilities, default_proba)
            if want_proba and not model_.has("predict_proba"):
                source = "body" if "probabilities" in predict.options else "query"
                raise ValidationError([{"loc": [source, "probabilities"], "type": "value_error",
                                        "msg": f"model {entry.name!r} does not give probabilities"}])
            rows = predict.rows
            try:
                X = model_.validate(rows)
            except InvalidInput as exc:
                raise invalid_rows(exc, predict) from None
            tracked.rows = int(X.shape[0])
            try:
                labels, probs, path_taken = await answer(entry, X, rows, want_proba)
            except HTTPError:
                raise
            except Exception as exc:  # noqa: BLE001 - never a traceback to the client
                logger.error("model %s v%s failed", entry.name, entry.version, exc_info=exc)
                raise InferenceError(detail=f"model {entry.name!r} failed to predict") from None
        if path_taken == "primary":
            mirror_to_shadow(registry, entry, X, labels, infer)
        body: dict[str, Any] = {"model": entry.name, "version": entry.version, "predictions": labels}
        if backup is not None:
            body["path"] = path_taken
        if want_proba:
            body["probabilities"] = probs
            if model_.classes_ is not None:
                body["classes"] = model_.classes_
        return JSONResponse(body)

    from conduit.openapi.predict import predict_route_options

    served = registry.get(fixed).model if fixed is not None else None
    if served is None and backup is not None:  # the primary is down: the fallback's rows are documented
        served = backup.model
    if served is not None and not served.has("predict_proba"):
        # No probabilities to offer: the route does not take (nor document) ?probabilities=.
        predict_endpoint.__signature__ = without_parameter(predict_endpoint, "probabilities")
    app.add_route(path, predict_endpoint, ["POST"], request_body=predict_body_schema(served),
                  **predict_route_options(fixed))
    app.state.__dict__.setdefault("ml_batchers", {})[path] = batchers
    return registry


#: What ``app.predict(..., stream=True)`` passes on to :func:`~conduit.ml.serve.streaming.stream_route`.
STREAM_OPTIONS = ("chunk_size", "ping_interval")


def _check_stream_options(stream: bool, stream_options: dict[str, Any]) -> None:
    """No silent options: a keyword ``app.predict`` does not take is a ``TypeError`` naming the nearest one."""
    import inspect

    from conduit.options import check_options

    known = [n for n in inspect.signature(predict_route).parameters if n not in ("app", "path", "model",
                                                                                "stream_options")]
    check_options(stream_options, known + list(STREAM_OPTIONS), "app.predict")
    if stream_options and not stream:
        raise TypeError(f"app.predict: {', '.join(sorted(stream_options))} only apply with stream=True")


async def infer_unbatched(model: Any, X: np.ndarray, proba: bool):
    if hasattr(model, "apredict"):
        return await model.apredict(X), None
    if getattr(model, "path", None) == "compiled":
        return model.predict_unchecked(X), model.predict_proba_unchecked(X) if proba else None
    return await trio.to_thread.run_sync(
        lambda: (model.predict_unchecked(X), model.predict_proba_unchecked(X) if proba else None))


def mirror_to_shadow(registry: ModelRegistry, entry: ModelVersion, X: np.ndarray, labels: Any,
                     infer: Callable[[ModelVersion, np.ndarray, bool], Awaitable[Any]]) -> None:
    """If ``entry``'s model has a shadow that wants this request, run the candidate on ``X`` in a
    system task, after the answer (off the response path), and record the comparison."""
    shadow = registry.shadows.get(entry.name)
    if shadow is None or not shadow.wants(entry.version):
        return
    classifier = getattr(entry.model, "classes_", None) is not None
    shadow.pending += 1

    async def run() -> None:
        try:
            candidate = await registry.resolve(entry.name, shadow.candidate)
            other, _ = await infer(candidate, X, False)
            shadow.record(entry.version, labels, other, classifier)
        except Exception as exc:  # noqa: BLE001 - a shadow never fails a request
            logger.warning("shadow %s v%s failed: %s", entry.name, shadow.candidate, type(exc).__name__)
            shadow.failed()
        finally:
            shadow.pending -= 1

    trio.lowlevel.spawn_system_task(run, name="conduit-shadow")


def batcher_statistics(app: Any) -> dict[str, dict[str, Any]]:
    """``{path: {"name vVERSION": BatcherStatistics}}`` for every prediction route."""
    return {
        path: {f"{e.name} v{e.version}": b.statistics() for e, b in batchers.items()}
        for path, batchers in getattr(app.state, "ml_batchers", {}).items()
    }


def _claim_listing(app: Any, registry: ModelRegistry, list_path: str | None, route: str) -> None:
    """Refuse, before any model compiles, a ``list_path`` that already lists another registry."""
    if list_path is None:
        return
    claims = app.state.__dict__.setdefault("ml_list_claims", {})
    claimed = claims.get(list_path)
    if claimed is not None and claimed[0] is not registry:
        raise ValueError(
            f"app.predict({route!r}) would list its models at {list_path!r}, which already lists the "
            f"models of app.predict({claimed[1]!r}) (another registry): pass list_path= a free path "
            f"(or None) to one of the two routes")
    claims.setdefault(list_path, (registry, route))


def _report_loaded(registry: ModelRegistry) -> None:
    """``conduit_model_loaded`` follows the registry (once per registry)."""
    from conduit.observability.model_metrics import record_loaded

    def report(entry: ModelVersion) -> None:
        record_loaded(entry.name, entry.version, entry.loaded)

    if not any(getattr(listener, "reports_loaded", False) for listener in registry.listeners):
        report.reports_loaded = True  # type: ignore[attr-defined]
        registry.listeners.append(report)
    for entry in registry.entries():
        report(entry)


def _add_readiness(app: Any, registry: ModelRegistry, covered: str | None) -> None:
    """``/ready`` says degraded (still ready) while a model of ``registry`` is down."""
    checks = app.state.__dict__.setdefault("ml_readiness", {})
    covers = checks.get(id(registry))
    if covers is None:
        covers = checks[id(registry)] = set()
        from conduit.observability.health import add_readiness_check

        def models_loaded() -> bool | str:
            down = registry.failed()
            if not down:
                return True
            return "; ".join(f"model {e.name!r} is down ({e.error.split(':', 1)[0]})"
                             + (", answering from its fallback" if e.name in covers else "") for e in down)

        add_readiness_check(app, models_loaded)
    if covered is not None:
        covers.add(covered)


def _add_listing(app: Any, registry: ModelRegistry, list_path: str | None) -> None:
    if list_path is None:
        return
    listed = app.state.__dict__.setdefault("ml_listed", {})
    if list_path in listed:
        return  # the same registry (another registry was refused by _claim_listing)
    listed[list_path] = registry

    async def list_models() -> dict[str, Any]:
        return {"models": registry.describe()}

    async def describe_model(name: str) -> dict[str, Any]:
        registry.get(name)  # 404 when unknown
        return registry.describe()[name]

    app.add_route(list_path, list_models, ["GET"])
    app.add_route(list_path.rstrip("/") + "/{name}", describe_model, ["GET"])
