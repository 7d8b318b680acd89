"""Support vector machine inference: a kernel expansion over the support vectors.

Owns the closed-form decision function of ``SVC`` / ``NuSVC`` and ``SVR`` / ``NuSVR``:

.. math:: f_c(x) = \\sum_j \\alpha_{cj} K(s_j, x) + b_c

with ``K`` one of :class:`SvmKernel` (scikit-learn's ``linear``, ``poly``, ``rbf``,
``sigmoid``: ``x.s``, ``(gamma x.s + coef0)^degree``, ``exp(-gamma |x - s|^2)``,
``tanh(gamma x.s + coef0)``). Like the other families, a model is arrays
(support vectors, dual coefficients, intercepts) plus an optional affine
preprocessing chain; the output link / label rule come from :mod:`conduit_kernels._links`
(a multiclass SVC has one output per class pair and the ``OVO_VOTES`` rule).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import prange

from ._jit import inline, serial_and_parallel
from ._links import finish_row, label_of
from .preprocessing import apply_stages

__all__ = ["SvmKernel", "svm_labels", "svm_labels_parallel", "svm_scores", "svm_scores_parallel"]


class SvmKernel(IntEnum):
    """The kernel function of a compiled SVM, as the SVM kernels branch on it (an ``IntEnum`` code)."""

    LINEAR = 0
    POLY = 1
    RBF = 2
    SIGMOID = 3


@inline
def _raw(X, sv, dual, intercept, params, pre):
    """Decision values ``float64[n, n_out]``; ``params = [kind, gamma, coef0, degree]``."""
    n = X.shape[0]
    n_out = dual.shape[0]
    kind = int(params[0])
    gamma, coef0, degree = params[1], params[2], params[3]
    raw = np.empty((n, n_out), dtype=np.float64)
    for i in prange(n):
        x = np.empty(X.shape[1])
        apply_stages(X[i], pre, x)
        for c in range(n_out):
            raw[i, c] = intercept[c]
        for j in range(sv.shape[0]):
            if kind == 2:
                d = 0.0
                for f in range(x.shape[0]):
                    t = x[f] - sv[j, f]
                    d += t * t
                k = np.exp(-gamma * d)
            else:
                dot = 0.0
                for f in range(x.shape[0]):
                    dot += x[f] * sv[j, f]
                if kind == 0:
                    k = dot
                elif kind == 1:
                    k = (gamma * dot + coef0) ** degree
                else:
                    k = np.tanh(gamma * dot + coef0)
            for c in range(n_out):
                raw[i, c] += dual[c, j] * k
    return raw


def _svm_scores(X, sv, dual, intercept, params, pre, link):
    """Decision values after an output link.

    Parameters
    ----------
    X : float64[n, n_features], C-contiguous
    sv : float64[n_sv, n_features]; dual : float64[n_out, n_sv]; intercept : float64[n_out]
    params : float64[4] -- :class:`SvmKernel` code, gamma, coef0, degree
    pre : float64[n_stages, AFFINE_ROWS, n_features]
    link : int -- a :class:`conduit_kernels.Link` code

    Returns
    -------
    float64[n, n_out] (2 columns for ``Link.LOGISTIC``)
    """
    raw = _raw(X, sv, dual, intercept, params, pre)
    width = 2 if link == 1 else raw.shape[1]
    out = np.empty((X.shape[0], width), dtype=np.float64)
    for i in prange(X.shape[0]):
        finish_row(raw[i], link, out[i])
    return out


def _svm_labels(X, sv, dual, intercept, params, pre, rule):
    """Class indices by :class:`conduit_kernels.LabelRule` ``rule``."""
    raw = _raw(X, sv, dual, intercept, params, pre)
    out = np.empty(X.shape[0], dtype=np.int64)
    for i in prange(X.shape[0]):
        out[i] = label_of(raw[i], rule)
    return out


svm_scores, svm_scores_parallel = serial_and_parallel(_svm_scores)
svm_labels, svm_labels_parallel = serial_and_parallel(_svm_labels)
