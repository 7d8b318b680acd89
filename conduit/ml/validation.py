"""Input validation for model inference: anything array-like -> a checked float64 matrix.

Owns the rules every model input passes before a kernel sees it: a 2-D numeric
matrix (one row may be given as a flat list), at least one row, the model's feature
count, and NaN / infinity only where the model accepts them. Failures raise
:class:`InvalidInput` (a ``ValueError``) whose ``detail`` names the problem; the
serving layer turns it into a 422. Knows nothing about HTTP or about model families.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conduit_kernels.preprocessing import HAS_INF, HAS_NAN, check_finite

__all__ = ["InvalidInput", "as_features"]


class InvalidInput(ValueError):
    """Model input that cannot be used; ``detail`` is a JSON-able description."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.detail = {"message": message, **detail}


def _coerce(X: Any, n_features: int) -> np.ndarray:
    if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
        array = X
    else:
        try:
            array = np.asarray(X)
        except (ValueError, TypeError) as exc:  # ragged nested lists
            raise InvalidInput(f"rows must all have {n_features} features: {exc}") from None
        if array.dtype == object:
            # JSON null means a missing value (NaN); strings and nested junk are refused.
            if any(not (v is None or isinstance(v, (int, float))) for v in array.reshape(-1)):
                raise InvalidInput(f"features must be numbers (or null for missing), in rows of {n_features}")
            array = array.astype(np.float64)
        if array.dtype.kind not in "fiub":
            raise InvalidInput(
                f"features must be numbers, got dtype {array.dtype.name}", dtype=array.dtype.name
            )
    if array.ndim == 1:
        array = array.reshape(1, -1) if array.shape[0] else array.reshape(0, n_features)
    if array.ndim != 2:
        raise InvalidInput(
            f"expected a row or a list of rows (2-D), got {array.ndim}-D input", ndim=array.ndim
        )
    return np.ascontiguousarray(array, dtype=np.float64)


def as_features(
    X: Any, n_features: int, *, allow_nan: bool = False, allow_inf: bool = False
) -> np.ndarray:
    """Validate ``X`` for a model with ``n_features`` inputs.

    Returns
    -------
    float64[n, n_features], C-contiguous (``X`` itself when it already is one).

    Raises
    ------
    InvalidInput
        Empty batch, wrong feature count, non-numeric or ragged data, NaN or infinity
        where the model does not accept it.
    """
    if not (
        type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2 and X.flags.c_contiguous
    ):
        X = _coerce(X, n_features)
    n_rows, n_cols = X.shape
    if n_rows == 0:
        raise InvalidInput("empty batch: at least one row is required", rows=0)
    if n_cols != n_features:
        raise InvalidInput(
            f"expected {n_features} features per row, got {n_cols}",
            expected_features=n_features,
            got_features=n_cols,
        )
    status = check_finite(X)
    if status:
        if status == HAS_INF and not allow_inf:
            raise InvalidInput("input contains infinity, which this model does not accept")
        if status == HAS_NAN and not allow_nan:
            raise InvalidInput("input contains NaN (JSON null), which this model does not accept")
    return X
