"""Kernels a request can reach run a serial twin on small inputs (issue 23: a parallel launch
wakes the thread pool, which on a busy machine costs far more than the work); the twins give the
same answers as the parallel variants."""

import numpy as np
import pytest

from conduit_kernels import bm25, distances


def _is_parallel(dispatcher) -> bool:
    return bool(dispatcher.targetoptions.get("parallel"))


@pytest.mark.parametrize(("serial", "parallel"), [
    (distances._inverse_norms_serial, distances._inverse_norms),
    (distances._quantize_serial, distances._quantize),
    (bm25._scores_serial, bm25._scores),
])
def test_twins_are_one_serial_one_parallel(serial, parallel):
    assert not _is_parallel(serial)
    assert _is_parallel(parallel)


def test_small_norms_take_the_serial_twin(monkeypatch):
    rng = np.random.default_rng(4)
    data = rng.normal(size=(3, 8)).astype(np.float32)
    data[1] = 0.0  # a zero row: 0, not inf
    called = []
    monkeypatch.setattr(distances, "_inverse_norms", lambda d: called.append("parallel"))
    out = distances.inverse_norms(data)
    assert called == []
    norms = np.linalg.norm(data, axis=1)
    expected = np.where(norms > 0, 1 / np.where(norms > 0, norms, 1), 0)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_serial_and_parallel_twins_agree():
    rng = np.random.default_rng(5)
    data = rng.normal(size=(300, 16)).astype(np.float32)
    np.testing.assert_array_equal(distances._inverse_norms_serial(data), distances._inverse_norms(data))
    scale = np.full(16, 0.02, np.float32)
    offset = np.zeros(16, np.float32)
    a, b = np.empty(data.shape, np.int8), np.empty(data.shape, np.int8)
    distances._quantize_serial(data, scale, offset, a)
    distances._quantize(data, scale, offset, b)
    np.testing.assert_array_equal(a, b)
    small = distances.quantize_int8(data[:3], scale, offset)  # the chooser picks the serial twin
    np.testing.assert_array_equal(small.codes, a[:3])


def test_bm25_small_and_large_indexes_agree(monkeypatch):
    rng = np.random.default_rng(6)
    n, v = 50, 20
    dense = rng.integers(0, 3, size=(n, v)).astype(np.float64)
    indptr = np.concatenate([[0], np.cumsum((dense > 0).sum(axis=1))]).astype(np.int64)
    indices = np.nonzero(dense)[1].astype(np.int32)
    counts = dense[dense > 0]
    doc_len = dense.sum(axis=1)
    weights = np.zeros(v)
    weights[[1, 4]] = 1.5
    small = bm25.bm25_scores(indptr, indices, counts, doc_len, weights)
    monkeypatch.setattr(bm25, "PARALLEL_MIN_COUNTS", 0)
    np.testing.assert_allclose(bm25.bm25_scores(indptr, indices, counts, doc_len, weights), small, rtol=1e-15)
