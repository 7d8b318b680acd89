"""``compile(estimator)``: a fitted estimator run by Numba kernels, equal in output.

The dispatcher: an ensemble (:mod:`.ensemble`), a convertible estimator
(:mod:`.convert`, :mod:`.boosters`), a pipeline compiled stage by stage
(:mod:`.staged`), or the estimator's own methods as a fallback; each answer is a
:class:`~conduit.ml.model.CompiledModel`. Ensembles and pipelines compile their
members with the same :func:`compile`, which they are handed (they do not import
this module). :func:`VotingEnsemble` builds an ensemble from models or estimators.
"""

from __future__ import annotations

from typing import Any, Sequence

from .convert import class_path, convert
from ..ensemble import VOTING, compile_ensemble, vote
from ..model import CompiledModel
from .plan import Unsupported
from ..staged import compile_staged

__all__ = ["CompiledModel", "VotingEnsemble", "compile"]


def compile(estimator: Any) -> CompiledModel:  # noqa: A001 - the public name is the point
    """Compile a fitted estimator into kernels; fall back to its own methods if unsupported.

    Example::

        >>> model = compile(LogisticRegression().fit(X, y))
        >>> model.path, model.kind
        ('compiled', 'linear')
        >>> (model.predict(X) == estimator.predict(X)).all()
        True
    """
    if isinstance(estimator, CompiledModel):
        return estimator
    ensemble = compile_ensemble(estimator, compile)  # members compiled by this same function
    if ensemble is not None:
        return ensemble
    try:
        plan = convert(estimator)
    except Unsupported as exc:
        reason = str(exc)
        if class_path(estimator) in _STAGED:  # pipelines beyond scalers, stage by stage
            try:
                return compile_staged(estimator, compile)
            except Unsupported as staged_exc:
                reason = str(staged_exc)
        n_features = getattr(estimator, "n_features_in_", None)
        if n_features is None:
            raise TypeError(
                f"{class_path(estimator)} is not a fitted estimator (no n_features_in_)"
            ) from None
        return CompiledModel(estimator, None, reason=reason, n_features=n_features)
    return CompiledModel(estimator, plan)


_STAGED = frozenset({"sklearn.pipeline.Pipeline", "sklearn.compose._column_transformer.ColumnTransformer"})


def VotingEnsemble(  # noqa: N802 - a factory that reads like a class
    members: Sequence[Any],
    *,
    voting: str = "soft",
    weights: Sequence[float] | None = None,
    classes: Sequence[Any] | None = None,
    estimator: Any = None,
) -> CompiledModel:
    """Combine compiled models (or fitted estimators, compiled here) into one model.

    Parameters
    ----------
    members : models with the same feature count (classifiers: the same ``classes_``)
    voting : ``"soft"`` (average probabilities), ``"hard"`` (majority of labels),
        ``"mean"`` (weighted mean of regression outputs) or ``"median"``
    weights : one per member (``None``: equal)
    classes : output classes for ``soft`` / ``hard`` (default: the first member's)

    Returns
    -------
    CompiledModel with ``predict`` (and ``predict_proba`` for soft voting).
    """
    if voting not in VOTING:  # before compiling anything
        raise ValueError(f"voting must be one of {VOTING}, got {voting!r}")
    return vote([compile(m) for m in members], voting=voting, weights=weights, classes=classes,
                estimator=estimator if estimator is not None else members)
