"""BM25: the kernel against a pure-Python BM25, and BM25Index updated on add/delete."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conduit.vector import BM25Index, VectorInputError
from conduit_kernels.bm25 import bm25_idf, bm25_scores

DOCS = ["the cat sat on the mat", "the dog chased the cat", "cats and dogs",
        "a bird sang", "the the the cat cat", "zebra"]


def tokens(text):
    return [w for w in text.lower().split() if len(w) >= 2]


def python_bm25(docs, query, k1=1.2, b=0.75):
    toks = [tokens(d) for d in docs]
    n = len(docs)
    avgdl = sum(map(len, toks)) / n
    out = []
    for t in toks:
        s = 0.0
        for q in tokens(query):
            df = sum(q in d for d in toks)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            f = t.count(q)
            if not f:
                continue
            s += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(t) / avgdl))
        out.append(s)
    return out


@pytest.mark.parametrize("query", ["cat", "the cat", "dogs dog", "zebra bird the", "unknown", "cat cat"])
@pytest.mark.parametrize("k1, b", [(1.2, 0.75), (2.0, 0.0), (0.0, 1.0)])
def test_index_scores_equal_python_bm25(query, k1, b):
    index = BM25Index(k1=k1, b=b)
    index.add(list(range(len(DOCS))), DOCS)
    np.testing.assert_allclose(index.scores(query), python_bm25(DOCS, query, k1, b), atol=1e-12)


def test_kernel_directly():
    indptr = np.array([0, 2, 3, 3])
    indices = np.array([0, 1, 1], dtype=np.int32)
    counts = np.array([2.0, 1.0, 3.0])
    doc_len = np.array([3.0, 3.0, 0.0])
    idf = bm25_idf(np.array([1, 2]), 3)
    scores = bm25_scores(indptr, indices, counts, doc_len, np.array([0.0, idf[1]]), 1.2, 0.75)
    norm = 1.2 * (1 - 0.75 + 0.75 * 3 / 2)  # avgdl = 2
    want = [idf[1] * 1 * 2.2 / (1 + norm), idf[1] * 3 * 2.2 / (3 + norm), 0.0]
    np.testing.assert_allclose(scores, want)
    with pytest.raises(ValueError, match="k1"):
        bm25_scores(indptr, indices, counts, doc_len, np.zeros(2), -1.0, 0.5)
    with pytest.raises(ValueError, match="outside"):
        bm25_scores(indptr, indices, counts, doc_len, np.zeros(1))
    with pytest.raises(ValueError, match="one CSR"):
        bm25_scores(indptr, indices, counts, doc_len[:2], np.zeros(2))


def test_incremental_index_equals_a_fresh_one():
    grown = BM25Index()
    grown.add([0, 1], DOCS[:2])
    grown.add([2, 3, 4, 5], DOCS[2:])
    grown.add([9], ["temporary cat text"])
    assert grown.delete([9, "unknown"]) == 1
    grown.add([1], ["the dog chased the cat"])  # replace: same text, new position
    fresh = BM25Index()
    fresh.add([0, 2, 3, 4, 5, 1], [DOCS[0], *DOCS[2:], DOCS[1]])
    for q in ["cat", "dog the", "zebra", "temporary"]:
        np.testing.assert_allclose(grown.scores(q), fresh.scores(q), atol=1e-12)
        assert grown.search(q, 3) == fresh.search(q, 3)


def test_search_ranks_filters_and_ties():
    index = BM25Index()
    index.add(list("abcdef"), DOCS, [{"n": i} for i in range(6)])
    hits = index.search("cat", k=10)
    assert [h[0] for h in hits] == ["e", "b", "a"]  # "cats" is another term; b is shorter than a
    assert all(h[1] > 0 for h in hits) and hits[0][2] == {"n": 4}
    assert [h[0] for h in index.search("cat", k=10, filter={"n": {"$lt": 2}})] == ["b", "a"]
    assert index.search("nothing matches", k=3) == []
    assert BM25Index().search("cat") == []
    index.add(["g", "h"], ["same words", "same words"])
    assert [h[0] for h in index.search("same", k=2)] == ["g", "h"]
    index.add(["empty"], ["!!"])  # no token at all: an empty row
    assert len(index) == 9 and "empty" in index


@pytest.mark.parametrize("call, field", [
    (lambda i: i.search("x", k=0), "k"), (lambda i: i.search(3), "query"),
    (lambda i: i.search("x", filter={"$bad": 1}), "filter"),
    (lambda i: i.add(["a", "a"], ["x", "y"]), "ids"), (lambda i: i.add(["a"], ["x", "y"]), "ids")])
def test_bad_input(call, field):
    index = BM25Index()
    index.add(["z"], ["zebra"])
    with pytest.raises(VectorInputError) as info:
        call(index)
    assert info.value.field == field
    assert len(index) == 1
    with pytest.raises(VectorInputError, match="b must"):
        BM25Index(b=2)


def test_small_batches_count_terms_like_the_kernels(monkeypatch):
    from conduit.vector import lexical

    texts = ["Été à Paris: naïve café, ÉCOLE élève", "x1 y2 snake_case __init__ 3.14", "", "a b",
             "emoji 😀😀 word😀word tab\tnew", "x\u0301y e\u0301te\u0301 ＡＢＣ ½ ²³", "The the THE"]

    def as_dicts(result):
        terms, (counts, cols, indptr) = result
        return [{terms[c]: n for c, n in zip(cols[a:b], counts[a:b])} for a, b in zip(indptr, indptr[1:])]

    small = as_dicts(lexical.term_counts(texts))
    monkeypatch.setattr(lexical, "KERNEL_MIN_CHARS", 0)
    assert as_dicts(lexical.term_counts(texts)) == small
    assert small[3] == {} and small[6] == {"the": 3}


def test_postings_kernel_equals_the_row_kernel():
    from conduit_kernels.bm25 import bm25_scores_postings, transpose_csr

    rng = np.random.default_rng(3)
    n, v = 60, 25
    dense = rng.poisson(0.4, size=(n, v)).astype(float)
    dense[5] = 0  # an empty document
    indptr = np.concatenate([[0], np.cumsum((dense > 0).sum(1))])
    indices = np.nonzero(dense)[1].astype(np.int32)
    counts = dense[dense > 0]
    doc_len = dense.sum(1)
    col_ptr, rows, values = transpose_csr(indptr, indices, counts, v)
    np.testing.assert_array_equal(np.diff(col_ptr), (dense > 0).sum(0))
    terms = np.array([3, 7, 24], dtype=np.int32)
    weights = bm25_idf((dense[:, terms] > 0).sum(0), n) * np.array([1.0, 2.0, 1.0])
    dense_weights = np.zeros(v)
    dense_weights[terms] = weights
    for k1, b in [(1.2, 0.75), (0.0, 0.0), (2.0, 1.0)]:
        np.testing.assert_allclose(
            bm25_scores_postings(col_ptr, rows, values, doc_len, terms, weights, k1, b),
            bm25_scores(indptr, indices, counts, doc_len, dense_weights, k1, b), atol=1e-12)
    with pytest.raises(ValueError, match="outside"):
        bm25_scores_postings(col_ptr, rows, values, doc_len, np.array([v]), np.ones(1))
