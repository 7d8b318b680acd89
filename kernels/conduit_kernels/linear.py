"""Linear model inference: ``X @ coef.T + intercept`` followed by an output link.

Owns the kernels for LogisticRegression (binary and multinomial), LinearRegression,
Ridge, SGD and LinearSVC: a model is ``coef: float64[n_raw, n_features]`` and
``intercept: float64[n_raw]``, preceded by an optional affine preprocessing chain
(:mod:`conduit_kernels.preprocessing`). One call does preprocessing, the dot products
and the link, so a pipeline ``scaler -> model`` costs one kernel dispatch.

Floating-point note: scikit-learn computes the dot products with BLAS, whose
summation order is its own; results agree to a few ulps, not bit for bit.
"""

from __future__ import annotations

import numpy as np

from numba import prange

from ._jit import inline, serial_and_parallel
from ._links import finish_row, label_of
from .preprocessing import apply_stages

__all__ = [
    "PARALLEL_MIN_ROWS",
    "linear_labels",
    "linear_labels_parallel",
    "linear_scores",
    "linear_scores_parallel",
]


PARALLEL_MIN_ROWS = 2048
"""Batches at least this long use the ``parallel=True`` variants (threads cost more below)."""
BLAS_MIN_ROWS = 256
"""Batches at least this long compute the scores with one BLAS product."""


@inline
def _raw_scores(X, coef, intercept, pre):
    """``preprocess(X) @ coef.T + intercept``; inlined, so its ``prange`` loops run in
    parallel inside the ``parallel=True`` variants and serially in the others."""
    n = X.shape[0]
    n_raw = coef.shape[0]
    raw = np.empty((n, n_raw), dtype=np.float64)
    xt = X if pre.shape[0] == 0 else np.empty_like(X)
    if pre.shape[0] > 0:
        for i in prange(n):
            apply_stages(X[i], pre, xt[i])
    if n >= BLAS_MIN_ROWS:
        # Large batches: one BLAS matrix product, as scikit-learn does.
        raw[:, :] = np.dot(xt, np.ascontiguousarray(coef.T))
        for i in prange(n):
            for c in range(n_raw):
                raw[i, c] += intercept[c]
    else:
        for i in prange(n):
            for c in range(n_raw):
                acc = 0.0
                for j in range(coef.shape[1]):
                    acc += xt[i, j] * coef[c, j]
                raw[i, c] = acc + intercept[c]
    return raw


def _linear_scores(X, coef, intercept, pre, link):
    """Scores of a linear model after an output link.

    Parameters
    ----------
    X : float64[n, n_features], C-contiguous
    coef : float64[n_raw, n_features]
    intercept : float64[n_raw]
    pre : float64[n_stages, AFFINE_ROWS, n_features]
        Preprocessing chain (``n_stages`` may be 0).
    link : int
        A :class:`conduit_kernels.Link` code.

    Returns
    -------
    float64[n, width]
        ``width`` is 2 for ``Link.LOGISTIC``, else ``n_raw``.

    .. math:: s_{ic} = \\sum_j x_{ij} w_{cj} + b_c
    """
    n = X.shape[0]
    n_raw = coef.shape[0]
    width = 2 if link == 1 else n_raw
    out = np.empty((n, width), dtype=np.float64)
    raw = _raw_scores(X, coef, intercept, pre)
    for i in prange(n):
        finish_row(raw[i], link, out[i])
    return out


def _linear_labels(X, coef, intercept, pre, rule):
    """Class indices of a linear classifier: ``int64[n]`` into ``classes_``.

    ``rule`` is a :class:`conduit_kernels.LabelRule` code (binary models: ``POSITIVE``);
    the other arguments are as in :func:`_linear_scores`.
    """
    n = X.shape[0]
    out = np.empty(n, dtype=np.int64)
    raw = _raw_scores(X, coef, intercept, pre)
    for i in prange(n):
        out[i] = label_of(raw[i], rule)
    return out


linear_scores, linear_scores_parallel = serial_and_parallel(_linear_scores)
linear_labels, linear_labels_parallel = serial_and_parallel(_linear_labels)
