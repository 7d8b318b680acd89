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

__all__ = ["MAX_ENTRIES", "InvalidInput", "as_features"]

#: The most failures one refusal lists (a batch of 10,000 bad rows answers with this many).
MAX_ENTRIES = 20


class InvalidInput(ValueError):
    """Model input that cannot be used; ``detail`` is a JSON-able description.

    ``detail`` may name the ``row`` and ``column`` (an index, or a name for named rows)
    and ``type``, a code of the shared error vocabulary (``float_type``,
    ``finite_number``, ``too_short``, ...), which :mod:`conduit.ml.serve.requests` puts in the
    422 entry; ``reason`` is the older, ML-specific word kept for callers that read it.
    """

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.detail = {"message": message, **detail}
        #: Every failure found (at most :data:`MAX_ENTRIES`), each a ``detail``; the first is ``detail``.
        self.failures: list[dict[str, Any]] = [self.detail]

    @classmethod
    def of(cls, failures: list["InvalidInput"]) -> "InvalidInput":
        """One refusal listing several failures (the message is the first's)."""
        first = failures[0]
        exc = cls(str(first), **{k: v for k, v in first.detail.items() if k != "message"})
        exc.failures = [f.detail for f in failures[:MAX_ENTRIES]]
        return exc


def _ragged(X: Any, n_features: int) -> InvalidInput:
    """The rows whose length differs (rows of mixed lengths cannot form a matrix)."""
    failures = []
    for i, row in enumerate(X if isinstance(X, (list, tuple)) else ()):
        width = len(row) if isinstance(row, (list, tuple)) else None
        if width != n_features:
            if width is None:
                failures.append(InvalidInput(f"row {i}: expected a list of {n_features} features", row=i,
                                             type="list_type"))
            else:
                failures.append(_width(width, n_features, row=i))
            if len(failures) == MAX_ENTRIES:
                break
    if failures:
        return InvalidInput.of(failures)
    return InvalidInput(f"rows must all have {n_features} features", type="array_shape")


def _width(got: int, n_features: int, **where: Any) -> InvalidInput:
    prefix = f"row {where['row']}: " if "row" in where else ""
    return InvalidInput(f"{prefix}expected {n_features} features per row, got {got}",
                        expected_features=n_features, got_features=got,
                        type="too_short" if got < n_features else "too_long", **where)


def _is_number_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _not_numbers(X: Any) -> InvalidInput:
    """The refusal naming the cells of ``X`` (a row or a list of rows) that are no numbers."""
    rows = X if isinstance(X, (list, tuple)) and X and isinstance(X[0], (list, tuple)) else [X]
    failures = []
    for i, row in enumerate(rows):
        for j, value in enumerate(row if isinstance(row, (list, tuple)) else [row]):
            if not _is_number_or_null(value):
                where = {"row": i, "column": j} if rows is X else {"column": j}
                text = repr(value)
                failures.append(InvalidInput(f"features must be numbers (or null for missing), got "
                                             f"{text if len(text) <= 60 else text[:57] + '...'}",
                                             type="float_type", **where))
                if len(failures) == MAX_ENTRIES:
                    return InvalidInput.of(failures)
    if failures:
        return InvalidInput.of(failures)
    return InvalidInput("features must be numbers (or null for missing)", type="float_type")


def _cells(mask: np.ndarray, message: str, **detail: Any) -> InvalidInput:
    """One failure per cell of ``mask`` (row-major, at most :data:`MAX_ENTRIES`)."""
    return InvalidInput.of([InvalidInput(f"row {i}, column {j}: {message}", row=int(i), column=int(j), **detail)
                            for i, j in np.argwhere(mask)[:MAX_ENTRIES]])


def _coerce(X: Any, n_features: int) -> np.ndarray:
    if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
        array = X
    else:
        try:
            array = np.asarray(X)
        except (ValueError, TypeError):  # ragged nested lists
            raise _ragged(X, n_features) from None
        if array.dtype == object:
            # JSON null means a missing value (NaN); strings and nested junk are refused.
            if any(not _is_number_or_null(v) for v in array.reshape(-1)):
                raise _not_numbers(X)
            try:
                array = array.astype(np.float64)
            except OverflowError:  # an exact JSON integer beyond any double
                raise InvalidInput("a feature is too large for a double", type="finite_number") from None
        if array.dtype.kind in "US":  # numpy turned numbers and strings all into strings
            raise _not_numbers(X)
        if array.dtype.kind not in "fiub":
            raise InvalidInput(
                f"features must be numbers, got dtype {array.dtype.name}", dtype=array.dtype.name,
                type="array_dtype"
            )
        if array.dtype.kind == "b":  # all true/false: JSON booleans are not features
            raise InvalidInput("features must be numbers, got booleans", type="float_type")
    if array.ndim == 1:
        array = array.reshape(1, -1) if array.shape[0] else array.reshape(0, n_features)
    if array.ndim != 2:
        raise InvalidInput(
            f"expected a row or a list of rows (2-D), got {array.ndim}-D input", ndim=array.ndim,
            type="array_shape"
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
        where the model does not accept it; ``failures`` names each failing row and
        column (at most :data:`MAX_ENTRIES`), ``detail`` the first.
    """
    if not (
        type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2 and X.flags.c_contiguous
    ):
        X = _coerce(X, n_features)
    n_rows, n_cols = X.shape
    if n_rows == 0:
        raise InvalidInput("empty batch: at least one row is required", rows=0, type="too_short")
    if n_cols != n_features:
        raise _width(n_cols, n_features, row=0)
    status = check_finite(X)
    if status:
        if status == HAS_INF and not allow_inf:
            raise _cells(np.isinf(X), "infinity, which this model does not accept", type="finite_number")
        if status == HAS_NAN and not allow_nan:
            raise _cells(np.isnan(X), "a missing value (NaN, JSON null), which this model does not accept",
                         type="missing", reason="missing")
    return X
