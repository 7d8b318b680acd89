"""BM25 scores over a CSR matrix of term counts (documents x terms), in one parallel pass.

Owns: the Okapi BM25 formula and the idf it uses, in two loops over the same
matrix: by documents (``bm25_scores``, one pass over every row, parallel) and by
query terms (``bm25_scores_postings``, over the transposed matrix, touching only
the postings of the query's terms: what a search uses). Knows nothing of text: the
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

from ._jit import kernel, serial_and_parallel

__all__ = ["bm25_idf", "bm25_scores", "bm25_scores_postings", "transpose_csr"]


def bm25_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """``float64[v]``: Lucene's BM25 idf for document frequencies ``df`` (int[v]) of ``n_docs``."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def _scores_impl(indptr, indices, counts, doc_len, weights, k1, b, avgdl):
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


_scores_serial, _scores = serial_and_parallel(_scores_impl)
#: below this many stored counts the serial twin runs (no thread-pool wake-up for a small index)
PARALLEL_MIN_COUNTS = 1 << 15


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
    scores = _scores_serial if indices.shape[0] < PARALLEL_MIN_COUNTS else _scores
    return scores(indptr, indices, counts, doc_len, weights, float(k1), float(b), avgdl or 1.0)


@kernel
def _transpose(indptr, indices, counts, n_cols):
    n_rows = indptr.shape[0] - 1
    col_ptr = np.zeros(n_cols + 1, dtype=np.int64)
    for i in range(indices.shape[0]):
        col_ptr[indices[i] + 1] += 1
    for c in range(n_cols):
        col_ptr[c + 1] += col_ptr[c]
    fill = col_ptr[:-1].copy()
    rows = np.empty(indices.shape[0], dtype=np.int32)
    values = np.empty(indices.shape[0], dtype=np.float64)
    for r in range(n_rows):
        for i in range(indptr[r], indptr[r + 1]):
            p = fill[indices[i]]
            rows[p] = r
            values[p] = counts[i]
            fill[indices[i]] = p + 1
    return col_ptr, rows, values


def transpose_csr(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray, n_cols: int):
    """The CSR matrix of the transpose (a counting sort, O(nnz)): ``(col_ptr int64[v + 1],
    rows int32[nnz], counts float64[nnz])``, rows ascending within each column."""
    return _transpose(np.ascontiguousarray(indptr, dtype=np.int64),
                      np.ascontiguousarray(indices, dtype=np.int32),
                      np.ascontiguousarray(counts, dtype=np.float64), int(n_cols))


@kernel
def _scores_postings(col_ptr, rows, counts, doc_len, terms, weights, k1, b, avgdl):
    out = np.zeros(doc_len.shape[0], dtype=np.float64)
    for q in range(terms.shape[0]):
        w = weights[q]
        for p in range(col_ptr[terms[q]], col_ptr[terms[q] + 1]):
            d = rows[p]
            tf = counts[p]
            out[d] += w * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * doc_len[d] / avgdl))
    return out


def bm25_scores_postings(col_ptr: np.ndarray, rows: np.ndarray, counts: np.ndarray, doc_len: np.ndarray,
                         terms: np.ndarray, weights: np.ndarray, k1: float = 1.5,
                         b: float = 0.75) -> np.ndarray:
    """:func:`bm25_scores` from the transposed matrix (:func:`transpose_csr`): the same
    ``float64[n]``, reading only the postings of ``terms`` (int32[m], distinct columns)
    weighted by ``weights`` (float64[m], ``q_t * idf_t``). Serial: one query's postings
    are too few to pay for starting threads."""
    if not k1 >= 0 or not 0 <= b <= 1:
        raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
    terms = np.ascontiguousarray(terms, dtype=np.int32)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if terms.shape != weights.shape:
        raise ValueError("terms and weights differ in length")
    if terms.size and (terms.min() < 0 or terms.max() >= col_ptr.shape[0] - 1):
        raise ValueError("a query term lies outside the matrix")
    doc_len = np.ascontiguousarray(doc_len, dtype=np.float64)
    avgdl = float(doc_len.mean()) if doc_len.size else 1.0
    return _scores_postings(col_ptr, rows, counts, doc_len, terms, weights, float(k1), float(b),
                            avgdl or 1.0)
