"""Oracle tests for conduit_kernels.topk / distances against a float64 numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from conduit_kernels.distances import (
    Metric,
    higher_is_better,
    inverse_norms,
    quantize_int8,
    resolve_metric,
)
from conduit_kernels.topk import MISSING_ID, topk, topk_batch

METRICS = ["cosine", "dot", "euclidean", "manhattan"]


def reference(data, query, metric):
    """Natural scores in float64 and the expected order: best first, ties by lower id."""
    x = np.asarray(data, np.float64)
    q = np.asarray(query, np.float64)
    if metric == "cosine":
        nx = np.linalg.norm(x, axis=1)
        nq = np.linalg.norm(q)
        denom = nx * nq
        s = np.divide(x @ q, denom, out=np.zeros(len(x)), where=denom > 0)
    elif metric == "dot":
        s = x @ q
    elif metric == "euclidean":
        s = np.sqrt(((x - q) ** 2).sum(1))
    else:
        s = np.abs(x - q).sum(1)
    key = -s if higher_is_better(metric) else s
    order = np.lexsort((np.arange(len(s)), key))
    return order, s


def check(ids, scores, data, query, metric, k, allowed=None, exact=False):
    """Same ranking as the reference; ids must match exactly where scores are exact
    (``exact``), else up to float32 rounding among near-equal scores."""
    order, s = reference(data, query, metric)
    if allowed is not None:
        order = np.array([i for i in order if allowed[i]], dtype=np.int64)
    want = order[:k]
    got = ids[: len(want)]
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        assert len(set(got.tolist())) == len(want)
        if allowed is not None:
            assert allowed[got].all()
        np.testing.assert_allclose(s[got], s[want], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(scores[: len(want)], s[want], rtol=1e-4, atol=1e-4)
    assert (ids[len(want):] == MISSING_ID).all()
    sentinel = -np.inf if higher_is_better(metric) else np.inf
    assert (scores[len(want):] == sentinel).all()


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n,dim,k", [(300, 16, 10), (1000, 1, 5), (50, 8, 50), (40, 8, 1), (7, 3, 12)])
def test_single_matches_reference(rng, metric, n, dim, k):
    data = rng.standard_normal((n, dim)).astype(np.float32)
    query = rng.standard_normal(dim).astype(np.float32)
    ids, scores = topk(data, query, k, metric)
    assert ids.dtype == np.int64 and scores.dtype == np.float32 and ids.shape == (k,)
    check(ids, scores, data, query, metric, k)


@pytest.mark.parametrize("metric", METRICS)
def test_parallel_path_matches_reference(rng, metric):
    data = rng.standard_normal((6000, 48)).astype(np.float32)  # above the parallel threshold
    query = rng.standard_normal(48).astype(np.float32)
    ids, scores = topk(data, query, 10, metric)
    check(ids, scores, data, query, metric, 10)


@pytest.mark.parametrize("metric", METRICS)
def test_ties_broken_by_lower_id(metric):
    # 25 distinct rows repeated: equal rows score bit-identically, so ties are real ties
    rng = np.random.default_rng(3)
    base = rng.standard_normal((25, 4)).astype(np.float32)
    data = base[rng.integers(0, 25, size=400)]
    query = np.array([1, 0, -1, 2], np.float32)
    for k in (1, 10, 400):
        ids, scores = topk(data, query, k, metric)
        check(ids, scores, data, query, metric, k, exact=True)
        bids, bscores = topk_batch(data, np.stack([query, query]), k, metric)
        np.testing.assert_array_equal(bids[0], ids)
        np.testing.assert_array_equal(bids[1], ids)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n", [500, 9000])  # fused path and BLAS-block path
def test_batch_matches_reference(rng, metric, n):
    data = rng.standard_normal((n, 32)).astype(np.float32)
    queries = rng.standard_normal((40, 32)).astype(np.float32)
    ids, scores = topk_batch(data, queries, 7, metric)
    assert ids.shape == (40, 7) and scores.shape == (40, 7)
    for i in range(40):
        check(ids[i], scores[i], data, queries[i], metric, 7)


@pytest.mark.parametrize("metric", METRICS)
def test_empty_data_gives_sentinels(metric):
    data = np.zeros((0, 5), np.float32)
    ids, scores = topk(data, np.ones(5, np.float32), 3, metric)
    check(ids, scores, data, np.ones(5), metric, 3)
    bids, _ = topk_batch(data, np.ones((2, 5), np.float32), 3, metric)
    assert (bids == MISSING_ID).all()


def test_zero_vectors_cosine():
    data = np.array([[0, 0], [1, 0], [0, 0], [-1, 0]], np.float32)
    ids, scores = topk(data, np.array([1, 0], np.float32), 4, "cosine")
    assert ids.tolist() == [1, 0, 2, 3]
    np.testing.assert_allclose(scores, [1, 0, 0, -1])
    ids, scores = topk(data, np.zeros(2, np.float32), 2, "cosine")  # zero query scores 0
    assert ids.tolist() == [0, 1] and scores.tolist() == [0, 0]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n", [300, 9000])
def test_mask_and_rows_filter_inside_scan(rng, metric, n):
    data = rng.standard_normal((n, 24)).astype(np.float32)
    query = rng.standard_normal(24).astype(np.float32)
    mask = rng.random(n) < 0.1
    rows = np.flatnonzero(mask)
    for kwargs in ({"mask": mask}, {"rows": rows}):
        ids, scores = topk(data, query, 10, metric, **kwargs)
        check(ids, scores, data, query, metric, 10, allowed=mask)
        bids, bscores = topk_batch(data, np.stack([query] * 3), 10, metric, **kwargs)
        check(bids[2], bscores[2], data, query, metric, 10, allowed=mask)


def test_filter_excluding_everything(rng):
    data = rng.standard_normal((20, 4)).astype(np.float32)
    q = data[0]
    for kwargs in ({"mask": np.zeros(20, bool)}, {"rows": np.zeros(0, np.int64)}):
        ids, _ = topk(data, q, 3, "dot", **kwargs)
        assert (ids == MISSING_ID).all()


def test_precomputed_inverse_norms(rng):
    data = rng.standard_normal((100, 8)).astype(np.float32)
    inv = inverse_norms(data)
    np.testing.assert_allclose(inv, 1 / np.linalg.norm(data, axis=1), rtol=1e-5)
    a = topk(data, data[3], 5, "cosine", inv_norms=inv)
    b = topk(data, data[3], 5, "cosine")
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("metric", METRICS)
def test_int8_recall(rng, metric):
    data = rng.standard_normal((3000, 64)).astype(np.float32)
    queries = rng.standard_normal((20, 64)).astype(np.float32)
    codes = quantize_int8(data)
    assert codes.codes.dtype == np.int8 and codes.codes.nbytes * 4 == data.nbytes
    ids, scores = topk_batch(codes, queries, 10, metric)
    single = [topk(codes, q, 10, metric)[0] for q in queries]
    hits = 0
    for i, q in enumerate(queries):
        want = set(reference(data, q, metric)[0][:10])
        hits += len(want & set(ids[i].tolist()))
        assert len(set(single[i].tolist()) & set(ids[i].tolist())) >= 9
    assert hits / 200 >= 0.9


def test_int8_exact_on_representable_data():
    data = np.arange(-127, 128, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    codes = quantize_int8(data)
    np.testing.assert_allclose(codes.dequantize(), data, atol=1e-5)
    for metric in ["dot", "euclidean", "manhattan"]:  # (cosine: all rows tie at +-1)
        ids, _ = topk(codes, np.array([5, 5, 5], np.float32), 4, metric)
        want = reference(data, np.array([5, 5, 5]), metric)[0][:4]
        np.testing.assert_array_equal(ids, want)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda d: topk(d, np.ones(4), 0, "dot"), "k must be a positive integer"),
        (lambda d: topk(d, np.ones(4), 2.5, "dot"), "k must be a positive integer"),
        (lambda d: topk(d, np.ones(3), 2, "dot"), r"query must have shape \(4,\)"),
        (lambda d: topk(d, np.ones(4), 2, "hamming"), "unknown metric 'hamming'"),
        (lambda d: topk(d, np.ones(4), 2, mask=np.ones(3, bool)), r"mask must have shape"),
        (lambda d: topk(d, np.ones(4), 2, rows=[0, 10]), r"rows must lie in"),
        (lambda d: topk_batch(d, np.ones(4), 2), r"queries must have shape"),
        (lambda d: topk(d[0], np.ones(4), 2), "data must be 2-D"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    data = np.ones((10, 4), np.float32)
    with pytest.raises(ValueError, match=message):
        call(data)


def test_metric_registry():
    assert resolve_metric("L2") is Metric.EUCLIDEAN
    assert resolve_metric(Metric.DOT) is Metric.DOT
    assert higher_is_better("ip") and not higher_is_better("l1")
