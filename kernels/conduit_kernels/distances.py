"""Distance metrics for vector search: the registry, the per-row scoring kernel and int8 codes.

Owns: metric names and codes, the *proxy* score a scan ranks by (lower is better,
cheap, order-preserving), the conversion of proxies back to the metric's natural
score for the final ``k`` only, and int8 scalar quantization. Knows nothing of
top-k selection (:mod:`conduit_kernels.topk`) or of ids and metadata.

Natural scores and their proxies (``q`` the query, ``x`` a stored row):

==========  ==========================================  ===================  ==========
metric      natural score                               proxy (ranked by)    best first
==========  ==========================================  ===================  ==========
cosine      :math:`q\\cdot x / (\\|q\\| \\|x\\|)`          ``-score``           highest
dot         :math:`q\\cdot x`                             ``-score``           highest
euclidean   :math:`\\|q - x\\|_2`                          :math:`\\|q-x\\|^2`  lowest
manhattan   :math:`\\|q - x\\|_1`                          ``score``            lowest
==========  ==========================================  ===================  ==========

A zero vector has cosine similarity 0 with everything (as scikit-learn's
``cosine_similarity``). Ties are broken by the lower row id everywhere.

Storage types: ``float32`` rows, or ``int8`` codes with a per-dimension affine map
``x[j] ~ offset[j] + scale[j] * code[j]`` (Numba has no CPU float16 arithmetic,
so int8 is the compact option; it reads 4x fewer bytes per scan). One scoring
formula serves both: the query is *prepared* once per search into ``(qa, w, const)``::

    dot, cosine:          proxy = -(sum_j qa[j] * x[j] + const) [* inv_norm]
    euclidean:            proxy =   sum_j w[j] * (x[j] - qa[j])**2 + const
    manhattan:            proxy =   sum_j w[j] * |x[j] - qa[j]|    + const

For float32 rows ``qa = q``, ``w = 1``, ``const = 0``; for int8 codes the map is
folded into ``qa``, ``w`` and ``const`` (see :func:`prepare_query`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numba import prange

from ._jit import inline, serial_and_parallel


__all__ = [
    "METRIC_NAMES",
    "Int8Matrix",
    "Metric",
    "higher_is_better",
    "inverse_norms",
    "prepare_query",
    "proxy_to_score",
    "quantize_int8",
    "resolve_metric",
]


class Metric(IntEnum):
    """Metric codes the kernels branch on."""

    COSINE = 0
    DOT = 1
    EUCLIDEAN = 2
    MANHATTAN = 3


#: Accepted names (and aliases) for each metric.
METRIC_NAMES: dict[str, Metric] = {
    "cosine": Metric.COSINE,
    "dot": Metric.DOT,
    "ip": Metric.DOT,
    "inner_product": Metric.DOT,
    "euclidean": Metric.EUCLIDEAN,
    "l2": Metric.EUCLIDEAN,
    "manhattan": Metric.MANHATTAN,
    "l1": Metric.MANHATTAN,
    "cityblock": Metric.MANHATTAN,
}


def resolve_metric(metric: "str | Metric") -> Metric:
    """Return the :class:`Metric` for a name, alias or code; ``ValueError`` names the choices."""
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str) and metric.lower() in METRIC_NAMES:
        return METRIC_NAMES[metric.lower()]
    choices = ", ".join(sorted(METRIC_NAMES))
    raise ValueError(f"unknown metric {metric!r}; expected one of: {choices}")


def higher_is_better(metric: "str | Metric") -> bool:
    """True for similarities (cosine, dot), False for distances."""
    return resolve_metric(metric) in (Metric.COSINE, Metric.DOT)


class Int8Matrix(NamedTuple):
    """Rows stored as int8 codes: ``x[i, j] ~ offset[j] + scale[j] * codes[i, j]``.

    codes      int8[n, dim], C-contiguous, values in [-127, 127]
    scale      float32[dim], >= 0 (0 for a constant dimension)
    offset     float32[dim]
    inv_norms  float32[n], 1 / ||dequantized row|| (0 for a zero row), for cosine
    """

    codes: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    inv_norms: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape

    def dequantize(self, start: int = 0, stop: "int | None" = None) -> np.ndarray:
        """float32 rows ``start:stop`` decoded from their codes."""
        block = self.codes[start:stop].astype(np.float32)
        block *= self.scale
        block += self.offset
        return block


def _inverse_norms_impl(data):
    n, dim = data.shape
    out = np.empty(n, dtype=np.float32)
    for i in prange(n):
        s = np.float32(0.0)
        for j in range(dim):
            v = np.float32(data[i, j])
            s += v * v
        out[i] = np.float32(1.0) / np.sqrt(s) if s > 0 else np.float32(0.0)
    return out


_inverse_norms_serial, _inverse_norms = serial_and_parallel(_inverse_norms_impl, fastmath=True)
#: below this many values (rows x dim) the serial twins run: adding a few rows in a request
#: must not wake the thread pool (issue 23)
PARALLEL_MIN_VALUES = 1 << 16


def inverse_norms(data: np.ndarray) -> np.ndarray:
    """``1 / ||row||`` for each row of a float32 matrix, 0 for a zero row.

    Parameters
    ----------
    data : float32[n, dim]

    Returns
    -------
    float32[n]
    """
    data = np.ascontiguousarray(data, dtype=np.float32)
    return (_inverse_norms_serial if data.size < PARALLEL_MIN_VALUES else _inverse_norms)(data)


def _quantize_impl(data, scale, offset, out):
    n, dim = data.shape
    for i in prange(n):
        for j in range(dim):
            if scale[j] > 0:
                c = np.rint((data[i, j] - offset[j]) / scale[j])
                out[i, j] = np.int8(min(127.0, max(-127.0, c)))
            else:
                out[i, j] = np.int8(0)


_quantize_serial, _quantize = serial_and_parallel(_quantize_impl)


def quantize_int8(
    data: np.ndarray, scale: "np.ndarray | None" = None, offset: "np.ndarray | None" = None
) -> Int8Matrix:
    """Encode float32 rows as :class:`Int8Matrix`, per dimension over ``[min, max]``.

    Pass ``scale``/``offset`` from an existing matrix to encode new rows with the
    same map (values outside its range are clipped).
    """
    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"data must be 2-D (n, dim), got shape {data.shape}")
    if scale is None or offset is None:
        if data.shape[0]:
            lo, hi = data.min(axis=0), data.max(axis=0)
        else:
            lo = hi = np.zeros(data.shape[1], np.float32)
        offset = ((lo + hi) / 2).astype(np.float32)
        scale = ((hi - lo) / 254).astype(np.float32)
    codes = np.empty(data.shape, dtype=np.int8)
    (_quantize_serial if data.size < PARALLEL_MIN_VALUES else _quantize)(data, scale, offset, codes)
    matrix = Int8Matrix(codes, scale, offset, np.empty(0, np.float32))
    deq = matrix.dequantize() if data.shape[0] else data
    return matrix._replace(inv_norms=inverse_norms(deq))


def prepare_query(
    metric: Metric, query: np.ndarray, matrix: "Int8Matrix | None" = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fold the query (and an int8 map) into ``(qa, w, const)``; see the module docstring.

    For cosine the query is normalised here, once (a zero query scores 0 everywhere).
    """
    q = np.asarray(query, dtype=np.float32)
    if metric == Metric.COSINE:
        nq = float(np.linalg.norm(q))
        q = q / np.float32(nq) if nq > 0 else np.zeros_like(q)
    if matrix is None:
        return np.ascontiguousarray(q), np.ones(q.shape[0], np.float32), 0.0
    scale, offset = matrix.scale, matrix.offset
    if metric in (Metric.COSINE, Metric.DOT):
        return (q * scale).astype(np.float32), np.ones_like(q), float(q @ offset)
    live = scale > 0
    safe = np.where(live, scale, 1).astype(np.float32)
    t = np.where(live, (q - offset) / safe, 0).astype(np.float32)
    gap = np.where(live, 0, q - offset)
    if metric == Metric.EUCLIDEAN:
        return t, (scale * scale).astype(np.float32), float(gap @ gap)
    return t, scale.astype(np.float32), float(np.abs(gap).sum())


@inline
def row_proxy(metric, qa, w, const, data, r, inv_norms):
    """Proxy score (lower is better) of row ``r`` of ``data`` (float32 or int8)."""
    dim = data.shape[1]
    s = np.float32(0.0)
    if metric <= 1:  # cosine, dot
        for j in range(dim):
            s += qa[j] * np.float32(data[r, j])
        s += const
        if metric == 0:
            s *= inv_norms[r]
        return -s
    if metric == 2:  # euclidean, squared
        for j in range(dim):
            t = np.float32(data[r, j]) - qa[j]
            s += w[j] * t * t
        return s + const
    for j in range(dim):  # manhattan
        s += w[j] * abs(np.float32(data[r, j]) - qa[j])
    return s + const


def proxy_to_score(metric: Metric, proxy: np.ndarray) -> np.ndarray:
    """Natural scores (float32) from proxies; sentinels (+inf) map to -inf / +inf."""
    proxy = np.asarray(proxy, dtype=np.float32)
    if metric in (Metric.COSINE, Metric.DOT):
        return -proxy
    if metric == Metric.EUCLIDEAN:
        return np.sqrt(np.maximum(proxy, np.float32(0)))
    return proxy.copy()
