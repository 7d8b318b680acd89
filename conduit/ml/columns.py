"""Named model inputs: rows as JSON objects keyed by feature name, strings for categories.

Owns :class:`InputSchema`: a model's input columns (name, ``number`` or ``category``,
the categories an encoder knows, what a missing value becomes) and
:meth:`InputSchema.encode`, which turns rows (dicts keyed by ``feature_names_in_``, or
positional lists that may hold strings, or a DataFrame) into the one numeric matrix the
kernels read: a number column carries its value (JSON ``null`` -> NaN), a category
column carries the category's *code* (its index in the encoder's ``categories_``; -1
for a category the encoder does not know). Every refusal is an :class:`InvalidInput`
that names the row, the column (its name in a named row, its index in a positional one),
the reason and the shared error code (``type``), which the server turns into a 422 entry. The
JSON Schema of one row (:meth:`InputSchema.row_schema`) is derived from the same
columns, so the OpenAPI document says what the encoder accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .validation import MAX_ENTRIES, InvalidInput

__all__ = ["Column", "InputSchema"]


def _unchecked(values: list[Any], failures: list[InvalidInput], broken: set[int]) -> Any:
    """``(row, value)`` pairs still to check: stops once ``failures`` is full, skips ``broken`` rows."""
    for i, v in enumerate(values):
        if failures and len(failures) >= MAX_ENTRIES:
            return
        if broken and i in broken:
            continue
        yield i, v


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fits_double(value: Any) -> bool:
    """Finite and representable as float64 (an exact JSON integer may have 400 digits)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class Column:
    """One input column.

    ``categories``: the encoder's categories (``None`` for a plain number column);
    ``unknown``: ``"error"`` (refuse an unknown category, 422), ``"code"`` (code -1) or
    ``"missing"`` (NaN, as a missing value: LightGBM's and XGBoost's rule for a category
    the model never saw; a missing value is NaN too);
    ``missing_code``: the code of a missing value (``None``: missing is refused for a
    category column unless ``fill`` names the category an imputer puts there);
    ``accepts_missing``: whether a number column may be missing (NaN downstream is fine).
    """

    name: str
    kind: str = "number"  # "number" | "category"
    categories: list[Any] | None = None
    unknown: str = "error"
    missing_code: int | None = None
    fill: Any = None
    accepts_missing: bool = True
    lookup: dict[Any, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.categories is not None:
            self.lookup = {c: i for i, c in enumerate(self.categories) if not _is_missing(c)}
            if self.missing_code is None:
                self.missing_code = next((i for i, c in enumerate(self.categories) if _is_missing(c)), None)

    @property
    def string_valued(self) -> bool:
        return self.categories is not None and any(isinstance(c, str) for c in self.categories)

    @property
    def takes_missing(self) -> bool:
        """Whether a missing value (JSON ``null``, NaN) is accepted in this column."""
        if self.categories is None:
            return self.accepts_missing
        return self.missing_code is not None or self.fill is not None or self.unknown != "error"

    def schema(self) -> dict[str, Any]:
        if self.categories is None:
            return {"type": ["number", "null"] if self.accepts_missing else "number"}
        known = [c for c in self.categories if not _is_missing(c)]
        kind = "string" if self.string_valued else "number"
        if self.unknown == "missing":
            # The categories are listed (enum); any other value is accepted and read as missing.
            return {"anyOf": [{"enum": [*known, None]},
                              {"type": kind, "description": "a category the model never saw: read as missing"}]}
        base: dict[str, Any] = {"type": kind}
        if self.unknown == "error":
            base["enum"] = known
        else:
            base["examples"] = known[:10]
        if self.takes_missing:
            base["type"] = [base["type"], "null"]
            if "enum" in base:
                base["enum"] = [*known, None]
        return base


class InputSchema:
    """The columns a model reads, in order (``feature_names_in_``)."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = columns
        self.names = [c.name for c in columns]
        self.index = {name: j for j, name in enumerate(self.names)}
        self.has_categories = any(c.categories is not None for c in columns)

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": c.name, "type": c.kind, "accepts_missing": c.takes_missing,
                 **({"categories": [None if _is_missing(v) else v for v in c.categories]}
                    if c.categories is not None else {})}
                for c in self.columns]

    def row_schema(self) -> dict[str, Any]:
        """JSON Schema of one named row."""
        properties = {c.name: c.schema() for c in self.columns}
        # A key left out is a missing value: required where the model refuses one.
        required = [c.name for c in self.columns if not c.takes_missing]
        return {"type": "object", "properties": properties, "required": required,
                "additionalProperties": False}

    # -- encoding -------------------------------------------------------------------

    def wants_encoding(self, X: Any) -> bool:
        """Whether ``X`` needs :meth:`encode` (named rows, or any model with categories)."""
        if self.has_categories:
            return True  # category values (strings or numbers) are looked up, never read raw
        if isinstance(X, dict) or hasattr(X, "columns"):
            return True
        # Any named row (rows may mix objects and positional lists, as the document allows).
        return isinstance(X, list) and any(type(row) is dict for row in X)

    def encode(self, X: Any) -> np.ndarray:
        """Rows -> ``float64[n, n_columns]`` (category columns as codes); :class:`InvalidInput`."""
        failures: list[InvalidInput] = []
        columns, named, broken = self._split(X, failures)
        n = len(columns[0]) if columns else 0
        if n == 0 and not failures:
            raise InvalidInput("empty batch: at least one row is required", rows=0, type="too_short")
        out = np.empty((n, len(self.columns)), dtype=np.float64)
        for j, values in enumerate(columns):
            if failures and len(failures) >= MAX_ENTRIES:
                break
            out[:, j] = self._encode_column(j, values, named, failures, broken)
        if failures:
            raise InvalidInput.of(failures)
        return out

    def _split(self, X: Any, failures: list[InvalidInput]
               ) -> tuple[list[list[Any]], list[bool] | None, set[int]]:
        """Per column, its values in row order; per row, whether it was named (None: all are);
        the rows that could not be split (each added to ``failures``, its values not checked).
        """
        if hasattr(X, "columns") and hasattr(X, "__getitem__") and not isinstance(X, (dict, list)):
            missing = [name for name in self.names if name not in list(X.columns)]
            if missing:
                raise InvalidInput(f"input has no column {missing[0]!r}", column=missing[0], reason="missing_column",
                                   type="missing")
            return [list(np.asarray(X[name], dtype=object)) for name in self.names], None, set()
        if isinstance(X, np.ndarray):
            X = X.tolist()
        if isinstance(X, dict):
            X = [X]
        if not isinstance(X, list):
            raise InvalidInput("rows must be a list of objects (or of lists)", type="list_type")
        if X and not isinstance(X[0], (list, tuple, dict)):
            X = [X]  # one positional row
        width = len(self.columns)
        columns: list[list[Any]] = [[None] * len(X) for _ in range(width)]
        named = [False] * len(X)
        broken: set[int] = set()
        for i, row in enumerate(X):
            if failures and len(failures) >= MAX_ENTRIES:
                break
            if isinstance(row, dict):
                named[i] = True
                unknown = [key for key in row if key not in self.index]
                failures.extend(InvalidInput(f"row {i}: unknown column {key!r} (the model reads {self.names})",
                                             row=i, column=key, reason="unknown_column", type="extra_forbidden")
                                for key in unknown)
                for j, name in enumerate(self.names):
                    columns[j][i] = row.get(name)
            elif isinstance(row, (list, tuple)):
                if len(row) != width:
                    failures.append(InvalidInput(f"row {i}: expected {width} features, got {len(row)}",
                                                 row=i, expected_features=width, got_features=len(row),
                                                 type="too_short" if len(row) < width else "too_long"))
                    broken.add(i)
                    continue
                for j in range(width):
                    columns[j][i] = row[j]
            else:
                failures.append(InvalidInput(f"row {i}: expected an object or a list, got {type(row).__name__}",
                                             row=i, reason="invalid_row", type="model_type"))
                broken.add(i)
        return columns, named, broken

    #: The shared error code of each refusal reason.
    CODES = {"missing": "missing", "not_a_number": "float_type", "not_finite": "finite_number",
             "not_a_string": "string_type", "unknown_category": "enum"}

    def _refuse(self, i: int, j: int, named: list[bool] | None, reason: str, message: str) -> InvalidInput:
        column = self.columns[j]
        where = column.name if named is None or named[i] else j
        return InvalidInput(f"row {i}, column {column.name!r}: {message}", row=i, column=where,
                            reason=reason, type=self.CODES[reason])

    def _encode_column(self, j: int, values: list[Any], named: list[bool] | None,
                       failures: list[InvalidInput], broken: set[int]) -> np.ndarray:
        """The column's values (or codes); a refused value adds to ``failures`` (then the
        array is not used: the caller raises). Rows in ``broken`` are skipped."""
        column = self.columns[j]
        if column.categories is None:
            for i, v in _unchecked(values, failures, broken):
                if _is_missing(v):
                    if not column.accepts_missing:
                        failures.append(self._refuse(i, j, named, "missing",
                                                     "missing value, which this model does not accept"))
                elif isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                    failures.append(self._refuse(i, j, named, "not_a_number", f"expected a number, got {_short(v)}"))
                elif not _fits_double(v):
                    failures.append(self._refuse(i, j, named, "not_finite", f"{_short(v)} is not a finite number"))
            if failures:
                return np.zeros(len(values))
            return np.array(values, dtype=np.float64)
        lookup = column.lookup
        codes = np.empty(len(values), dtype=np.float64)
        as_missing = column.unknown == "missing"
        for i, v in _unchecked(values, failures, broken):
            if _is_missing(v):
                if as_missing:
                    codes[i] = np.nan
                    continue
                if column.fill is not None:
                    v = column.fill
                elif column.missing_code is not None:
                    codes[i] = column.missing_code
                    continue
                elif column.unknown == "error":
                    failures.append(self._refuse(i, j, named, "missing",
                                                 "missing value, which this model does not accept"))
                    continue
                else:
                    codes[i] = -1
                    continue
            if isinstance(v, (list, dict, bool)):  # JSON arrays, objects and booleans are never categories
                if column.string_valued:
                    failures.append(self._refuse(i, j, named, "not_a_string",
                                                 f"expected a category string, got {_short(v)}"))
                else:
                    failures.append(self._refuse(i, j, named, "not_a_number",
                                                 f"expected a category number, got {_short(v)}"))
                continue
            code = lookup.get(v)
            if code is None:
                if column.string_valued and not isinstance(v, str):
                    failures.append(self._refuse(i, j, named, "not_a_string",
                                                 f"expected a category string, got {_short(v)}"))
                    continue
                if column.unknown == "error":
                    failures.append(self._refuse(i, j, named, "unknown_category",
                                                 f"unknown category {_short(v)} (known: {list(lookup)[:20]})"))
                    continue
                code = np.nan if as_missing else -1
            codes[i] = code
        return codes
