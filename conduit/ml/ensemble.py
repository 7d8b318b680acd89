"""Ensembles over compiled models: voting, averaging, median, stacking.

Owns :func:`vote` (compiled members, combined by the ``conduit_kernels.ensemble``
aggregation kernels; :func:`conduit.ml.VotingEnsemble` is its public face, which
compiles the members first) and the compilation of scikit-learn's
``VotingClassifier`` / ``VotingRegressor`` / ``StackingClassifier`` /
``StackingRegressor`` into such ensembles, equal in output to the estimators. Each
member costs one kernel call (its own compiled path); aggregation is one more. The
members are compiled by the ``compile_member`` function the caller hands in
(:func:`conduit.ml.compilation.compiler.compile` itself), so this module does not import the
compiler that dispatches to it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from conduit_kernels.ensemble import argmax_rows, hard_vote, mean_vote, median_vote, soft_vote

from .model import CompiledModel

__all__ = ["VOTING", "compile_ensemble", "stacking_features", "vote"]

#: Aggregation names accepted by :func:`vote` (and :func:`conduit.ml.VotingEnsemble`).
VOTING = ("soft", "hard", "mean", "median")

#: ``compile_member(estimator) -> CompiledModel`` (:func:`conduit.ml.compilation.compiler.compile`).
CompileMember = Callable[[Any], CompiledModel]


def vote(
    models: Sequence[CompiledModel],
    *,
    voting: str,
    weights: Sequence[float] | None = None,
    classes: Sequence[Any] | None = None,
    estimator: Any = None,
) -> CompiledModel:
    """Combine compiled ``models`` into one; ``voting`` is one of :data:`VOTING`, checked by
    the callers (:func:`conduit.ml.VotingEnsemble`, before it compiles anything; scikit-learn's
    own ``voting``). See :func:`conduit.ml.VotingEnsemble` for the parameters."""
    models = list(models)
    if not models:
        raise ValueError("an ensemble needs at least one member")
    n_features = {m.n_features_in_ for m in models}
    if len(n_features) != 1:
        raise ValueError(f"members disagree on the feature count: {sorted(n_features)}")
    weighted = weights is not None
    w = np.ones(len(models)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(models),):
        raise ValueError(f"expected {len(models)} weights, got {w.shape[0]}")
    count = len(models)
    methods: dict[str, Any] = {}
    out_classes = None
    if voting in ("soft", "hard"):
        member_classes = models[0].classes_
        if member_classes is None or any(
            m.classes_ is None or not np.array_equal(m.classes_, member_classes) for m in models
        ):
            raise ValueError(f"{voting} voting needs classifiers with the same classes_")
        out_classes = np.asarray(classes) if classes is not None else member_classes
        n_classes = len(member_classes)
    if voting == "soft":
        missing = [type(m.estimator).__name__ for m in models if not m.has("predict_proba")]
        if missing:
            raise ValueError(f"soft voting needs predict_proba; missing on {missing}")
        member_proba = [m.predict_proba_unchecked for m in models]

        def predict_proba(X: np.ndarray) -> np.ndarray:
            stacked = np.empty((count, X.shape[0], n_classes))
            for m, proba in enumerate(member_proba):
                stacked[m] = proba(X)
            return soft_vote(stacked, w, weighted)

        methods["predict_proba"] = predict_proba
        methods["predict_index"] = lambda X: argmax_rows(predict_proba(X))
        methods["predict"] = lambda X: out_classes.take(argmax_rows(predict_proba(X)))
    elif voting == "hard":
        member_index = [m.predict_index_unchecked for m in models]

        def predict_index(X: np.ndarray) -> np.ndarray:
            stacked = np.empty((count, X.shape[0]), dtype=np.int64)
            for m, index in enumerate(member_index):
                stacked[m] = index(X)
            return hard_vote(stacked, w, n_classes)

        methods["predict_index"] = predict_index
        methods["predict"] = lambda X: out_classes.take(predict_index(X))
    else:
        member_predict = [m.predict_unchecked for m in models]

        def stacked_predictions(X: np.ndarray) -> np.ndarray:
            stacked = np.empty((count, X.shape[0]))
            for m, predict in enumerate(member_predict):
                stacked[m] = predict(X)
            return stacked

        if voting == "mean":
            methods["predict"] = lambda X: mean_vote(stacked_predictions(X), w, weighted)
        else:
            methods["predict"] = lambda X: median_vote(stacked_predictions(X))
    return CompiledModel.assemble(
        estimator if estimator is not None else models,
        kind=f"voting:{voting}",
        n_features=n_features.pop(),
        classes=out_classes,
        methods=methods,
        members=models,
    )


def stacking_features(
    members: Sequence[CompiledModel], methods: Sequence[str], n_classes: int | None, passthrough: bool
):
    """A function ``X -> X_meta`` equal to ``Stacking*.transform`` for these members."""
    calls = [getattr(m, f"{name}_unchecked") for m, name in zip(members, methods)]
    drop_first = [name == "predict_proba" and n_classes == 2 for name in methods]

    def features(X: np.ndarray) -> np.ndarray:
        parts = []
        for call, drop in zip(calls, drop_first):
            out = call(X)
            parts.append(out.reshape(-1, 1) if out.ndim == 1 else (out[:, 1:] if drop else out))
        if passthrough:
            parts.append(X)
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float64)

    return features


def _stacking(est: Any, compile_member: CompileMember) -> CompiledModel:
    pairs = [(e, m) for e, m in zip(est.estimators_, est.stack_method_) if e != "drop"]
    members = [compile_member(e) for e, _ in pairs]
    classifier = hasattr(est, "classes_")
    if classifier and isinstance(est._label_encoder, list):
        raise TypeError("multi-label stacking is not compiled")
    features = stacking_features(
        members, [m for _, m in pairs], len(est.classes_) if classifier else None, est.passthrough
    )
    final = compile_member(est.final_estimator_)
    methods: dict[str, Any] = {}
    if classifier:
        classes = est.classes_
        final_index = final.predict_index_unchecked
        methods["predict_index"] = lambda X: final_index(features(X))
        methods["predict"] = lambda X: classes.take(final_index(features(X)))
        for name in ("predict_proba", "decision_function"):
            if final.has(name):
                call = getattr(final, f"{name}_unchecked")
                methods[name] = lambda X, call=call: call(features(X))
    else:
        classes = None
        final_predict = final.predict_unchecked
        methods["predict"] = lambda X: final_predict(features(X))
    methods["transform"] = features
    return CompiledModel.assemble(
        est, kind="stacking", n_features=est.n_features_in_, classes=classes,
        methods=methods, members=[*members, final],
    )


def compile_ensemble(est: Any, compile_member: CompileMember) -> CompiledModel | None:
    """Compile a scikit-learn voting or stacking ensemble; ``None`` for anything else.

    Each member (and a stacking final estimator) is compiled by ``compile_member``.
    """
    name = type(est).__name__
    module = type(est).__module__
    if not module.startswith("sklearn.ensemble"):
        return None
    if name == "VotingClassifier":
        return vote(
            [compile_member(m) for m in est.estimators_], voting=est.voting,
            weights=est._weights_not_none, classes=est.classes_, estimator=est,
        )
    if name == "VotingRegressor":
        return vote(
            [compile_member(m) for m in est.estimators_], voting="mean",
            weights=est._weights_not_none, estimator=est,
        )
    if name in ("StackingClassifier", "StackingRegressor"):
        return _stacking(est, compile_member)
    return None
