"""Output links shared by the inference kernels: raw scores -> probabilities or labels.

Owns the small per-row helpers that turn a model's raw scores into what its
``predict_proba`` / ``predict`` return, written to reproduce scikit-learn's own
formulas operation by operation (``1 / (1 + exp(-x))``, max-shifted softmax,
``exp(a - logsumexp(a))``). Knows nothing about any model family.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from ._jit import inline

__all__ = ["LabelRule", "Link", "link_width"]


class Link(IntEnum):
    """How raw scores (``n_raw`` per row) become the kernel's output row.

    ``IDENTITY``: output the raw scores (decision function, regression).
    ``LOGISTIC``: one raw score -> ``[1 - p, p]`` with ``p = 1 / (1 + exp(-raw))``.
    ``SOFTMAX``: max-shifted softmax over the raw scores (scikit-learn's ``softmax``).
    ``LOG_NORMALIZE``: ``exp(raw - logsumexp(raw))`` (naive Bayes ``predict_proba``).
    """

    IDENTITY = 0
    LOGISTIC = 1
    SOFTMAX = 2
    LOG_NORMALIZE = 3


class LabelRule(IntEnum):
    """How raw scores become a class index.

    ``ARGMAX``: first index of the maximum. ``POSITIVE``: ``raw[0] > 0`` (linear models,
    HistGradientBoosting). ``NON_NEGATIVE``: ``raw[0] >= 0`` (GradientBoosting).
    ``OVO_VOTES``: ``raw`` holds the ``k (k - 1) / 2`` one-vs-one decisions in libsvm's
    pair order ``(0, 1), (0, 2), ..., (k - 2, k - 1)``; a positive one votes for the first
    class of its pair; the first class with the most votes wins (libsvm's ``svm_predict``).
    """

    ARGMAX = 0
    POSITIVE = 1
    NON_NEGATIVE = 2
    OVO_VOTES = 3


def link_width(link: int, n_raw: int) -> int:
    """Number of output columns a link produces from ``n_raw`` raw scores."""
    return 2 if link == Link.LOGISTIC else n_raw


@inline
def finish_row(raw, link, out):
    """Write ``link(raw)`` into ``out`` (float64 1-D views)."""
    k = raw.shape[0]
    if link == 1:  # LOGISTIC
        p = 1.0 / (1.0 + np.exp(-raw[0]))
        out[1] = p
        out[0] = 1.0 - p
    elif link == 2 or link == 3:  # SOFTMAX, LOG_NORMALIZE
        top = raw[0]
        for c in range(1, k):
            if raw[c] > top:
                top = raw[c]
        if link == 2:
            total = 0.0
            for c in range(k):
                e = np.exp(raw[c] - top)
                out[c] = e
                total += e
            for c in range(k):
                out[c] = out[c] / total
        else:
            if not np.isfinite(top):
                top = 0.0
            total = 0.0
            for c in range(k):
                total += np.exp(raw[c] - top)
            norm = np.log(total) + top
            for c in range(k):
                out[c] = np.exp(raw[c] - norm)
    else:
        for c in range(k):
            out[c] = raw[c]


@inline
def label_of(raw, rule):
    """Class index from raw scores according to :class:`LabelRule` ``rule``."""
    if rule == 1:
        return 1 if raw[0] > 0.0 else 0
    if rule == 2:
        return 1 if raw[0] >= 0.0 else 0
    if rule == 3:
        k = int((1.0 + np.sqrt(1.0 + 8.0 * raw.shape[0])) / 2.0 + 0.5)
        votes = np.zeros(k, dtype=np.int64)
        pair = 0
        for a in range(k):
            for b in range(a + 1, k):
                if raw[pair] > 0.0:
                    votes[a] += 1
                else:
                    votes[b] += 1
                pair += 1
        winner = 0
        for c in range(1, k):
            if votes[c] > votes[winner]:
                winner = c
        return winner
    best = 0
    top = raw[0]
    for c in range(1, raw.shape[0]):
        if raw[c] > top:  # strict: the first maximum wins, like np.argmax
            top = raw[c]
            best = c
    return best
