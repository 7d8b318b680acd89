"""Input validation helpers: every failure becomes a 422 :class:`ValidationError` naming the field.

A thin public face over the type layer (:mod:`conduit.types`): the same parsers,
the same checks and the same error codes as typed handler parameters. Two styles:

- single checks that return the normalised value or raise::

      k = check_int(request.query_params.get("k", "10"), "query.k", ge=1, le=100)
      x = check_array(body["inputs"], ["body", "inputs"], shape=(None, 4), dtype="float32")

- a schema of fields checked together, reporting *every* failing field at once::

      SCHEMA = {"inputs": Array(shape=(None, 4), dtype="float32"), "k": Int(ge=1, le=100, default=10)}
      data = validate(await request.json(), SCHEMA, prefix="body")

A field is named by a ``loc`` list (``["body", "inputs"]``) or a dotted string
(``"body.inputs"``, split into the list). Error entries are
``{"loc": [...], "msg": ..., "type": ...}`` with the codes of
:mod:`conduit.types.codes` (``int_parsing``, ``greater_than_equal``, ``array_shape``...).
Arrays are checked at the boundary (shape, dtype, finiteness, size) so kernels
never see malformed input (see DESIGN.md "The kernel contract"). ``Array`` is the
type layer's one ndarray spec, the same class ``conduit.binding.Array`` names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Callable

import numpy as np

from .exceptions import ValidationError
from .types import codes
from .types.arrays import check_array as _check_array
from .types.constraints import Array, Constraints, checker
from .types.errors import INVALID, Errors, Invalid, as_loc, error
from .types.text import parse_bool, parse_float, parse_int
from .types.walker import TypeWalker

_MISSING = Array().default
_WALKER = TypeWalker()
_JSON_INT = _WALKER.validator(int)
_JSON_FLOAT = _WALKER.validator(float)
_JSON_FLOAT_ANY = _WALKER.validator(Annotated[float, Constraints(allow_inf_nan=True)])


def _raise(errors: Errors) -> None:
    raise ValidationError(errors)


def _run(validate: Callable[[Any, tuple, Errors], Any], value: Any, field: Any) -> Any:
    errors: Errors = []
    result = validate(value, tuple(as_loc(field)), errors)
    if errors:
        _raise(errors)
    return result


def _text(parse: Callable[[str], Any], value: str, field: Any) -> Any:
    try:
        return parse(value.strip())
    except Invalid as exc:
        _raise([{"loc": as_loc(field), "msg": exc.msg, "type": exc.type}])


def _bounds(value: Any, field: Any, **bounds: Any) -> Any:
    check = checker({k: v for k, v in bounds.items() if v is not None}, "number")
    if check is not None:
        _run(lambda v, loc, errors: v if check(v, loc, errors) else INVALID, value, field)
    return value


# -------------------------------------------------------------- scalar checks

def check_int(value: Any, field: Any, *, ge: int | None = None, le: int | None = None,
              gt: int | None = None, lt: int | None = None) -> int:
    """An int (an int-valued string is accepted, a bool or a fractional number is not) within bounds."""
    if isinstance(value, str):
        value = _text(parse_int, value, field)
    elif isinstance(value, np.integer):
        value = int(value)
    else:
        value = _run(_JSON_INT, value, field)
    return _bounds(value, field, ge=ge, le=le, gt=gt, lt=lt)


def check_float(value: Any, field: Any, *, ge: float | None = None, le: float | None = None,
                gt: float | None = None, lt: float | None = None, allow_nan: bool = False) -> float:
    """A finite number (unless ``allow_nan``) within bounds; ints and numeric strings accepted."""
    if isinstance(value, str):
        value = _text(lambda text: parse_float(text, allow_nan), value, field)
    else:
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        value = _run(_JSON_FLOAT_ANY if allow_nan else _JSON_FLOAT, value, field)
    return _bounds(value, field, ge=ge, le=le, gt=gt, lt=lt)


def check_str(value: Any, field: Any, *, min_length: int = 0, max_length: int | None = None,
              pattern: str | re.Pattern[str] | None = None, choices: Iterable[str] | None = None) -> str:
    """A string with a length in range, matching ``pattern`` (full match) or one of ``choices``."""
    loc = tuple(as_loc(field))
    if not isinstance(value, str):
        _raise([{"loc": list(loc), "msg": f"expected a string, got {type(value).__name__}", "type": codes.STRING_TYPE}])
    errors: Errors = []
    check = checker({"min_length": min_length or None, "max_length": max_length}, "string")
    if check is not None:
        check(value, loc, errors)
    if pattern is not None and re.fullmatch(pattern, value) is None:
        error(errors, loc, f"should match the pattern {getattr(pattern, 'pattern', pattern)!r}",
              codes.STRING_PATTERN_MISMATCH)
    if choices is not None:
        options = list(choices)
        if value not in options:
            error(errors, loc, f"should be one of {options}", codes.ENUM)
    if errors:
        _raise(errors)
    return value


def check_bool(value: Any, field: Any) -> bool:
    """A bool, or one of the strings true/false/1/0/yes/no/on/off."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(parse_bool, value, field)
    _raise([{"loc": as_loc(field), "msg": f"expected a boolean, got {type(value).__name__}", "type": codes.BOOL_TYPE}])


def check_list(value: Any, field: Any, *, min_length: int = 0, max_length: int | None = None) -> list:
    """A JSON array (list or tuple) with a length in range."""
    if not isinstance(value, (list, tuple)):
        _raise([{"loc": as_loc(field), "msg": f"expected a list, got {type(value).__name__}", "type": codes.LIST_TYPE}])
    value = list(value)
    check = checker({"min_length": min_length or None, "max_length": max_length}, "array")
    if check is not None:
        _run(lambda v, loc, errors: v if check(v, loc, errors) else INVALID, value, field)
    return value


# ----------------------------------------------------------------- arrays

def check_array(value: Any, field: Any, *, shape: Sequence[int | None] | None = None,
                dtype: Any = "float32", ndim: int | None = None, max_size: int | None = 10_000_000,
                allow_nan: bool = False) -> np.ndarray:
    """A C-contiguous numpy array of ``dtype`` with the given ``shape`` (None = any length).

    Accepts nested lists (JSON) or arrays. Integers convert to a float dtype;
    floats never silently convert to an integer dtype (``[1.5]`` for ``int64`` is
    an error, ``[1.0]`` is accepted). NaN/inf are refused unless ``allow_nan``.
    ``dtype=None`` keeps the input's dtype (int64 or float64 for JSON numbers).
    """
    spec = Array(shape=tuple(shape) if shape is not None else None, dtype=dtype, ndim=ndim, max_size=max_size,
                 allow_nan=allow_nan)
    return _run(lambda v, loc, errors: _check_array(v, loc, errors, spec), value, field)


# ----------------------------------------------------------------- schemas

@dataclass(frozen=True)
class _Field:
    default: Any = _MISSING

    def check(self, value: Any, loc: Any) -> Any:  # pragma: no cover - abstract
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


def _check_field(spec: Any, value: Any, loc: list[Any]) -> Any:
    if isinstance(spec, Array):
        return check_array(value, loc, shape=spec.shape, dtype=spec.dtype, ndim=spec.ndim,
                           max_size=spec.max_size, allow_nan=spec.allow_nan)
    return spec.check(value, loc)


@dataclass(frozen=True)
class List(_Field):
    min_length: int = 0
    max_length: int | None = None
    items: Any = None

    def check(self, value, loc):
        items = check_list(value, loc, min_length=self.min_length, max_length=self.max_length)
        if self.items is None:
            return items
        out, errors = [], []
        for i, item in enumerate(items):
            try:
                out.append(_check_field(self.items, item, [*as_loc(loc), i]))
            except ValidationError as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)
        return out


def validate(data: Any, schema: Mapping[str, Any], *, prefix: Any = "body",
             allow_extra: bool = True) -> dict[str, Any]:
    """Check a JSON object against ``schema``; raise one ValidationError listing every bad field.

    ``schema`` maps names to ``Int``/``Float``/``Str``/``Bool``/``List``/``Array`` fields.
    """
    root = as_loc(prefix)
    if not isinstance(data, Mapping):
        _raise([{"loc": root, "msg": f"expected a JSON object, got {type(data).__name__}", "type": codes.DICT_TYPE}])
    out: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for name, spec in schema.items():
        loc = [*root, name]
        if name not in data:
            if spec.default is _MISSING:
                errors.append({"loc": loc, "msg": "field required", "type": codes.MISSING})
            else:
                out[name] = spec.default
            continue
        try:
            out[name] = _check_field(spec, data[name], loc)
        except ValidationError as exc:
            errors.extend(exc.errors)
    if not allow_extra:
        for name in data:
            if name not in schema:
                errors.append({"loc": [*root, name], "msg": "unexpected field", "type": codes.EXTRA_FORBIDDEN})
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
