"""``CompiledModel``: a fitted estimator's inference methods, run by kernels (or by itself).

The object that stands in for an estimator: it offers the estimator's own
``predict`` / ``predict_proba`` / ``decision_function`` / ``transform``, validates
input (:func:`conduit.ml.validation.as_features`) and calls one kernel per method.
Estimators with no converter fall back to their own methods (``path == "fallback"``,
``reason`` says why), behind the same validation. Building one is
:func:`conduit.ml.compilation.compiler.compile`'s job; the ensembles (:mod:`.ensemble`) and
pipelines (:mod:`.staged`) are CompiledModels too, which is why the class has a
module of its own below all three.

The per-call Python path is kept short on purpose (single-row latency is mostly
Python overhead): bound locals, one kernel dispatch, no per-call conversion when
the input is already a C-contiguous float64 matrix.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from conduit_kernels.linear import PARALLEL_MIN_ROWS
from conduit_kernels.preprocessing import affine_transform

from .columns import Column, InputSchema
from .compilation.plan import Plan
from .validation import as_features

__all__ = ["CompiledModel"]


def _numeric_schema(est: Any, n_features: int, allow_nan: bool) -> InputSchema:
    """Number columns named after the features; a booster's pandas-category columns take
    their category values, coded by the library's own mapping (:mod:`.booster_columns`)."""
    from .booster_columns import booster_columns
    from .compilation.preprocess import feature_names

    columns = booster_columns(est)
    if columns is not None and len(columns) == n_features:
        return InputSchema(columns)
    return InputSchema([Column(name, accepts_missing=allow_nan) for name in feature_names(est, n_features)])


def _probe_accepts(est: Any, n_features: int, value: float) -> bool:
    """Whether ``est.predict`` (or ``transform``) accepts ``value`` in every feature."""
    method = getattr(est, "predict", None) or getattr(est, "transform")
    try:
        with warnings.catch_warnings():  # "fitted with feature names": the probe has none
            warnings.simplefilter("ignore", UserWarning)
            method(np.full((1, n_features), value))
    except ValueError:
        return False
    except Exception:  # noqa: BLE001 - any other failure: be strict
        return False
    return True


class CompiledModel:
    """A fitted estimator's inference methods, run by kernels (or by the estimator).

    Attributes
    ----------
    estimator : the original estimator
    path : ``"compiled"``, ``"fallback"``, or ``"partial"`` (an ensemble with fallback members)
    kind : kernel family (``linear``, ``forest``, ``gaussian_nb``, ``affine``, ``voting``,
        ``stacking``) or ``"estimator"`` for a fallback
    reason : why a fallback was taken (``None`` when compiled)
    n_features_in_ : int
    classes_ : ndarray or None
    allow_nan, allow_inf : bool -- what the estimator itself accepts
    """

    def __init__(
        self,
        estimator: Any,
        plan: Plan | None,
        *,
        reason: str | None = None,
        n_features: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.path = "compiled" if plan is not None else "fallback"
        self.kind = plan.kind if plan is not None else "estimator"
        self.reason = reason
        self.n_features_in_ = int(plan.n_features if plan is not None else n_features)
        self.classes_ = plan.classes if plan is not None else getattr(estimator, "classes_", None)
        if plan is not None and plan.accepts_nan is not None:
            self.allow_nan = self.allow_inf = plan.accepts_nan
        else:
            self.allow_nan = _probe_accepts(estimator, self.n_features_in_, np.nan)
            self.allow_inf = _probe_accepts(estimator, self.n_features_in_, np.inf)
        self._plan = plan
        self.members: list[CompiledModel] = []
        self.schema = _numeric_schema(estimator, self.n_features_in_, self.allow_nan)
        if plan is not None:
            self._bind(plan)
        else:
            self._bind_fallback(estimator)

    # -- construction -------------------------------------------------------------

    def _bind(self, plan: Plan) -> None:
        args = plan.args
        if plan.kind == "affine":
            (pre,) = args
            self.transform_unchecked = lambda X: affine_transform(X, pre)
            return
        scores_serial, scores_parallel = plan.scores
        ravel = plan.ravel
        cutoff = PARALLEL_MIN_ROWS

        def scores(X: np.ndarray, link: int) -> np.ndarray:
            kernel = scores_serial if X.shape[0] < cutoff else scores_parallel
            return kernel(X, *args, link)

        if plan.labels is not None:
            labels_serial, labels_parallel = plan.labels
            # plain ints: an IntEnum argument sends Numba's dispatcher down its slow typeof path
            classes, rule = plan.classes, int(plan.label_rule)

            def predict_index(X: np.ndarray) -> np.ndarray:
                kernel = labels_serial if X.shape[0] < cutoff else labels_parallel
                return kernel(X, *args, rule)

            def predict(X: np.ndarray) -> np.ndarray:
                kernel = labels_serial if X.shape[0] < cutoff else labels_parallel
                return classes.take(kernel(X, *args, rule))

            self.predict_index_unchecked = predict_index

        elif plan.predict_link is not None:
            # a raw booster's predict: the link's output (a binary one: P(class 1) only)
            predict_link = int(plan.predict_link)
            if predict_link == 1:

                def predict(X: np.ndarray) -> np.ndarray:
                    return scores(X, 1)[:, 1]
            else:

                def predict(X: np.ndarray) -> np.ndarray:
                    out = scores(X, predict_link)
                    return out.reshape(-1) if ravel else out

        elif ravel:

            def predict(X: np.ndarray) -> np.ndarray:
                return scores(X, 0).reshape(-1)

        else:

            def predict(X: np.ndarray) -> np.ndarray:
                return scores(X, 0)

        self.predict_unchecked = predict
        if plan.proba_link is not None:
            link = int(plan.proba_link)
            self.predict_proba_unchecked = lambda X: scores(X, link)
        if plan.decision:
            self.decision_function_unchecked = (
                (lambda X: scores(X, 0).reshape(-1)) if ravel else (lambda X: scores(X, 0))
            )

    def _bind_fallback(self, est: Any) -> None:
        for name in ("predict", "predict_proba", "decision_function", "transform"):
            method = getattr(est, name, None)
            if method is not None:
                setattr(self, f"{name}_unchecked", method)

    @classmethod
    def assemble(
        cls,
        estimator: Any,
        *,
        kind: str,
        n_features: int,
        classes: np.ndarray | None,
        methods: dict[str, Any],
        members: list[CompiledModel] | None = None,
    ) -> CompiledModel:
        """A model whose unchecked methods are given (ensembles build on this)."""
        self = cls.__new__(cls)
        self.estimator = estimator
        self.members = members or []
        compiled = all(m.path == "compiled" for m in self.members)
        self.path = "compiled" if compiled else "partial"
        self.kind = kind
        self.reason = None if compiled else "some members fall back to their own predict"
        self.n_features_in_ = int(n_features)
        self.classes_ = classes
        self._plan = None
        probe = estimator if hasattr(estimator, "predict") else None
        self.allow_nan = _probe_accepts(probe, n_features, np.nan) if probe is not None else all(
            m.allow_nan for m in self.members)
        self.allow_inf = _probe_accepts(probe, n_features, np.inf) if probe is not None else all(
            m.allow_inf for m in self.members)
        self.schema = _numeric_schema(estimator, n_features, self.allow_nan)
        for name, method in methods.items():
            setattr(self, f"{name}_unchecked", method)
        return self

    def predict_index_unchecked(self, X: np.ndarray) -> np.ndarray:
        """Class indices into ``classes_`` (generic path; compiled classifiers bind a kernel)."""
        return np.searchsorted(self.classes_, self.predict_unchecked(X))

    # -- public methods -------------------------------------------------------------

    def validate(self, X: Any) -> np.ndarray:
        """``X`` as a checked ``float64[n, n_features_in_]`` matrix; raises :class:`InvalidInput`.

        Rows may also be JSON objects keyed by feature name (``feature_names_in_``, or
        ``x0 .. x{n-1}`` for a model fitted on arrays)."""
        if type(X) is not np.ndarray and self.schema.wants_encoding(X):
            X = self.schema.encode(X)
        return as_features(X, self.n_features_in_, allow_nan=self.allow_nan, allow_inf=self.allow_inf)

    def has(self, method: str) -> bool:
        """Whether the model offers ``method`` (``predict``, ``predict_proba``, ...)."""
        return hasattr(self, f"{method}_unchecked")

    def _method(self, name: str):
        try:
            return getattr(self, f"{name}_unchecked")
        except AttributeError:
            raise AttributeError(f"{type(self.estimator).__name__} has no {name}") from None

    def predict(self, X: Any) -> np.ndarray:
        """The estimator's ``predict``."""
        return self.predict_unchecked(self.validate(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """The estimator's ``predict_proba``."""
        return self._method("predict_proba")(self.validate(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """The estimator's ``decision_function``."""
        return self._method("decision_function")(self.validate(X))

    def transform(self, X: Any) -> np.ndarray:
        """The estimator's ``transform`` (scalers and scaler pipelines)."""
        return self._method("transform")(self.validate(X))

    def warm_up(self) -> None:
        """Run every method once on a zero row (compiles or cache-loads the kernels)."""
        row = np.zeros((1, self.n_features_in_))
        big = np.zeros((PARALLEL_MIN_ROWS, self.n_features_in_))
        for name in ("predict", "predict_proba", "decision_function", "transform"):
            if self.has(name):
                method = self._method(name)
                method(row)
                if self.path == "compiled":
                    method(big)

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: estimator class, path, kernel family, features, classes."""
        return {
            "estimator": type(self.estimator).__name__,
            "path": self.path,
            "kind": self.kind,
            "reason": self.reason,
            "n_features": self.n_features_in_,
            "classes": None if self.classes_ is None else self.classes_.tolist(),
            "methods": [m for m in ("predict", "predict_proba", "decision_function", "transform")
                        if self.has(m)],
            "accepts_nan": self.allow_nan,
            "features": self.schema.describe(),
            **({"members": [m.describe() for m in self.members]} if self.members else {}),
        }

    def __repr__(self) -> str:
        return f"<CompiledModel {type(self.estimator).__name__} path={self.path} kind={self.kind}>"
