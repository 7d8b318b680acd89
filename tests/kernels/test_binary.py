"""Binary sign codes and the Hamming candidate scan, against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit_kernels.binary import (
    BinaryMatrix,
    hamming_candidates,
    hamming_candidates_batch,
    quantize_binary,
)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def reference_bits(data, center, normalise):
    x = data.astype(np.float32)
    if normalise:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1)
    return x > center


def reference_candidates(bits, qbits, pool, allowed=None):
    """The ``pool`` rows of least Hamming distance, ties by the lower row, as a set."""
    dist = (bits != qbits).sum(axis=1)
    order = np.lexsort((np.arange(len(dist)), dist))
    if allowed is not None:
        order = order[allowed[order]]
    return set(order[:pool].tolist())


def test_codes_pack_one_bit_per_dimension_little_endian():
    data = np.array([[1.0, -1.0, 2.0], [-1.0, 1.0, -2.0]], dtype=np.float32)
    m = quantize_binary(data, np.zeros(3, np.float32))
    assert m.codes.dtype == np.uint64 and m.codes.shape == (2, 1)
    assert m.codes[:, 0].tolist() == [0b101, 0b010]
    assert m.shape == (2, 3) and m.nbytes == 16


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), dim=st.integers(1, 200), pool=st.integers(1, 400),
       seed=st.integers(0, 2**32 - 1), normalise=st.booleans(), filtered=st.booleans())
def test_candidates_equal_reference(n, dim, pool, seed, normalise, filtered):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, dim)).astype(np.float32)
    q = rng.standard_normal(dim).astype(np.float32)
    m = quantize_binary(data, normalise=normalise)
    bits = reference_bits(data, m.center, normalise)
    qbits = reference_bits(q[None, :], m.center, normalise)[0]
    allowed = rng.random(n) < 0.3 if filtered else None
    want = reference_candidates(bits, qbits, pool, allowed)
    got = hamming_candidates(m, q, pool, mask=allowed)
    assert set(got.tolist()) == want and len(got) == len(want)
    assert got.tolist() == sorted(got.tolist())
    rows = None if allowed is None else np.flatnonzero(allowed)
    assert set(hamming_candidates(m, q, pool, rows=rows).tolist()) == want
    batch = hamming_candidates_batch(m, q[None, :], pool, mask=allowed)[0]
    assert set(batch[batch >= 0].tolist()) == want
    assert (batch[len(want):] == -1).all()


def test_parallel_scan_equals_reference_with_many_ties(rng):
    # 3 dimensions, 100k rows: only 8 distinct codes, so the threshold bucket is huge
    # and the rows taken at it must be the lowest-numbered ones, whatever the threads
    data = rng.standard_normal((100_000, 3)).astype(np.float32)
    m = quantize_binary(data, np.zeros(3, np.float32))
    q = np.array([1.0, 1.0, 1.0], np.float32)
    bits = reference_bits(data, m.center, False)
    for pool in (1, 1000, 12_345, 99_999):
        got = hamming_candidates(m, q, pool)
        assert set(got.tolist()) == reference_candidates(bits, q > 0, pool)


def test_large_store_parallel_equals_serial_batch(rng):
    data = rng.standard_normal((40_000, 96)).astype(np.float32)
    m = quantize_binary(data)
    qs = rng.standard_normal((3, 96)).astype(np.float32)
    batch = hamming_candidates_batch(m, qs, 200)
    for q, row in zip(qs, batch):
        assert set(hamming_candidates(m, q, 200).tolist()) == set(row.tolist())


def test_distances_beyond_16_bits(rng):
    # 70,000 dimensions: a distance can exceed 65,535, which must not wrap or read as excluded
    data = rng.standard_normal((3, 70_000)).astype(np.float32)
    m = quantize_binary(data, np.zeros(70_000, np.float32))
    far = -data[0]  # every bit differs from row 0: distance 70,000
    assert set(hamming_candidates(m, far, 3).tolist()) == {0, 1, 2}
    assert hamming_candidates(m, far, 2).tolist() == sorted(
        reference_candidates(data > 0, far > 0, 2))


def test_empty_filters_and_empty_matrix(rng):
    data = rng.standard_normal((50, 8)).astype(np.float32)
    m = quantize_binary(data)
    q = data[0]
    assert hamming_candidates(m, q, 5, mask=np.zeros(50, bool)).size == 0
    assert hamming_candidates(m, q, 5, rows=np.zeros(0, np.int64)).size == 0
    assert (hamming_candidates_batch(m, data[:2], 5, rows=np.zeros(0, np.int64)) == -1).all()
    empty = quantize_binary(np.zeros((0, 8), np.float32))
    assert hamming_candidates(empty, q, 5).size == 0
    assert hamming_candidates(m, q, 500).size == 50


def test_zero_rows_under_cosine_encode_without_nan():
    data = np.zeros((4, 5), np.float32)
    m = quantize_binary(data, normalise=True)
    assert not np.isnan(m.center).any() and (m.codes == 0).all()


@pytest.mark.parametrize("call, match", [
    (lambda m, q: hamming_candidates(m, q, 0), "pool"),
    (lambda m, q: hamming_candidates(m, q, True), "pool"),
    (lambda m, q: hamming_candidates(m.codes, q, 5), "BinaryMatrix"),
    (lambda m, q: hamming_candidates(m, q[:3], 5), "columns"),
    (lambda m, q: hamming_candidates(m, q, 5, mask=np.ones(3, bool)), "mask"),
    (lambda m, q: hamming_candidates(m, q, 5, rows=np.array([99])), "rows"),
    (lambda m, q: hamming_candidates(m, q, 5, rows=np.array([-1])), "rows"),
    (lambda m, q: hamming_candidates(m, q, 5, mask=np.ones(10, bool), rows=np.arange(2)),
     "either"),
    (lambda m, q: quantize_binary(np.ones(4, np.float32)), "2-D"),
    (lambda m, q: quantize_binary(np.ones((2, 4), np.float32), np.ones(3)), "center"),
])
def test_bad_input_names_the_problem(rng, call, match):
    m = quantize_binary(rng.standard_normal((10, 8)).astype(np.float32))
    with pytest.raises(ValueError, match=match):
        call(m, rng.standard_normal(8).astype(np.float32))


def test_binary_matrix_is_a_named_tuple():
    m = quantize_binary(np.ones((2, 70), np.float32))
    assert isinstance(m, BinaryMatrix) and m.codes.shape == (2, 2) and m.normalise is False
