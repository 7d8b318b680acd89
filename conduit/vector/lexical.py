"""BM25Index: a sparse lexical index over texts that sees every document the moment it is added.

Owns: a growable vocabulary (term -> column), the documents' term counts as CSR
rows, their token counts and the document frequencies, all updated on
:meth:`~BM25Index.add` and :meth:`~BM25Index.delete`; a term-major transpose of
the counts is rebuilt (O(nnz), a counting sort) on the first query after a write.
Scoring is :func:`conduit_kernels.bm25.bm25_scores_postings` over the query terms'
postings only, with idf taken
from the document frequencies *at query time*, so nothing is ever refit: a
document added a moment ago is scored with the same statistics as the rest.
Tokenization is :mod:`conduit_kernels.tfidf`'s (scikit-learn's ``\\w\\w+`` rule,
lowercased), so the terms are the ones a :class:`TfidfEmbedder` would see.

Metadata filters use the store's grammar (:mod:`conduit.vector.filters`).
Thread safety: one readers-writer lock, as in :class:`VectorStore`.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any, Sequence

import numpy as np

from conduit_kernels.bm25 import bm25_idf, bm25_scores_postings, transpose_csr
from conduit_kernels.tfidf import encode_documents, tfidf_fit

from ._rwlock import RWLock
from .errors import VectorInputError
from .filters import MetadataColumns, compile_filter, validate_filter

__all__ = ["BM25Index", "term_counts"]


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's token_pattern; the kernel tokenizer's rule
KERNEL_MIN_CHARS = 1 << 16


def term_counts(texts: Sequence[str], *, lowercase: bool = True) -> tuple[list[str], tuple]:
    """Per-text term counts: ``(terms, (counts float64[nnz], columns int32[nnz], indptr int64[n + 1]))``.

    ``columns`` index ``terms`` (this batch's own vocabulary); a text without a
    single token gives an empty row. Batches of at least :data:`KERNEL_MIN_CHARS`
    characters go through the TF-IDF kernels; smaller ones (a query, one new
    document) through ``re`` with the same token rule, because starting the
    kernels' thread pool costs more than tokenizing a few hundred words.
    """
    texts = list(texts)
    if sum(map(len, texts)) >= KERNEL_MIN_CHARS:
        buf, offsets = encode_documents(texts, lowercase=lowercase)
        try:
            model, (counts, columns, indptr, _) = tfidf_fit(buf, offsets, norm=None, use_idf=False)
        except ValueError:  # not one token in the whole batch
            return [], (np.zeros(0), np.zeros(0, np.int32), np.zeros(len(texts) + 1, np.int64))
        return model.terms, (counts, columns, indptr)
    vocabulary: dict[str, int] = {}
    cols: list[int] = []
    counts_list: list[int] = []
    indptr_list = [0]
    for text in texts:
        for term, n in Counter(_TOKEN.findall(text.lower() if lowercase else text)).items():
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
            counts_list.append(n)
        indptr_list.append(len(cols))
    return list(vocabulary), (np.array(counts_list, dtype=np.float64), np.array(cols, dtype=np.int32),
                              np.array(indptr_list, dtype=np.int64))


class BM25Index:
    """Okapi BM25 over texts with ids and metadata; ``k1``/``b`` as in Lucene (1.2/0.75)."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, lowercase: bool = True):
        if not (isinstance(k1, (int, float)) and k1 >= 0):
            raise VectorInputError("k1", f"k1 must be a number >= 0, got {k1!r}")
        if not (isinstance(b, (int, float)) and 0 <= b <= 1):
            raise VectorInputError("b", f"b must lie in [0, 1], got {b!r}")
        self.k1, self.b, self.lowercase = float(k1), float(b), lowercase
        self._lock = RWLock()
        self._vocabulary: dict[str, int] = {}
        self._df = np.zeros(0, dtype=np.int64)
        self._indptr = np.zeros(1, dtype=np.int64)
        self._indices = np.zeros(0, dtype=np.int32)
        self._counts = np.zeros(0, dtype=np.float64)
        self._length = np.zeros(0, dtype=np.float64)
        self._ids: list = []
        self._row: dict = {}
        self._metadata: list[dict] = []
        self._version = 0
        self._columns = MetadataColumns()
        self._postings = None  # (version, col_ptr, rows, counts): the transpose, built lazily
        self._postings_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id: Any) -> bool:
        return id in self._row

    def _columns_of(self, terms: list[str], grow: bool) -> np.ndarray:
        vocab = self._vocabulary
        if grow:
            return np.array([vocab.setdefault(t, len(vocab)) for t in terms], dtype=np.int32)
        return np.array([vocab.get(t, -1) for t in terms], dtype=np.int32)

    def add(self, ids: Sequence, texts: Sequence[str], metadata: Sequence[dict] | None = None) -> None:
        """Index texts under ``ids``; an id already indexed is replaced."""
        ids, texts = list(ids), list(texts)
        metas = list(metadata) if metadata is not None else [{} for _ in ids]
        if len(ids) != len(texts) or len(metas) != len(ids):
            raise VectorInputError("ids", f"{len(ids)} ids, {len(texts)} texts, {len(metas)} metadata")
        if len(set(ids)) != len(ids):
            raise VectorInputError("ids", "duplicate ids in one call")
        terms, (counts, columns, indptr) = term_counts(texts, lowercase=self.lowercase)
        with self._lock.write():
            self._remove([i for i in ids if i in self._row])
            cols = self._columns_of(terms, grow=True)[columns]
            if len(self._vocabulary) > self._df.shape[0]:
                self._df = np.concatenate([self._df, np.zeros(len(self._vocabulary) - self._df.shape[0],
                                                              np.int64)])
            np.add.at(self._df, cols, 1)  # one count per (document, term): rows hold unique terms
            self._indptr = np.concatenate([self._indptr, indptr[1:] + self._indptr[-1]])
            self._indices = np.concatenate([self._indices, cols])
            self._counts = np.concatenate([self._counts, counts])
            rows = np.repeat(np.arange(len(ids)), np.diff(indptr))
            self._length = np.concatenate([self._length, np.bincount(rows, weights=counts,
                                                                     minlength=len(ids))])
            for i in ids:
                self._row[i] = len(self._ids)
                self._ids.append(i)
            self._metadata.extend(metas)
            self._version += 1

    def delete(self, ids: Sequence) -> int:
        """Remove ids (unknown ones are ignored); returns how many were removed."""
        with self._lock.write():
            return self._remove([i for i in dict.fromkeys(ids) if i in self._row])

    def _remove(self, ids: list) -> int:
        if not ids:
            return 0
        keep = np.ones(len(self._ids), dtype=bool)
        keep[[self._row[i] for i in ids]] = False
        sizes = np.diff(self._indptr)
        entries = np.repeat(keep, sizes)
        np.subtract.at(self._df, self._indices[~entries], 1)
        self._indices, self._counts = self._indices[entries], self._counts[entries]
        self._indptr = np.concatenate([[0], np.cumsum(sizes[keep])]).astype(np.int64)
        self._length = self._length[keep]
        self._ids = [i for i, k in zip(self._ids, keep.tolist()) if k]
        self._metadata = [m for m, k in zip(self._metadata, keep.tolist()) if k]
        self._row = {i: r for r, i in enumerate(self._ids)}
        self._version += 1
        return len(ids)

    def scores(self, query: str) -> np.ndarray:
        """``float64[len(self)]``: the BM25 score of every indexed text for ``query``, row order."""
        with self._lock.read():
            return self._scores(query)

    def _transposed(self):
        """The term-major copy of the counts, rebuilt on the first query after a write."""
        with self._postings_lock:
            if self._postings is None or self._postings[0] != self._version:
                self._postings = (self._version, *transpose_csr(
                    self._indptr, self._indices, self._counts, len(self._vocabulary)))
            return self._postings[1:]

    def _scores(self, query: str) -> np.ndarray:
        terms, (counts, columns, _) = term_counts([query], lowercase=self.lowercase)
        cols = self._columns_of(terms, grow=False)[columns]
        known = cols >= 0
        cols, counts = cols[known], counts[known]
        weights = counts * bm25_idf(self._df[cols], len(self._ids))
        return bm25_scores_postings(*self._transposed(), self._length, cols, weights, self.k1, self.b)

    def search(self, query: str, k: int = 10, filter: dict | None = None,
               min_score: float = 0.0) -> list[tuple[Any, float, dict]]:
        """The ``k`` best ``(id, score, metadata)`` scoring above ``min_score``, best first
        (ties by insertion order); texts sharing no term with the query score 0."""
        if not isinstance(query, str):
            raise VectorInputError("query", "query must be a string")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise VectorInputError("k", f"k must be a positive integer, got {k!r}")
        if filter is not None:
            validate_filter(filter)
        with self._lock.read():
            if not self._ids:
                return []
            scores = self._scores(query)
            ok = scores > min_score
            if filter is not None:
                ok &= compile_filter(filter, self._metadata, self._version, self._columns)
            rows = np.flatnonzero(ok)
            if rows.size > k:  # keep the k best and every row tied with the k-th, then sort those
                best = scores[rows]
                rows = rows[best >= np.partition(best, rows.size - k)[rows.size - k]]
            rows = rows[np.lexsort((rows, -scores[rows]))[:k]]
            return [(self._ids[r], float(scores[r]), dict(self._metadata[r])) for r in rows.tolist()]
