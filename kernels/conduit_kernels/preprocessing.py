"""Feature preprocessing as arrays: chains of per-feature affine stages, and input checks.

Owns the encoding of ``StandardScaler`` / ``MinMaxScaler`` (and chains of them) as one
``float64[n_stages, AFFINE_ROWS, n_features]`` array, applied element-wise as

.. math:: v \\leftarrow \\operatorname{clip}(((v - s) / d) \\cdot m + a,\\ lo,\\ hi)

per stage. Identity entries (``s=0, d=1, m=1, a=0, lo=-inf, hi=+inf``) are exact
no-ops in IEEE arithmetic, so one formula reproduces each scaler bit for bit
(``StandardScaler``: ``(x - mean_) / scale_``; ``MinMaxScaler``: ``x * scale_ + min_``
then an optional clip). NaN passes through, as in scikit-learn. Every predict kernel
takes such a ``pre`` array (``n_stages == 0`` for none) so a pipeline of scalers and a
model is one kernel call.

The column kernels compile the rest of a ``ColumnTransformer``: :func:`fill_missing`
(``SimpleImputer``), :func:`one_hot` and :func:`ordinal` (the encoders, over category
*codes* the Python layer looked up: ``-1`` for an unknown category) and
:func:`polynomial` (``PolynomialFeatures``, from its ``powers_`` matrix).
"""

from __future__ import annotations

import numpy as np

from ._jit import inline, kernel

__all__ = [
    "AFFINE_ROWS",
    "FINITE",
    "HAS_INF",
    "HAS_NAN",
    "affine_stage",
    "affine_transform",
    "check_finite",
    "fill_missing",
    "no_preprocessing",
    "one_hot",
    "ordinal",
    "polynomial",
]

#: Rows of one stage: subtract, divide, multiply, add, clip low, clip high.
AFFINE_ROWS = 6
#: :func:`check_finite` results.
FINITE, HAS_NAN, HAS_INF = 0, 1, 2


def affine_stage(
    n_features: int,
    *,
    subtract=None,
    divide=None,
    multiply=None,
    add=None,
    clip: tuple[float, float] | None = None,
) -> np.ndarray:
    """One stage as ``float64[1, AFFINE_ROWS, n_features]``; omitted parts are identities.

    >>> affine_stage(2, subtract=[1.0, 2.0], divide=[2.0, 4.0])[0, :2]
    array([[1., 2.],
           [2., 4.]])
    """
    stage = np.empty((1, AFFINE_ROWS, n_features), dtype=np.float64)
    for row, part, identity in (
        (0, subtract, 0.0),
        (1, divide, 1.0),
        (2, multiply, 1.0),
        (3, add, 0.0),
    ):
        stage[0, row] = identity if part is None else np.asarray(part, dtype=np.float64)
    low, high = clip if clip is not None else (-np.inf, np.inf)
    stage[0, 4] = low
    stage[0, 5] = high
    return stage


def no_preprocessing(n_features: int) -> np.ndarray:
    """The empty chain: ``float64[0, AFFINE_ROWS, n_features]``."""
    return np.empty((0, AFFINE_ROWS, n_features), dtype=np.float64)


@inline
def apply_stages(x, pre, out):
    """``out[j] = stages(x[j])`` for one row (``x``, ``out``: float64 1-D)."""
    for j in range(x.shape[0]):
        v = x[j]
        for s in range(pre.shape[0]):
            v = ((v - pre[s, 0, j]) / pre[s, 1, j]) * pre[s, 2, j] + pre[s, 3, j]
            if v < pre[s, 4, j]:
                v = pre[s, 4, j]
            elif v > pre[s, 5, j]:
                v = pre[s, 5, j]
        out[j] = v


@kernel
def affine_transform(X, pre):
    """Apply a stage chain to every row.

    Parameters
    ----------
    X : float64[n, n_features], C-contiguous
    pre : float64[n_stages, AFFINE_ROWS, n_features]

    Returns
    -------
    float64[n, n_features]
    """
    out = np.empty_like(X)
    for i in range(X.shape[0]):
        apply_stages(X[i], pre, out[i])
    return out


@kernel
def check_finite(X):
    """:data:`FINITE`, :data:`HAS_NAN` or :data:`HAS_INF` (inf wins) for a float64 array."""
    flat = X.reshape(-1)
    status = 0
    for i in range(flat.shape[0]):
        v = flat[i]
        if v != v:
            status = 1
        elif v == np.inf or v == -np.inf:
            return 2
    return status


@kernel
def fill_missing(X, fill):
    """``X`` with each NaN in column ``j`` replaced by ``fill[j]`` (a new array).

    X : float64[n, m]; fill : float64[m]
    """
    out = np.empty_like(X)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            v = X[i, j]
            out[i, j] = fill[j] if v != v else v
    return out


@kernel
def one_hot(codes, starts, dropped):
    """One-hot columns from category codes.

    Parameters
    ----------
    codes : float64[n, m]
        Category index per row and column; ``-1`` (any negative) for an unknown category,
        which yields all zeros (``handle_unknown="ignore"``).
    starts : int64[m + 1]
        Output column where column ``j``'s indicators begin; ``starts[m]`` is the width.
    dropped : int64[m]
        The dropped category of column ``j`` (``OneHotEncoder.drop_idx_``), ``-1`` for none.

    Returns
    -------
    float64[n, starts[m]]

    Example: codes ``[[1, 0]]``, starts ``[0, 3, 5]``, dropped ``[-1, -1]`` ->
    ``[[0, 1, 0, 1, 0]]``.
    """
    n, m = codes.shape
    out = np.zeros((n, starts[m]), dtype=np.float64)
    for i in range(n):
        for j in range(m):
            c = int(codes[i, j])
            if c < 0:
                continue
            d = dropped[j]
            if d >= 0:
                if c == d:
                    continue
                if c > d:
                    c -= 1
            out[i, starts[j] + c] = 1.0
    return out


@kernel
def ordinal(codes, missing_code, unknown_value, missing_value):
    """``OrdinalEncoder`` output from category codes.

    codes : float64[n, m] (``-1`` unknown); missing_code : int64[m], the code of the
    missing-value category (``-1`` for none), which becomes ``missing_value``; an
    unknown code becomes ``unknown_value``; any other code is itself.
    """
    out = np.empty_like(codes)
    for i in range(codes.shape[0]):
        for j in range(codes.shape[1]):
            c = codes[i, j]
            if c < 0.0:
                out[i, j] = unknown_value
            elif int(c) == missing_code[j]:
                out[i, j] = missing_value
            else:
                out[i, j] = c
    return out


@kernel
def polynomial(X, powers):
    """Products of powers: ``out[i, k] = prod_j X[i, j] ** powers[k, j]``.

    X : float64[n, m]; powers : int64[n_out, m] (``PolynomialFeatures.powers_``).
    Each power is applied as repeated multiplication in column order, the order in
    which scikit-learn builds its products, so the results match bit for bit.
    """
    n, m = X.shape
    n_out = powers.shape[0]
    out = np.empty((n, n_out), dtype=np.float64)
    for i in range(n):
        for k in range(n_out):
            acc = 1.0
            for j in range(m):
                for _ in range(powers[k, j]):
                    acc *= X[i, j]
            out[i, k] = acc
    return out
