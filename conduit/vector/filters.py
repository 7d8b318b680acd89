"""Metadata filters compiled to a boolean row mask, evaluated column-wise in numpy.

Grammar (a subset of MongoDB's query language)::

    {"lang": "en"}                          equality (JSON scalars; lists/objects by value)
    {"year": {"$gte": 2020, "$lt": 2024}}   ranges on numbers: $gt $gte $lt $lte
    {"tag": {"$in": ["a", "b"]}}            membership: $in $nin
    {"lang": {"$ne": "en"}}                 $eq $ne
    {"$and": [f, ...]}  {"$or": [f, ...]}  {"$not": f}
    several keys in one object              all must hold

A row without the field fails every condition except ``$ne``/``$nin``. ``1`` and
``true`` differ (JSON types), ``1`` and ``1.0`` are equal.

Limits (a filter can come from a client): operators nest at most
:data:`MAX_FILTER_DEPTH` deep, and so do lists and objects inside a value; values
are JSON (objects with string keys, lists, strings, booleans, null) and numbers are
finite doubles, so ``10**400`` or NaN is refused, never an ``OverflowError`` later. The store turns the mask
into the kernels' ``mask``/``rows`` argument, so filtering happens inside the scan.

:class:`MetadataColumns` keeps one column per field that a filter has named
(values encoded as int codes and as float64 numbers), rebuilt lazily after writes.
"""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

import numpy as np

from .errors import VectorInputError

__all__ = ["MAX_FILTER_DEPTH", "MetadataColumns", "compile_filter", "validate_filter"]

#: How deep ``$and``/``$or``/``$not`` may nest, and lists/objects inside a value.
MAX_FILTER_DEPTH = 64
_DOUBLE_MAX = 1.7976931348623157e308

_RANGE_OPS = {"$gt": np.greater, "$gte": np.greater_equal, "$lt": np.less, "$lte": np.less_equal}
_OPS = {"$eq", "$ne", "$in", "$nin", *_RANGE_OPS}
_MISSING = object()


def _key(value: Any):
    """A hashable key with JSON semantics (bool is not a number; 1 == 1.0)."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", float(value))
    if isinstance(value, str):
        return ("str", value)
    return ("json", json.dumps(value, sort_keys=True, default=str))


def _is_number(value: Any) -> bool:
    """A finite JSON number (checked values only: a huge int is refused before this)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(value: Any, where: str) -> None:
    """Refuse what is not a JSON value with finite double numbers, or nests too deep."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_FILTER_DEPTH:
            raise _bad(f"{where}: the value nests deeper than {MAX_FILTER_DEPTH} levels")
        if item is None or isinstance(item, (bool, str)):
            continue
        if isinstance(item, int):
            if not -_DOUBLE_MAX <= item <= _DOUBLE_MAX:
                raise _bad(f"{where}: the number with {len(str(abs(item)))} digits is outside "
                           "the range of a JSON number (a finite double)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise _bad(f"{where}: {item!r} is not a JSON number")
        elif isinstance(item, list):
            stack.extend((x, depth + 1) for x in item)
        elif isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise _bad(f"{where}: object keys must be strings")
            stack.extend((x, depth + 1) for x in item.values())
        else:
            raise _bad(f"{where}: {type(item).__name__} is not a JSON value")


def _bad(message: str) -> VectorInputError:
    return VectorInputError("filter", message)


def validate_filter(spec: Any, path: str = "filter", depth: int = 0) -> None:
    """Raise :class:`VectorInputError` naming the first malformed part of ``spec``."""
    if depth > MAX_FILTER_DEPTH:
        raise _bad(f"{path}: operators nest deeper than {MAX_FILTER_DEPTH} levels")
    if not isinstance(spec, dict):
        raise _bad(f"{path} must be an object, got {type(spec).__name__}")
    for field, cond in spec.items():
        if not isinstance(field, str) or not field:
            raise _bad(f"{path}: field names must be non-empty strings")
        if field in ("$and", "$or"):
            if not isinstance(cond, list) or not cond:
                raise _bad(f"{path}.{field} must be a non-empty list of filters")
            for i, sub in enumerate(cond):
                validate_filter(sub, f"{path}.{field}[{i}]", depth + 1)
        elif field == "$not":
            validate_filter(cond, f"{path}.$not", depth + 1)
        elif field.startswith("$"):
            raise _bad(f"{path}: unknown operator {field!r}")
        elif isinstance(cond, dict) and any(isinstance(k, str) and k.startswith("$") for k in cond):
            if not cond:
                raise _bad(f"{path}.{field}: empty condition")
            for op, value in cond.items():
                where = f"{path}.{field}.{op}"
                if op not in _OPS:
                    raise _bad(f"{where}: unknown operator; expected one of {sorted(_OPS)}")
                _check_value(value, where)
                if op in _RANGE_OPS and not _is_number(value):
                    raise _bad(f"{where} needs a finite number, got {value!r}")
                if op in ("$in", "$nin") and not isinstance(value, list):
                    raise _bad(f"{where} needs a list, got {type(value).__name__}")
        else:
            _check_value(cond, f"{path}.{field}")


class MetadataColumns:
    """Per-field columns over the store's metadata list, cached until ``version`` changes."""

    def __init__(self) -> None:
        self._version = -1
        self._columns: dict[str, tuple[np.ndarray, dict, np.ndarray, np.ndarray]] = {}

    def column(self, metadata: Sequence[dict], version: int, field: str):
        """``(codes int64[n], code_of_key dict, numbers float64[n], present bool[n])``."""
        if version != self._version:
            self._columns.clear()
            self._version = version
        col = self._columns.get(field)
        if col is None:
            n = len(metadata)
            codes = np.full(n, -1, dtype=np.int64)
            numbers = np.full(n, np.nan)
            present = np.zeros(n, dtype=bool)
            code_of: dict = {}
            for i, meta in enumerate(metadata):
                value = meta.get(field, _MISSING) if meta else _MISSING
                if value is _MISSING:
                    continue
                present[i] = True
                codes[i] = code_of.setdefault(_key(value), len(code_of))
                if _is_number(value):
                    numbers[i] = value
            col = self._columns[field] = (codes, code_of, numbers, present)
        return col


def compile_filter(spec: dict, metadata: Sequence[dict], version: int,
                   columns: MetadataColumns) -> np.ndarray:
    """Evaluate a validated filter to ``bool[n]`` (true: the row may be returned)."""
    n = len(metadata)
    mask = np.ones(n, dtype=bool)
    for field, cond in spec.items():
        if field == "$and":
            for sub in cond:
                mask &= compile_filter(sub, metadata, version, columns)
        elif field == "$or":
            any_mask = np.zeros(n, dtype=bool)
            for sub in cond:
                any_mask |= compile_filter(sub, metadata, version, columns)
            mask &= any_mask
        elif field == "$not":
            mask &= ~compile_filter(cond, metadata, version, columns)
        else:
            codes, code_of, numbers, present = columns.column(metadata, version, field)
            ops = cond if isinstance(cond, dict) and any(
                isinstance(k, str) and k.startswith("$") for k in cond) else {"$eq": cond}
            for op, value in ops.items():
                if op in ("$eq", "$ne"):
                    hit = codes == code_of.get(_key(value), -2)
                    mask &= hit if op == "$eq" else ~hit
                elif op in ("$in", "$nin"):
                    wanted = [code_of[k] for k in map(_key, value) if k in code_of]
                    hit = np.isin(codes, np.array(wanted, dtype=np.int64))
                    mask &= hit if op == "$in" else ~hit
                else:
                    with np.errstate(invalid="ignore"):
                        mask &= _RANGE_OPS[op](numbers, float(value))
    return mask
