"""Ensemble aggregation kernels: voting and averaging over members' outputs.

Owns the combination step of an ensemble, given its members' outputs stacked on a
leading member axis. Each kernel follows the order of operations of the
scikit-learn code it mirrors, so outputs equal ``VotingClassifier`` /
``VotingRegressor`` for the same members and weights:

- soft voting: ``np.average(probas, axis=0, weights=w)`` = ``sum_m(p_m * w_m) / sum(w)``
  summed in member order (``mean`` when unweighted: ``sum_m p_m / M``);
- hard voting: ``argmax(bincount(labels, weights=w))``, first class wins ties;
- regression: weighted mean over members, or the median.

Members' own predictions come from the model kernels; this module never sees a model.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

__all__ = ["argmax_rows", "hard_vote", "mean_vote", "median_vote", "soft_vote"]


@kernel
def soft_vote(probas, weights, weighted):
    """Average class probabilities over members.

    Parameters
    ----------
    probas : float64[M, n, K]
    weights : float64[M]
        Ignored unless ``weighted``.
    weighted : bool

    Returns
    -------
    float64[n, K]

    .. math:: \\bar p_{ik} = \\sum_m w_m p_{mik} / \\sum_m w_m
    """
    m_count, n, k = probas.shape
    out = np.zeros((n, k), dtype=np.float64)
    total = 0.0
    for m in range(m_count):
        total += weights[m]
    for i in range(n):
        for c in range(k):
            acc = 0.0
            for m in range(m_count):
                if weighted:
                    acc += probas[m, i, c] * weights[m]
                else:
                    acc += probas[m, i, c]
            out[i, c] = acc / total if weighted else acc / m_count
    return out


@kernel
def hard_vote(labels, weights, n_classes):
    """Majority (weighted) vote of class indices.

    Parameters
    ----------
    labels : int64[M, n]
        Each member's class index per row, in ``0 .. n_classes - 1``.
    weights : float64[M]
        Use ones for an unweighted vote.
    n_classes : int

    Returns
    -------
    int64[n]
        The class with the largest total weight; the lowest index wins ties.
    """
    m_count, n = labels.shape
    out = np.empty(n, dtype=np.int64)
    votes = np.empty(n_classes, dtype=np.float64)
    for i in range(n):
        votes[:] = 0.0
        for m in range(m_count):
            votes[labels[m, i]] += weights[m]
        best = 0
        for c in range(1, n_classes):
            if votes[c] > votes[best]:
                best = c
        out[i] = best
    return out


@kernel
def mean_vote(predictions, weights, weighted):
    """Weighted mean of members' regression outputs.

    Parameters
    ----------
    predictions : float64[M, n]
    weights : float64[M]
    weighted : bool

    Returns
    -------
    float64[n]
    """
    m_count, n = predictions.shape
    out = np.empty(n, dtype=np.float64)
    total = 0.0
    for m in range(m_count):
        total += weights[m]
    for i in range(n):
        acc = 0.0
        for m in range(m_count):
            acc += predictions[m, i] * weights[m] if weighted else predictions[m, i]
        out[i] = acc / total if weighted else acc / m_count
    return out


@kernel
def median_vote(predictions):
    """Median of members' regression outputs per row: ``float64[M, n] -> float64[n]``."""
    m_count, n = predictions.shape
    out = np.empty(n, dtype=np.float64)
    column = np.empty(m_count, dtype=np.float64)
    for i in range(n):
        for m in range(m_count):
            column[m] = predictions[m, i]
        out[i] = np.median(column)
    return out


@kernel
def argmax_rows(scores):
    """First index of each row's maximum: ``float64[n, K] -> int64[n]``."""
    n, k = scores.shape
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        best = 0
        for c in range(1, k):
            if scores[i, c] > scores[i, best]:
                best = c
        out[i] = best
    return out
