"""BM25 scores over a CSR matrix of term counts (documents x terms), in one parallel pass.

Owns: the Okapi BM25 formula and the idf it uses. Knows nothing of text: the
caller tokenizes (``conduit_kernels.tfidf`` gives the counts) and keeps the
vocabulary; this module sees ``indptr``/``indices``/``counts`` arrays only.

.. math::

    \\mathrm{score}(D, Q) = \\sum_{t \\in Q} q_t \\, \\mathrm{idf}_t
        \\frac{f_{t,D} (k_1 + 1)}{f_{t,D} + k_1 (1 - b + b |D| / \\mathrm{avgdl})},
    \\qquad \\mathrm{idf}_t = \\ln\\left(1 + \\frac{N - n_t + 0.5}{n_t + 0.5}\\right)

with ``q_t`` the term's count in the query, ``n_t`` its document frequency and
``|D|`` the document's token count. The ``1 +`` inside the log (Lucene's form)
keeps idf positive even for a term in every document.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import kernel

__all__ = ["bm25_idf", "bm25_scores"]


def bm25_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """``float64[v]``: Lucene's BM25 idf for document frequencies ``df`` (int[v]) of ``n_docs``."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


@kernel(parallel=True)
def _scores(indptr, indices, counts, doc_len, weights, k1, b, avgdl):
    n = indptr.shape[0] - 1
    out = np.zeros(n, dtype=np.float64)
    for d in prange(n):
        norm = k1 * (1.0 - b + b * doc_len[d] / avgdl)
        s = 0.0
        for i in range(indptr[d], indptr[d + 1]):
            w = weights[indices[i]]
            if w != 0.0:
                tf = counts[i]
                s += w * tf * (k1 + 1.0) / (tf + norm)
        out[d] = s
    return out


def bm25_scores(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray, doc_len: np.ndarray,
                weights: np.ndarray, k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """BM25 score of every document for one query.

    Parameters
    ----------
    indptr : int64[n + 1]; indices : int32[nnz] (term columns); counts : float64[nnz]
        the documents' term counts as CSR rows
    doc_len : float64[n], each document's token count
    weights : float64[v], ``q_t * idf_t`` for the query's terms and 0 elsewhere
    k1 : float >= 0, term-frequency saturation; b : float in [0, 1], length normalisation

    Returns
    -------
    float64[n], 0 for a document sharing no term with the query.
    """
    if not k1 >= 0 or not 0 <= b <= 1:
        raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    counts = np.ascontiguousarray(counts, dtype=np.float64)
    doc_len = np.ascontiguousarray(doc_len, dtype=np.float64)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    n = indptr.shape[0] - 1
    if doc_len.shape != (n,) or counts.shape != indices.shape or indptr[-1] != indices.shape[0]:
        raise ValueError("indptr, indices, counts and doc_len do not describe one CSR matrix")
    if indices.size and (indices.min() < 0 or indices.max() >= weights.shape[0]):
        raise ValueError("a term column lies outside the weights vector")
    avgdl = float(doc_len.mean()) if n else 1.0
    return _scores(indptr, indices, counts, doc_len, weights, float(k1), float(b), avgdl or 1.0)
