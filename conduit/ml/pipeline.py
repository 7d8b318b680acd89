"""A fluent builder for multi-model inference pipelines.

Owns :class:`Pipeline`: sequential stages, parallel branches, conditional routing,
ensembles as stages, and per-stage timing. A stage maps a batch (an array whose
first axis is rows) to a batch::

    triage = (
        Pipeline("triage", n_features=30)
        .then(StandardScaler().fit(X), name="scale")                 # a transformer
        .parallel(lr=lr_model, rf=rf_model, output="proba")          # concurrent branches
        .then(lambda P: P.reshape(len(P), -1), name="features")      # any callable
        .route(lambda X: X[:, 0] > 0.5, {True: big, False: small})   # per-row routing
    )
    labels = await triage.apredict(X)       # or triage.predict(X) (sequential)

Parallel branches run concurrently, each in a worker thread (the kernels release the
GIL, so CPU-bound branches really overlap and never block the event loop). A
routing predicate returns one key for the whole batch or one key per row; rows are
split by key, each group runs its branch, and outputs are put back in row order.
Each stage's calls and time are in :meth:`Pipeline.metrics`.
"""

from __future__ import annotations

import time
from typing import Any, AsyncIterator, Callable, Sequence

import numpy as np
import trio

from .validation import as_features

__all__ = ["Pipeline"]

Step = Callable[[np.ndarray], Any]


def _as_step(step: Any, output: str | None) -> tuple[Step, Any]:
    """A plain function ``X -> Y`` for a model, estimator or callable (and the model, if any)."""
    if hasattr(step, "predict_unchecked") or hasattr(step, "predict") or hasattr(step, "transform"):
        if not hasattr(step, "predict_unchecked") and not hasattr(step, "transform_unchecked"):
            from .compilation.compiler import compile

            step = compile(step)
        method = output or ("predict" if step.has("predict") else "transform")
        if not step.has(method):
            raise ValueError(f"{type(step.estimator).__name__} has no {method}")
        return getattr(step, f"{method}_unchecked"), step
    if callable(step):
        return step, None
    raise TypeError(f"a pipeline stage must be a model or a callable, got {type(step).__name__}")


def _combine(outputs: list[np.ndarray]) -> np.ndarray:
    return np.hstack([o.reshape(len(o), -1) if o.ndim == 1 else o for o in outputs])


class _Stage:
    __slots__ = ("name", "kind", "run_sync", "run_async", "models", "n_features", "calls", "seconds", "last")

    def __init__(self, name: str, kind: str, run_sync, run_async, models) -> None:
        self.name, self.kind = name, kind
        self.run_sync, self.run_async, self.models = run_sync, run_async, models
        widths = {getattr(m, "n_features_in_", None) for m in models if m is not None} - {None}
        #: The input width the stage's models need (None: a callable stage, anything goes).
        self.n_features = widths.pop() if len(widths) == 1 else None
        self.calls, self.seconds, self.last = 0, 0.0, 0.0

    def input(self, X: Any, pipeline: str) -> Any:
        """``X`` as the stage's models need it (float64[n, n_features]), or a ValueError naming
        the stage: a kernel fed the wrong shape would fail with a Numba typing error instead."""
        if self.n_features is None:
            return X
        arr = np.asarray(X)
        if arr.ndim == 2 and arr.shape[1] == self.n_features and arr.dtype.kind in "fiub":
            return arr if arr.dtype == np.float64 and arr.flags.c_contiguous else (
                np.ascontiguousarray(arr, dtype=np.float64))
        hint = ("; a 1-D input is one value per row (labels or scores from an earlier stage's predict): "
                "give that stage output='predict_proba', or put a callable stage in between that builds "
                "the features") if arr.ndim == 1 else ""
        raise ValueError(f"pipeline {pipeline!r}, stage {self.name!r} ({self.kind}): its model needs features, "
                         f"a 2-D numeric array of {self.n_features} columns, but got shape {arr.shape} "
                         f"of {arr.dtype}{hint}")


class Pipeline:
    """A fluent multi-stage inference pipeline (see the module docstring).

    Parameters
    ----------
    name : shown in ``describe()`` and used as the model name when served
    n_features : expected input width (default: the first model stage's)
    """

    path = "pipeline"
    kind = "pipeline"
    reason = None

    def __init__(self, name: str = "pipeline", *, n_features: int | None = None,
                 allow_nan: bool = False) -> None:
        self.name = name
        self._n_features = n_features
        self.allow_nan = allow_nan
        self.allow_inf = False
        self.stages: list[_Stage] = []
        self.estimator = self
        self.members: list[Any] = []

    # -- building --------------------------------------------------------------------

    def _add(self, name: str | None, kind: str, run_sync, run_async, models) -> Pipeline:
        name = name or f"{kind}{len(self.stages)}"
        if any(s.name == name for s in self.stages):
            raise ValueError(f"pipeline {self.name!r} already has a stage named {name!r}")
        self.stages.append(_Stage(name, kind, run_sync, run_async, models))
        self.members.extend(m for m in models if m is not None)
        return self

    def then(self, step: Any, *, name: str | None = None, output: str | None = None) -> Pipeline:
        """Append a sequential stage: a model (``output``: ``predict``, ``predict_proba``,
        ``decision_function``, ``transform``) or a callable ``X -> Y``."""
        fn, model = _as_step(step, output)

        async def run_async(X):
            return fn(X)

        return self._add(name or getattr(step, "__name__", None), "then", fn, run_async, [model])

    def parallel(self, *, name: str | None = None, output: str | None = None,
                 combine: Callable[[list[np.ndarray]], np.ndarray] = _combine,
                 **branches: Any) -> Pipeline:
        """Run ``branches`` (name=model or callable) concurrently on the same input;
        ``combine`` their outputs (default: side by side, one column per 1-D output)."""
        if not branches:
            raise ValueError("parallel() needs at least one branch")
        steps = [_as_step(b, output) for b in branches.values()]
        fns = [fn for fn, _ in steps]

        def run_sync(X):
            return combine([fn(X) for fn in fns])

        async def run_async(X):
            results: list[Any] = [None] * len(fns)

            async def branch(i: int) -> None:
                results[i] = await trio.to_thread.run_sync(fns[i], X)

            async with trio.open_nursery() as nursery:
                for i in range(len(fns)):
                    nursery.start_soon(branch, i)
            return combine(results)

        return self._add(name, "parallel", run_sync, run_async, [m for _, m in steps])

    def route(self, predicate: Callable[[np.ndarray], Any], branches: dict[Any, Any], *,
              name: str | None = None, output: str | None = None, default: Any = None) -> Pipeline:
        """Conditional routing: ``predicate(X)`` gives one key, or one key per row; each
        key's rows run through ``branches[key]`` (or ``default``); output keeps row order."""
        table = {key: _as_step(b, output) for key, b in branches.items()}
        fallback = _as_step(default, output) if default is not None else None

        def pick(key):
            try:
                return table[key.item() if isinstance(key, np.generic) else key][0]
            except KeyError:
                if fallback is None:
                    raise ValueError(f"routing key {key!r} has no branch and no default") from None
                return fallback[0]

        def run_sync(X):
            keys = predicate(X)
            if np.ndim(keys) == 0:
                return pick(keys)(X)
            keys = np.asarray(keys)
            out = None
            for key in np.unique(keys):
                rows = np.flatnonzero(keys == key)
                part = np.asarray(pick(key)(np.ascontiguousarray(X[rows])))
                if out is None:
                    out = np.empty((X.shape[0], *part.shape[1:]), dtype=part.dtype)
                elif part.dtype != out.dtype:
                    out = out.astype(np.result_type(out.dtype, part.dtype))
                out[rows] = part
            return out

        async def run_async(X):
            return run_sync(X)

        models = [m for _, m in table.values()] + ([fallback[1]] if fallback else [])
        return self._add(name, "route", run_sync, run_async, models)

    def ensemble(self, members: Sequence[Any], *, voting: str = "soft",
                 weights: Sequence[float] | None = None, name: str | None = None,
                 output: str | None = None) -> Pipeline:
        """An ensemble stage (see :func:`conduit.ml.VotingEnsemble`)."""
        from .compilation.compiler import VotingEnsemble

        return self.then(VotingEnsemble(members, voting=voting, weights=weights),
                         name=name or "ensemble", output=output)

    # -- running ---------------------------------------------------------------------

    @property
    def n_features_in_(self) -> int:
        if self._n_features is not None:
            return self._n_features
        for stage in self.stages:
            for model in stage.models:
                if model is not None:
                    return model.n_features_in_
        raise ValueError(f"pipeline {self.name!r}: give n_features= (no model stage to read it from)")

    @property
    def classes_(self):
        last = self.stages[-1].models if self.stages else []
        return last[0].classes_ if len(last) == 1 and last[0] is not None else None

    def validate(self, X: Any) -> np.ndarray:
        return as_features(X, self.n_features_in_, allow_nan=self.allow_nan)

    def has(self, method: str) -> bool:
        return method == "predict"

    def _timed(self, stage: _Stage, started: float) -> None:
        stage.last = time.perf_counter() - started
        stage.seconds += stage.last
        stage.calls += 1

    def predict_unchecked(self, X: np.ndarray) -> Any:
        """Run every stage in order on this thread (parallel branches one after another)."""
        for stage in self.stages:
            started = time.perf_counter()
            X = stage.run_sync(stage.input(X, self.name))
            self._timed(stage, started)
        return X

    async def apredict(self, X: np.ndarray) -> Any:
        """Run the pipeline with parallel branches concurrent."""
        for stage in self.stages:
            started = time.perf_counter()
            X = await stage.run_async(stage.input(X, self.name))
            self._timed(stage, started)
        return X

    async def stream(self, X: np.ndarray) -> AsyncIterator[dict[str, Any]]:
        """Yield ``{"stage", "output", "seconds"}`` after each stage."""
        for stage in self.stages:
            started = time.perf_counter()
            X = await stage.run_async(stage.input(X, self.name))
            self._timed(stage, started)
            yield {"stage": stage.name, "output": X, "seconds": stage.last}

    def predict(self, X: Any) -> Any:
        return self.predict_unchecked(self.validate(X))

    def warm_up(self) -> None:
        for model in self.members:
            model.warm_up()
        self.predict_unchecked(np.zeros((1, self.n_features_in_)))

    def metrics(self) -> dict[str, dict[str, float]]:
        """Per stage: calls, total seconds, mean and last call seconds."""
        return {s.name: {"calls": s.calls, "total_s": s.seconds, "last_s": s.last,
                         "mean_s": s.seconds / s.calls if s.calls else 0.0} for s in self.stages}

    def describe(self) -> dict[str, Any]:
        return {
            "estimator": f"Pipeline({self.name})", "path": self.path, "kind": self.kind,
            "reason": None, "n_features": self.n_features_in_, "classes": None,
            "methods": ["predict"], "accepts_nan": self.allow_nan,
            "stages": [{"name": s.name, "kind": s.kind,
                        "models": [m.describe()["estimator"] for m in s.models if m is not None]}
                       for s in self.stages],
            "metrics": self.metrics(),
        }
