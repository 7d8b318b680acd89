"""Binary (sign) codes: one bit per dimension, a popcount Hamming scan for candidates.

Owns: the encoding of float32 rows as packed sign bits, and the scan that returns
the ``pool`` rows nearest a query in Hamming distance. Knows nothing of the exact
re-score that follows (the caller runs the float32 top-k over the pool, see
:class:`conduit.vector.VectorStore` ``dtype="binary"``) or of ids and metadata.

Why: one fp32 query over 100k x 384 rows reads 153 MB and is bound by memory
bandwidth; the sign codes of the same rows are 4.8 MB (32x fewer bytes), so the
scan runs from cache, and re-scoring a pool of a few hundred rows exactly gives
the recall back.

Encoding: bit ``j`` of a row is ``x[j] > center[j]`` (``center`` the per-dimension
mean of the rows it was fitted on, so each bit splits the data, not only the sign
of a skewed dimension); for cosine rows are divided by their norm first. Bits are
packed little-endian into ``ceil(dim / 64)`` uint64 words; padding bits are zero in
rows and queries alike, so they never count.

Selection: distances are small integers (0..64 * words), so the pool is chosen by
a histogram (a counting selection, no heap): the threshold distance ``t`` is the
smallest with at least ``pool`` rows at or below it; every row below ``t`` is taken,
and rows at ``t`` by increasing row number until the pool is full. The result is
deterministic and does not depend on the number of threads.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import prange

from ._jit import inline, kernel, popcount
from .topk import _check_filter

__all__ = ["BinaryMatrix", "hamming_candidates", "hamming_candidates_batch", "quantize_binary"]


class BinaryMatrix(NamedTuple):
    """Rows stored as packed sign bits.

    codes      uint64[n, words], C-contiguous; ``words = ceil(dim / 64)``
    center     float32[dim], the per-dimension threshold of each bit
    normalise  True when rows (and queries) are divided by their norm before the
               comparison (cosine)
    """

    codes: np.ndarray
    center: np.ndarray
    normalise: bool

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape[0], self.center.shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes the scan reads: the codes."""
        return int(self.codes.nbytes)

    def encode(self, rows: np.ndarray) -> np.ndarray:
        """uint64[m, words] codes of float32 rows ``(m, dim)`` under this matrix's map."""
        return _pack(_prepared(rows, self.normalise), self.center)


def _prepared(rows: np.ndarray, normalise: bool) -> np.ndarray:
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    if rows.ndim != 2:
        raise ValueError(f"rows must be 2-D (n, dim), got shape {rows.shape}")
    if normalise and rows.shape[0]:
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = rows / np.where(norms > 0, norms, np.float32(1))
    return rows


def _pack(rows: np.ndarray, center: np.ndarray) -> np.ndarray:
    if rows.shape[1] != center.shape[0]:
        raise ValueError(f"rows must have {center.shape[0]} columns, got {rows.shape[1]}")
    words = (rows.shape[1] + 63) // 64
    packed = np.packbits(rows > center, axis=1, bitorder="little")
    out = np.zeros((rows.shape[0], words * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view(np.uint64)


def quantize_binary(data: np.ndarray, center: "np.ndarray | None" = None, *,
                    normalise: bool = False) -> BinaryMatrix:
    """Encode float32 rows ``(n, dim)`` as :class:`BinaryMatrix` sign codes.

    ``center`` defaults to the per-dimension mean of the (normalised, with
    ``normalise=True``) rows; pass an existing matrix's to encode new rows alike.
    """
    rows = _prepared(data, normalise)
    if center is None:
        center = rows.mean(axis=0) if rows.shape[0] else np.zeros(rows.shape[1])
    center = np.ascontiguousarray(center, dtype=np.float32)
    if center.shape != (rows.shape[1],):
        raise ValueError(f"center must have shape ({rows.shape[1]},), got {center.shape}")
    return BinaryMatrix(_pack(rows, center), center, bool(normalise))


# --- kernels ---


@inline
def _distances(codes, qc, mask, rows, start, stop, dist, hist):
    """Hamming distance of visits ``start:stop`` into ``dist``; counts into ``hist``."""
    use_mask = mask.shape[0] > 0
    use_rows = rows.shape[0] > 0
    words = codes.shape[1]
    for t in range(start, stop):
        r = rows[t] if use_rows else t
        if use_mask and not mask[r]:
            dist[t] = 0xFFFFFFFF  # above any distance: never at or below the threshold
            continue
        s = np.uint64(0)
        for w in range(words):
            s += popcount(codes[r, w] ^ qc[w])
        dist[t] = s
        hist[s] += 1


@inline
def _threshold(total, pool):
    """``(t, taken below t)``: the smallest distance with ``pool`` rows at or below it."""
    below = 0
    for t in range(total.shape[0]):
        if below + total[t] >= pool:
            return t, below
        below += total[t]
    return total.shape[0] - 1, below


@inline
def _collect(dist, rows, start, stop, t, eq_take, out, pos):
    """Write the visits of ``start:stop`` below ``t`` (and ``eq_take`` at ``t``) to ``out``."""
    use_rows = rows.shape[0] > 0
    for i in range(start, stop):
        d = dist[i]
        if d < t or (d == t and eq_take > 0):
            out[pos] = rows[i] if use_rows else i
            pos += 1
            if d == t:
                eq_take -= 1


def _candidates_py(codes, qc, mask, rows, pool, n_chunks):
    n_visit = rows.shape[0] if rows.shape[0] > 0 else codes.shape[0]
    chunk = (n_visit + n_chunks - 1) // n_chunks
    bits = codes.shape[1] * 64
    dist = np.empty(n_visit, dtype=np.uint32)
    hist = np.zeros((n_chunks, bits + 1), dtype=np.int64)
    for c in prange(n_chunks):
        _distances(codes, qc, mask, rows, c * chunk, min(n_visit, (c + 1) * chunk), dist, hist[c])
    total = hist.sum(axis=0)
    pool = min(pool, total.sum())
    t, below = _threshold(total, pool)
    eq_left = pool - below
    eq_take = np.zeros(n_chunks, dtype=np.int64)
    offset = np.zeros(n_chunks, dtype=np.int64)
    pos = 0
    for c in range(n_chunks):  # rows at t go to the lowest visits first: thread-count free
        eq_take[c] = min(eq_left, hist[c, t])
        eq_left -= eq_take[c]
        offset[c] = pos
        pos += hist[c, :t].sum() + eq_take[c]
    out = np.empty(pool, dtype=np.int64)
    for c in prange(n_chunks):
        _collect(dist, rows, c * chunk, min(n_visit, (c + 1) * chunk), t, eq_take[c], out,
                 offset[c])
    return out


_candidates_serial, _candidates_parallel = (
    kernel(_candidates_py),
    kernel(_candidates_py, parallel=True),
)


@kernel(parallel=True)
def _candidates_batch(codes, qcs, mask, rows, pool):
    """One query per thread, each a serial scan; ``-1`` pads a short pool."""
    m = qcs.shape[0]
    n_visit = rows.shape[0] if rows.shape[0] > 0 else codes.shape[0]
    bits = codes.shape[1] * 64
    out = np.full((m, pool), -1, dtype=np.int64)
    for q in prange(m):
        dist = np.empty(n_visit, dtype=np.uint32)
        hist = np.zeros(bits + 1, dtype=np.int64)
        _distances(codes, qcs[q], mask, rows, 0, n_visit, dist, hist)
        size = min(pool, hist.sum())
        t, below = _threshold(hist, size)
        _collect(dist, rows, 0, n_visit, t, size - below, out[q], 0)
    return out


# --- the Python layer ---


def _check(matrix, pool, mask, rows):
    if not isinstance(matrix, BinaryMatrix):
        raise ValueError("matrix must be a BinaryMatrix (see quantize_binary)")
    if isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 1:
        raise ValueError(f"pool must be a positive integer, got {pool!r}")
    return _check_filter(matrix.codes.shape[0], mask, rows)  # the exact scan's own rule


def hamming_candidates(matrix: BinaryMatrix, query: np.ndarray, pool: int, *,
                       mask: "np.ndarray | None" = None,
                       rows: "np.ndarray | None" = None) -> np.ndarray:
    """The ``pool`` rows nearest ``query`` in Hamming distance of the sign codes.

    Parameters
    ----------
    matrix : BinaryMatrix
    query : float32[dim]
    pool : int >= 1
    mask : bool[n], optional (only rows where it is true)
    rows : int64[r], optional (only these rows; exclusive with ``mask``)

    Returns
    -------
    int64[min(pool, rows that qualify)]
        Row numbers, in increasing row order (not by distance: the caller re-scores).
    """
    mask, rows, any_rows = _check(matrix, pool, mask, rows)
    if not any_rows:
        return np.empty(0, dtype=np.int64)
    qc = matrix.encode(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
    n_visit = rows.shape[0] or matrix.codes.shape[0]
    if n_visit * matrix.codes.shape[1] >= 65_536:  # about 0.5 MB of codes
        threads = numba.get_num_threads()
        return _candidates_parallel(matrix.codes, qc, mask, rows, int(pool),
                                    min(16 * threads, max(threads, n_visit // 16_384)))
    return _candidates_serial(matrix.codes, qc, mask, rows, int(pool), 1)


def hamming_candidates_batch(matrix: BinaryMatrix, queries: np.ndarray, pool: int, *,
                             mask: "np.ndarray | None" = None,
                             rows: "np.ndarray | None" = None) -> np.ndarray:
    """:func:`hamming_candidates` for each row of ``queries`` (float32[m, dim]).

    Returns int64[m, pool], each row's candidates in increasing row order, ``-1``
    padding when fewer rows qualify.
    """
    mask, rows, any_rows = _check(matrix, pool, mask, rows)
    qcs = matrix.encode(queries)
    if not any_rows:
        return np.full((qcs.shape[0], int(pool)), -1, dtype=np.int64)
    return _candidates_batch(matrix.codes, qcs, mask, rows, int(pool))
