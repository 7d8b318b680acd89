"""Input validation helpers: every failure becomes a 422 :class:`ValidationError` naming the field.

Two styles:

- single checks that return the normalised value or raise::

      k = check_int(request.query_params.get("k", "10"), "query.k", ge=1, le=100)
      x = check_array(body["inputs"], "body.inputs", shape=(None, 4), dtype="float32")

- a schema of fields checked together, reporting *every* failing field at once::

      SCHEMA = {"inputs": Array(shape=(None, 4), dtype="float32"), "k": Int(ge=1, le=100, default=10)}
      data = validate(await request.json(), SCHEMA, prefix="body")

Error entries are ``{"loc": "body.inputs", "type": ..., "msg": ...}``. Arrays
are checked at the boundary (shape, dtype kind, finiteness, size) so kernels
never see malformed input (see DESIGN.md "The kernel contract").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import ValidationError

_MISSING = object()


def _fail(loc: str, type: str, msg: str):
    raise ValidationError([{"loc": loc, "type": type, "msg": msg}])


# -------------------------------------------------------------- scalar checks

def check_int(value: Any, field: str, *, ge: int | None = None, le: int | None = None,
              gt: int | None = None, lt: int | None = None) -> int:
    """An int (an int-valued string is accepted, a bool or float is not) within bounds."""
    if isinstance(value, bool):
        _fail(field, "type_error", "expected an integer, got a boolean")
    if isinstance(value, str):
        try:
            value = int(value.strip(), 10)
        except ValueError:
            _fail(field, "type_error", f"{value[:40]!r} is not an integer")
    elif isinstance(value, np.integer):
        value = int(value)
    elif not isinstance(value, int):
        _fail(field, "type_error", f"expected an integer, got {type(value).__name__}")
    _check_bounds(value, field, ge, le, gt, lt)
    return value


def check_float(value: Any, field: str, *, ge: float | None = None, le: float | None = None,
                gt: float | None = None, lt: float | None = None, allow_nan: bool = False) -> float:
    """A finite number (unless ``allow_nan``) within bounds; ints and numeric strings accepted."""
    if isinstance(value, bool):
        _fail(field, "type_error", "expected a number, got a boolean")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            _fail(field, "type_error", f"{value[:40]!r} is not a number")
    elif isinstance(value, (int, float, np.integer, np.floating)):
        value = float(value)
    else:
        _fail(field, "type_error", f"expected a number, got {type(value).__name__}")
    if not allow_nan and not math.isfinite(value):
        _fail(field, "value_error", "must be a finite number")
    _check_bounds(value, field, ge, le, gt, lt)
    return value


def _check_bounds(value, field, ge, le, gt, lt) -> None:
    if ge is not None and value < ge:
        _fail(field, "range_error", f"must be >= {ge}")
    if le is not None and value > le:
        _fail(field, "range_error", f"must be <= {le}")
    if gt is not None and value <= gt:
        _fail(field, "range_error", f"must be > {gt}")
    if lt is not None and value >= lt:
        _fail(field, "range_error", f"must be < {lt}")


def check_str(value: Any, field: str, *, min_length: int = 0, max_length: int | None = None,
              pattern: str | re.Pattern[str] | None = None, choices: Iterable[str] | None = None) -> str:
    """A string with a length in range, matching ``pattern`` (full match) or one of ``choices``."""
    if not isinstance(value, str):
        _fail(field, "type_error", f"expected a string, got {type(value).__name__}")
    if len(value) < min_length:
        _fail(field, "length_error", f"must be at least {min_length} characters long")
    if max_length is not None and len(value) > max_length:
        _fail(field, "length_error", f"must be at most {max_length} characters long")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        _fail(field, "pattern_error", f"does not match {getattr(pattern, 'pattern', pattern)!r}")
    if choices is not None:
        options = list(choices)
        if value not in options:
            _fail(field, "choice_error", f"must be one of {options}")
    return value


def check_bool(value: Any, field: str) -> bool:
    """A bool, or one of the strings true/false/1/0/yes/no/on/off."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    _fail(field, "type_error", "expected a boolean")


def check_list(value: Any, field: str, *, min_length: int = 0, max_length: int | None = None) -> list:
    """A JSON array (list or tuple) with a length in range."""
    if not isinstance(value, (list, tuple)):
        _fail(field, "type_error", f"expected a list, got {type(value).__name__}")
    if len(value) < min_length:
        _fail(field, "length_error", f"must have at least {min_length} items")
    if max_length is not None and len(value) > max_length:
        _fail(field, "length_error", f"must have at most {max_length} items")
    return list(value)


# ----------------------------------------------------------------- arrays

_KINDS = {"b": "bool", "i": "integer", "u": "unsigned integer", "f": "float", "c": "complex"}


def check_array(value: Any, field: str, *, shape: Sequence[int | None] | None = None,
                dtype: Any = "float32", ndim: int | None = None, max_size: int | None = 10_000_000,
                allow_nan: bool = False) -> np.ndarray:
    """A C-contiguous numpy array of ``dtype`` with the given ``shape`` (None = any length).

    Accepts nested lists (JSON) or arrays. Integers convert to a float dtype;
    floats never silently convert to an integer dtype (``[1.5]`` for ``int64`` is
    an error, ``[1.0]`` is accepted). NaN/inf are refused unless ``allow_nan``.
    """
    target = np.dtype(dtype)
    if isinstance(value, (str, bytes, Mapping)) or value is None:
        _fail(field, "type_error", f"expected an array, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        _fail(field, "shape_error", "ragged or non-numeric nested lists")
    if array.dtype == object or array.dtype.kind in "USV":
        _fail(field, "type_error", "expected numbers (the array is ragged or holds non-numbers)")
    if max_size is not None and array.size > max_size:
        _fail(field, "size_error", f"has {array.size} elements, more than {max_size}")
    if ndim is not None and array.ndim != ndim:
        _fail(field, "shape_error", f"expected {ndim} dimensions, got {array.ndim}")
    if shape is not None:
        expected = tuple(shape)
        if array.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected, array.shape)):
            pretty = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
            _fail(field, "shape_error", f"expected shape {pretty}, got {tuple(array.shape)}")
    source = array.dtype.kind
    if source not in _KINDS:
        _fail(field, "type_error", f"unsupported element type {array.dtype}")
    if target.kind in "iu" and source == "f":
        if not np.all(np.isfinite(array)) or not np.all(np.floor(array) == array):
            _fail(field, "dtype_error", f"expected {_KINDS[target.kind]} values, got non-integers")
    elif target.kind == "b" and source != "b":
        _fail(field, "dtype_error", f"expected booleans, got {_KINDS[source]} values")
    elif target.kind in "iu" and source == "c" or target.kind == "f" and source == "c":
        _fail(field, "dtype_error", f"expected {_KINDS[target.kind]} values, got complex")
    if target.kind in "iu" and array.size:
        info = np.iinfo(target)
        low, high = array.min(), array.max()
        if low < info.min or high > info.max:
            _fail(field, "range_error", f"values out of range for {target}")
    with np.errstate(over="ignore", invalid="ignore"):
        converted = np.ascontiguousarray(array, dtype=target)
    if target.kind in "fc" and not allow_nan and converted.size and not np.all(np.isfinite(converted)):
        _fail(field, "value_error", "must hold finite numbers (no NaN or infinity, or overflow for "
                                    f"{target})")
    return converted


# ----------------------------------------------------------------- schemas

@dataclass(frozen=True)
class _Field:
    default: Any = _MISSING

    def check(self, value: Any, loc: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Int(_Field):
    ge: int | None = None
    le: int | None = None

    def check(self, value, loc):
        return check_int(value, loc, ge=self.ge, le=self.le)


@dataclass(frozen=True)
class Float(_Field):
    ge: float | None = None
    le: float | None = None
    allow_nan: bool = False

    def check(self, value, loc):
        return check_float(value, loc, ge=self.ge, le=self.le, allow_nan=self.allow_nan)


@dataclass(frozen=True)
class Str(_Field):
    min_length: int = 0
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] | None = None

    def check(self, value, loc):
        return check_str(value, loc, min_length=self.min_length, max_length=self.max_length,
                         pattern=self.pattern, choices=self.choices)


@dataclass(frozen=True)
class Bool(_Field):
    def check(self, value, loc):
        return check_bool(value, loc)


@dataclass(frozen=True)
class List(_Field):
    min_length: int = 0
    max_length: int | None = None
    items: _Field | None = None

    def check(self, value, loc):
        items = check_list(value, loc, min_length=self.min_length, max_length=self.max_length)
        if self.items is None:
            return items
        out, errors = [], []
        for i, item in enumerate(items):
            try:
                out.append(self.items.check(item, f"{loc}.{i}"))
            except ValidationError as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)
        return out


@dataclass(frozen=True)
class Array(_Field):
    shape: tuple[int | None, ...] | None = None
    dtype: Any = "float32"
    ndim: int | None = None
    max_size: int | None = 10_000_000
    allow_nan: bool = False

    def check(self, value, loc):
        return check_array(value, loc, shape=self.shape, dtype=self.dtype, ndim=self.ndim,
                           max_size=self.max_size, allow_nan=self.allow_nan)


def validate(data: Any, schema: Mapping[str, _Field], *, prefix: str = "body",
             allow_extra: bool = True) -> dict[str, Any]:
    """Check a JSON object against ``schema``; raise one ValidationError listing every bad field."""
    if not isinstance(data, Mapping):
        _fail(prefix, "type_error", f"expected a JSON object, got {type(data).__name__}")
    out: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for name, spec in schema.items():
        loc = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if spec.default is _MISSING:
                errors.append({"loc": loc, "type": "missing", "msg": "field required"})
            else:
                out[name] = spec.default
            continue
        try:
            out[name] = spec.check(data[name], loc)
        except ValidationError as exc:
            errors.extend(exc.errors)
    if not allow_extra:
        for name in data:
            if name not in schema:
                errors.append({"loc": f"{prefix}.{name}" if prefix else str(name), "type": "extra",
                               "msg": "unexpected field"})
    if errors:
        raise ValidationError(errors)
    return out


__all__ = [
    "Array",
    "Bool",
    "Float",
    "Int",
    "List",
    "Str",
    "check_array",
    "check_bool",
    "check_float",
    "check_int",
    "check_list",
    "check_str",
    "validate",
]
