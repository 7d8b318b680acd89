"""Gaussian naive Bayes inference: joint log-likelihood per class, then a link.

Owns the GaussianNB kernels. A model is ``theta, var: float64[n_classes, n_features]``,
``log_prior: float64[n_classes]`` and ``log_norm: float64[n_classes]`` with
``log_norm[c] = -0.5 * sum(log(2 * pi * var[c]))`` precomputed, so that

.. math:: jll_c = \\log \\pi_c + (n_c - \\tfrac12 \\sum_j (x_j - \\theta_{cj})^2 / \\sigma^2_{cj})

is evaluated in scikit-learn's order of operations.
"""

from __future__ import annotations

import numpy as np

from ._jit import inline, kernel
from ._links import finish_row, label_of
from .preprocessing import apply_stages

__all__ = ["gaussian_nb_labels", "gaussian_nb_scores"]


@inline
def _jll_row(x, theta, var, log_prior, log_norm, pre, buf, raw):
    apply_stages(x, pre, buf)
    for c in range(theta.shape[0]):
        acc = 0.0
        for j in range(theta.shape[1]):
            d = buf[j] - theta[c, j]
            acc += (d * d) / var[c, j]
        raw[c] = log_prior[c] + (log_norm[c] - 0.5 * acc)


@kernel
def gaussian_nb_scores(X, theta, var, log_prior, log_norm, pre, link):
    """Joint log-likelihood (``Link.IDENTITY``) or probabilities (``Link.LOG_NORMALIZE``).

    Parameters
    ----------
    X : float64[n, n_features], C-contiguous
    theta, var : float64[n_classes, n_features]
    log_prior, log_norm : float64[n_classes]
    pre : float64[n_stages, AFFINE_ROWS, n_features]
    link : int

    Returns
    -------
    float64[n, n_classes]
    """
    k = theta.shape[0]
    out = np.empty((X.shape[0], k), dtype=np.float64)
    buf = np.empty(X.shape[1], dtype=np.float64)
    raw = np.empty(k, dtype=np.float64)
    for i in range(X.shape[0]):
        _jll_row(X[i], theta, var, log_prior, log_norm, pre, buf, raw)
        finish_row(raw, link, out[i])
    return out


@kernel
def gaussian_nb_labels(X, theta, var, log_prior, log_norm, pre, rule):
    """Class indices from the joint log-likelihood (``rule``: ``LabelRule.ARGMAX``): ``int64[n]``."""
    out = np.empty(X.shape[0], dtype=np.int64)
    buf = np.empty(X.shape[1], dtype=np.float64)
    raw = np.empty(theta.shape[0], dtype=np.float64)
    for i in range(X.shape[0]):
        _jll_row(X[i], theta, var, log_prior, log_norm, pre, buf, raw)
        out[i] = label_of(raw, rule)
    return out
