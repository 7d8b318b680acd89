"""Fitted scikit-learn transformers -> compiled steps over the kernels.

Owns the reading of each supported transformer's fitted attributes and the step that
reproduces its ``transform`` on a float64 matrix: scalers as affine stages
(:func:`conduit_kernels.preprocessing.affine_transform`), ``SimpleImputer`` as
:func:`~conduit_kernels.preprocessing.fill_missing`, ``PCA`` as a linear kernel
(``X @ components_.T - mean_ @ components_.T``, scikit-learn's order), ``PolynomialFeatures``
from ``powers_``, ``FunctionTransformer`` of a one-argument numpy ufunc, the encoders over
category codes, and ``ColumnTransformer`` as blocks of these over its column selections.
A ``ColumnTransformer`` also yields the :class:`~conduit.ml.columns.InputSchema` of its
inputs: which columns are categories, which categories each encoder knows, what a
missing value becomes. Anything else raises :class:`~conduit.ml.compilation.plan.Unsupported`
naming the transformer, and the caller falls back to scikit-learn.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from conduit_kernels import linear, preprocessing
from conduit_kernels.preprocessing import affine_stage

from ..columns import Column, InputSchema
from .plan import Unsupported

__all__ = ["Step", "column_transformer", "feature_names", "numeric_step"]


class Step(NamedTuple):
    """One compiled transformer: ``run(X) -> Y`` with ``Y.shape[1] == n_out``."""

    name: str
    estimator: str
    run: Callable[[np.ndarray], np.ndarray]
    n_out: int


def feature_names(est: Any, n: int) -> list[str]:
    """``feature_names_in_`` as strings, or ``x0 .. x{n-1}`` for a model fitted on arrays."""
    names = getattr(est, "feature_names_in_", None)
    return [str(v) for v in names] if names is not None else [f"x{j}" for j in range(n)]


def _affine(stage: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda X: preprocessing.affine_transform(np.ascontiguousarray(X), stage)


def _scaler(est: Any, n: int) -> np.ndarray:
    name = type(est).__name__
    if name == "StandardScaler":
        return affine_stage(n, subtract=est.mean_ if est.with_mean else None,
                            divide=est.scale_ if est.with_std else None)
    if name == "MinMaxScaler":
        clip = tuple(map(float, est.feature_range)) if est.clip else None
        return affine_stage(n, multiply=est.scale_, add=est.min_, clip=clip)
    if name == "RobustScaler":
        return affine_stage(n, subtract=est.center_ if est.with_centering else None,
                            divide=est.scale_ if est.with_scaling else None)
    if name == "MaxAbsScaler":
        return affine_stage(n, divide=est.scale_)
    raise Unsupported(f"{name} is not a compiled transformer")


def _imputer(est: Any, n: int) -> Callable[[np.ndarray], np.ndarray]:
    missing = est.missing_values
    if not (isinstance(missing, float) and np.isnan(missing)):
        raise Unsupported(f"SimpleImputer(missing_values={missing!r}) is not compiled (only NaN)")
    if est.add_indicator:
        raise Unsupported("SimpleImputer(add_indicator=True) is not compiled")
    try:
        fill = np.asarray(est.statistics_, dtype=np.float64)
    except (TypeError, ValueError):
        raise Unsupported("SimpleImputer with non-numeric statistics on numeric columns") from None
    if np.isnan(fill).any() and not getattr(est, "keep_empty_features", False):
        raise Unsupported("SimpleImputer that drops all-missing columns is not compiled")
    return lambda X: preprocessing.fill_missing(np.ascontiguousarray(X), fill)


def _pca(est: Any) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    components = np.asarray(est.components_, dtype=np.float64)
    intercept = -(np.asarray(est.mean_, dtype=np.float64) @ components.T)
    scale = np.sqrt(est.explained_variance_) if est.whiten else None
    coef = np.ascontiguousarray(components)
    none = preprocessing.no_preprocessing(components.shape[1])
    identity = 0

    def run(X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X)
        kernel = linear.linear_scores if X.shape[0] < linear.PARALLEL_MIN_ROWS else linear.linear_scores_parallel
        out = kernel(X, coef, intercept, none, identity)
        return out / scale if scale is not None else out

    return run, components.shape[0]


def _function(est: Any) -> Callable[[np.ndarray], np.ndarray]:
    func = est.func
    if func is None:
        return lambda X: X
    if isinstance(func, np.ufunc) and func.nin == 1 and func.nout == 1 and not est.kw_args:
        return lambda X: func(X)
    raise Unsupported(f"FunctionTransformer({getattr(func, '__name__', func)!r}) is not compiled "
                      "(only one-argument numpy ufuncs, without kw_args)")


def numeric_step(est: Any, n_in: int, name: str) -> list[Step]:
    """The steps of a transformer (or a ``Pipeline`` of them) over ``n_in`` numeric columns."""
    cls = type(est).__name__
    if est is None or est == "passthrough":
        return []
    if cls == "Pipeline":
        steps: list[Step] = []
        for sub_name, sub in est.steps:
            steps += numeric_step(sub, steps[-1].n_out if steps else n_in, f"{name}/{sub_name}")
        return steps
    if cls in ("StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler"):
        return [Step(name, cls, _affine(_scaler(est, n_in)), n_in)]
    if cls == "SimpleImputer":
        return [Step(name, cls, _imputer(est, n_in), n_in)]
    if cls == "FunctionTransformer":
        return [Step(name, cls, _function(est), n_in)]
    if cls == "PCA":
        run, n_out = _pca(est)
        return [Step(name, cls, run, n_out)]
    if cls == "PolynomialFeatures":
        powers = np.ascontiguousarray(est.powers_, dtype=np.int64)
        return [Step(name, cls, lambda X: preprocessing.polynomial(np.ascontiguousarray(X), powers),
                     powers.shape[0])]
    if cls == "ColumnTransformer":
        raise Unsupported("a ColumnTransformer must be the first step of a pipeline to be compiled")
    raise Unsupported(f"{cls} is not a compiled transformer")


# --- encoders and ColumnTransformer ------------------------------------------------


def _encoder(est: Any, names: list[str], name: str) -> tuple[list[Column], Step]:
    """An encoder over category-code columns, and the input columns it defines."""
    cls = type(est).__name__
    if getattr(est, "_infrequent_enabled", False):
        raise Unsupported(f"{cls} with infrequent categories is not compiled")
    categories = [list(c) for c in est.categories_]
    if cls == "OneHotEncoder":
        unknown = "error" if est.handle_unknown == "error" else "code"
        drop_idx = getattr(est, "drop_idx_", None)
        dropped = np.array([-1 if drop_idx is None or drop_idx[j] is None else int(drop_idx[j])
                            for j in range(len(categories))], dtype=np.int64)
        widths = [len(c) - (1 if dropped[j] >= 0 else 0) for j, c in enumerate(categories)]
        starts = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
        columns = [Column(n, "category", c, unknown=unknown) for n, c in zip(names, categories)]
        run = lambda X: preprocessing.one_hot(np.ascontiguousarray(X), starts, dropped)  # noqa: E731
        return columns, Step(name, cls, run, int(starts[-1]))
    if cls == "OrdinalEncoder":
        unknown = "code" if est.handle_unknown == "use_encoded_value" else "error"
        unknown_value = float(est.unknown_value) if unknown == "code" else np.nan
        missing_value = float(est.encoded_missing_value)
        columns = [Column(n, "category", c, unknown=unknown) for n, c in zip(names, categories)]
        missing_code = np.array([-1 if c.missing_code is None else c.missing_code for c in columns],
                                dtype=np.int64)
        run = lambda X: preprocessing.ordinal(  # noqa: E731
            np.ascontiguousarray(X), missing_code, unknown_value, missing_value)
        return columns, Step(name, cls, run, len(categories))
    raise Unsupported(f"{cls} is not a compiled encoder")


_ENCODERS = ("OneHotEncoder", "OrdinalEncoder")


def _block(trans: Any, names: list[str], name: str) -> tuple[list[Column] | None, list[Step]]:
    """One ColumnTransformer entry: its category columns (None if numeric) and steps."""
    steps = list(trans.steps) if type(trans).__name__ == "Pipeline" else [(name, trans)]
    steps = [(n, s) for n, s in steps if s is not None and s != "passthrough"]
    at = next((k for k, (_, s) in enumerate(steps) if type(s).__name__ in _ENCODERS), None)
    if at is None:
        out: list[Step] = []
        for sub_name, sub in steps:
            out += numeric_step(sub, out[-1].n_out if out else len(names), f"{name}/{sub_name}")
        return None, out
    fills: list[Any] = [None] * len(names)
    for sub_name, sub in steps[:at]:
        if type(sub).__name__ != "SimpleImputer" or sub.add_indicator:
            raise Unsupported(f"{type(sub).__name__} before an encoder is not compiled ({name}/{sub_name})")
        fills = list(sub.statistics_)
    enc_name, encoder = steps[at]
    columns, step = _encoder(encoder, names, f"{name}/{enc_name}")
    for column, fill in zip(columns, fills):
        column.fill = fill
    out = [step]
    for sub_name, sub in steps[at + 1:]:
        out += numeric_step(sub, out[-1].n_out, f"{name}/{sub_name}")
    return columns, out


def column_transformer(ct: Any) -> tuple[InputSchema, Step, list[dict[str, Any]]]:
    """A fitted ``ColumnTransformer`` as (input schema, one step, per-block description)."""
    n_in = int(ct.n_features_in_)
    names = feature_names(ct, n_in)
    columns = [Column(n) for n in names]
    role: dict[int, str] = {}
    blocks: list[tuple[np.ndarray, list[Step]]] = []
    described = []
    indices = ct._transformer_to_input_indices
    for name, trans, _ in ct.transformers_:
        cols = np.asarray(indices.get(name, []), dtype=np.int64)
        if (isinstance(trans, str) and trans == "drop") or cols.size == 0:
            continue
        block_names = [names[j] for j in cols]
        if isinstance(trans, str) and trans == "passthrough":
            category_columns, steps = None, []
        else:
            category_columns, steps = _block(trans, block_names, name)
        kind = "category" if category_columns is not None else "number"
        for j, column in zip(cols, category_columns or [None] * cols.size):
            if role.get(int(j), kind) != kind or (kind == "category" and int(j) in role):
                raise Unsupported(f"column {names[j]!r} feeds both an encoder and another transformer")
            role[int(j)] = kind
            if column is not None:
                columns[int(j)] = column
        blocks.append((cols, steps))
        described.append({"name": name, "columns": block_names, "compiled": True,
                          "steps": [s.estimator for s in steps] or ["passthrough"]})
    width = sum(steps[-1].n_out if steps else cols.size for cols, steps in blocks)

    def run(Z: np.ndarray) -> np.ndarray:
        parts = []
        for cols, steps in blocks:
            part = Z[:, cols]
            for step in steps:
                part = step.run(part)
            parts.append(part)
        return np.ascontiguousarray(np.hstack(parts)) if len(parts) != 1 else np.ascontiguousarray(parts[0])

    return InputSchema(columns), Step("columns", "ColumnTransformer", run, width), described
