"""Converters and validators, compiled once per annotation and called per request.

Two families:

* :func:`text_converter` turns one string (a query value, a header, a cookie, a
  path segment) into the annotated type, or raises :class:`Invalid`.
* :func:`json_validator` checks and converts a decoded JSON value against an
  annotation (scalars, containers, dataclasses, TypedDicts, msgspec Structs,
  pydantic models, numpy arrays), appending *every* failure to ``errors`` as
  ``{"loc": "body.items[3].price", "msg": ..., "type": ...}``.

Each returns the converted value, or :data:`INVALID` once it has recorded errors.
Constraints (``ge``, ``max_length``, ``pattern``...) are read by duck typing from
``Annotated`` metadata: Conduit's markers, ``annotated_types`` and ``msgspec.Meta``
all expose the same attribute names.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import datetime as dt
import enum
import re
import typing
import uuid
from typing import Any, Callable

from .markers import Array
from .typeinfo import (
    NoneType,
    is_dataclass_type,
    is_literal,
    is_ndarray,
    is_pydantic,
    is_struct,
    is_typeddict,
    is_union,
    sequence_item,
    strip_annotated,
    type_name,
)

INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID"})()

Errors = list[dict[str, Any]]
Validator = Callable[[Any, str, Errors], Any]


class Invalid(ValueError):
    """A text value that does not convert; ``type`` is the error code in the 422."""

    def __init__(self, msg: str, type: str = "invalid_type"):
        super().__init__(msg)
        self.msg = msg
        self.type = type


class Unsupported(TypeError):
    """An annotation no converter exists for (a registration-time error)."""


# ------------------------------------------------------------------ text values

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = frozenset(("true", "1", "yes", "on"))
_FALSE = frozenset(("false", "0", "no", "off"))


def _text_int(text: str) -> int:
    if _INT.fullmatch(text) is None:
        raise Invalid(f"{text!r} is not a valid integer", "int_parsing")
    return int(text)


def _text_float(text: str) -> float:
    if _FLOAT.fullmatch(text) is None:
        raise Invalid(f"{text!r} is not a valid number", "float_parsing")
    return float(text)


def _text_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid(f"{text!r} is not a valid boolean (true/false/1/0/yes/no)", "bool_parsing")


def _text_str(text: str) -> str:
    return text


def _text_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a valid UUID", "uuid_parsing") from None


def _parse_datetime(text: str) -> dt.datetime:
    # fromisoformat (3.11) accepts RFC 3339 including a trailing "Z".
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a valid ISO 8601 date-time", "datetime_parsing") from None


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a valid ISO 8601 date", "date_parsing") from None


def _parse_time(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a valid ISO 8601 time", "time_parsing") from None


_TEXT_SCALARS: dict[Any, Callable[[str], Any]] = {
    int: _text_int, float: _text_float, bool: _text_bool, str: _text_str,
    uuid.UUID: _text_uuid, dt.datetime: _parse_datetime, dt.date: _parse_date, dt.time: _parse_time,
}


def _enum_from(tp: type[enum.Enum], values: dict[str, Any]) -> Callable[[str], Any]:
    choices = ", ".join(repr(v) for v in values)

    def convert(text: str) -> Any:
        try:
            return values[text]
        except KeyError:
            raise Invalid(f"{text!r} is not one of {choices}", "enum") from None
    return convert


def text_converter(tp: Any) -> Callable[[str], Any]:
    """A ``str -> value`` conversion for a scalar annotation (raises :class:`Unsupported`)."""
    tp, _ = strip_annotated(tp)
    if tp in _TEXT_SCALARS:
        return _TEXT_SCALARS[tp]
    if tp is Any or tp is object:
        return _text_str
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_from(tp, {str(member.value): member for member in tp})
    if is_literal(tp):
        return _enum_from(tp, {str(v).lower() if isinstance(v, bool) else str(v): v for v in typing.get_args(tp)})
    if is_union(tp):
        members = [a for a in typing.get_args(tp) if a is not NoneType]
        converters = [text_converter(a) for a in members]

        def convert(text: str) -> Any:
            for one in converters:
                try:
                    return one(text)
                except Invalid:
                    pass
            raise Invalid(f"{text!r} is not a valid {type_name(tp)}", "invalid_type")
        return convert
    raise Unsupported(f"cannot convert a string to {type_name(tp)}")


# ------------------------------------------------------------------ constraints

_CONSTRAINTS = ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern", "multiple_of")


def constraints_of(metadata: tuple[Any, ...]) -> dict[str, Any]:
    """Collect constraint attributes from ``Annotated`` metadata (later ones win)."""
    found: dict[str, Any] = {}
    for item in metadata:
        for name in _CONSTRAINTS:
            value = getattr(item, name, None)
            if value is not None and not callable(value):
                found[name] = value
    return found


def constraint_checker(constraints: dict[str, Any]) -> Callable[[Any, str, Errors], bool] | None:
    """A check ``(value, loc, errors) -> ok`` for ``constraints``, or None when there are none."""
    if not constraints:
        return None
    checks: list[Callable[[Any], tuple[str, str] | None]] = []
    c = constraints
    if "ge" in c:
        checks.append(lambda v, b=c["ge"]: None if v >= b else (f"must be greater than or equal to {b}", "greater_than_equal"))
    if "gt" in c:
        checks.append(lambda v, b=c["gt"]: None if v > b else (f"must be greater than {b}", "greater_than"))
    if "le" in c:
        checks.append(lambda v, b=c["le"]: None if v <= b else (f"must be less than or equal to {b}", "less_than_equal"))
    if "lt" in c:
        checks.append(lambda v, b=c["lt"]: None if v < b else (f"must be less than {b}", "less_than"))
    if "multiple_of" in c:
        checks.append(lambda v, b=c["multiple_of"]: None if v % b == 0 else (f"must be a multiple of {b}", "multiple_of"))
    if "min_length" in c:
        checks.append(lambda v, b=c["min_length"]: None if len(v) >= b else (f"must have at least {b} items/characters", "too_short"))
    if "max_length" in c:
        checks.append(lambda v, b=c["max_length"]: None if len(v) <= b else (f"must have at most {b} items/characters", "too_long"))
    if "pattern" in c:
        regex = re.compile(c["pattern"])
        checks.append(lambda v, r=regex: None if r.search(v) else (f"must match pattern {r.pattern!r}", "pattern_mismatch"))

    def check(value: Any, loc: str, errors: Errors) -> bool:
        ok = True
        for one in checks:
            try:
                failure = one(value)
            except TypeError:  # e.g. len() of an int: the type check reports it
                continue
            if failure is not None:
                errors.append({"loc": loc, "msg": failure[0], "type": failure[1]})
                ok = False
        return ok
    return check


# ------------------------------------------------------------------ JSON values

def _error(errors: Errors, loc: str, msg: str, type: str = "invalid_type") -> Any:
    errors.append({"loc": loc, "msg": msg, "type": type})
    return INVALID


def _got(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _scalar(check: Callable[[Any], bool], expected: str) -> Validator:
    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if check(value):
            return value
        return _error(errors, loc, f"expected {expected}, got {_got(value)}")
    return validate


def _from_string(parse: Callable[[str], Any], expected: str) -> Validator:
    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if not isinstance(value, str):
            return _error(errors, loc, f"expected {expected} string, got {_got(value)}")
        try:
            return parse(value)
        except Invalid as exc:
            return _error(errors, loc, exc.msg, exc.type)
    return validate


def _validate_float(value: Any, loc: str, errors: Errors) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    return _error(errors, loc, f"expected number, got {_got(value)}")


def _validate_int(value: Any, loc: str, errors: Errors) -> Any:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():  # JSON Schema: 36.0 is an integer
        return int(value)
    return _error(errors, loc, f"expected integer, got {_got(value)}")


def _any(value: Any, loc: str, errors: Errors) -> Any:
    return value


_JSON_SCALARS: dict[Any, Validator] = {
    int: _validate_int,
    float: _validate_float,
    str: _scalar(lambda v: type(v) is str, "string"),
    bool: _scalar(lambda v: type(v) is bool, "boolean"),
    NoneType: _scalar(lambda v: v is None, "null"),
    None: _scalar(lambda v: v is None, "null"),
    uuid.UUID: _from_string(_text_uuid, "a UUID"),
    dt.datetime: _from_string(_parse_datetime, "an ISO 8601 date-time"),
    dt.date: _from_string(_parse_date, "an ISO 8601 date"),
    dt.time: _from_string(_parse_time, "an ISO 8601 time"),
    Any: _any,
    object: _any,
    dict: _scalar(lambda v: type(v) is dict, "object"),
}

_cache: dict[Any, Validator] = {}


def json_validator(tp: Any) -> Validator:
    """The validator for annotation ``tp`` (cached; raises :class:`Unsupported`)."""
    try:
        return _cache[tp]
    except (KeyError, TypeError):
        pass
    try:
        hash(tp)
    except TypeError:
        return _build(tp)
    # Recursive types (a dataclass that contains itself) find this trampoline.
    slot: list[Validator] = []
    _cache[tp] = lambda value, loc, errors: slot[0](value, loc, errors)
    try:
        validator = _build(tp)
    except BaseException:
        del _cache[tp]
        raise
    slot.append(validator)
    _cache[tp] = validator
    return validator


def _build(tp: Any) -> Validator:
    base, metadata = strip_annotated(tp)
    inner = _build_plain(base, metadata)
    check = constraint_checker(constraints_of(metadata))
    if check is None:
        return inner

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        value = inner(value, loc, errors)
        if value is INVALID or not check(value, loc, errors):
            return INVALID
        return value
    return validate


def _build_plain(tp: Any, metadata: tuple[Any, ...]) -> Validator:
    if tp in _JSON_SCALARS:
        return _JSON_SCALARS[tp]
    if is_ndarray(tp):
        return _ndarray_validator(tp, metadata)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        by_value = {member.value: member for member in tp}
        return _choice_validator(by_value, tp.__name__)
    if is_literal(tp):
        return _choice_validator({v: v for v in typing.get_args(tp)}, type_name(tp))
    if is_union(tp):
        return _union_validator(tp)
    if is_pydantic(tp):
        return _pydantic_validator(tp)
    if is_struct(tp):
        return _struct_validator(tp)
    if is_dataclass_type(tp):
        return _dataclass_validator(tp)
    if is_typeddict(tp):
        return _typeddict_validator(tp)
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if args and not (len(args) == 2 and args[1] is Ellipsis):
            return _fixed_tuple_validator([json_validator(a) for a in args])
    item = sequence_item(tp)
    if item is not None:
        container = origin if origin in (set, frozenset, tuple) else (tp if tp in (set, frozenset, tuple) else list)
        return _sequence_validator(json_validator(item), container)
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        key_type, value_type = (typing.get_args(tp) or (str, Any))
        return _mapping_validator(key_type, json_validator(value_type))
    raise Unsupported(f"cannot decode JSON into {type_name(tp)}")


def _choice_validator(choices: dict[Any, Any], name: str) -> Validator:
    allowed = ", ".join(repr(c) for c in choices)

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        try:
            found = choices[value]
        except (KeyError, TypeError):
            return _error(errors, loc, f"expected one of {allowed}, got {value!r}", "enum")
        if type(value) is bool and not any(type(c) is bool for c in choices):  # True == 1
            return _error(errors, loc, f"expected one of {allowed}, got {value!r}", "enum")
        return found
    return validate


def _union_validator(tp: Any) -> Validator:
    args = typing.get_args(tp)
    nullable = NoneType in args
    members = [json_validator(a) for a in args if a is not NoneType]
    name = type_name(tp)
    if len(members) == 1:
        only = members[0]

        def validate_optional(value: Any, loc: str, errors: Errors) -> Any:
            if value is None and nullable:
                return None
            return only(value, loc, errors)
        return validate_optional

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if value is None and nullable:
            return None
        for member in members:
            scratch: Errors = []
            result = member(value, loc, scratch)
            if result is not INVALID:
                return result
        return _error(errors, loc, f"expected {name}, got {_got(value)}")
    return validate


def _sequence_validator(item: Validator, container: type) -> Validator:
    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if type(value) is not list:
            return _error(errors, loc, f"expected array, got {_got(value)}")
        out = []
        failed = False
        for i, element in enumerate(value):
            result = item(element, f"{loc}[{i}]", errors)
            if result is INVALID:
                failed = True
            out.append(result)
        if failed:
            return INVALID
        if container is list:
            return out
        try:
            return container(out)
        except TypeError:
            return _error(errors, loc, "items must be hashable")
    return validate


def _fixed_tuple_validator(items: list[Validator]) -> Validator:
    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if type(value) is not list:
            return _error(errors, loc, f"expected array, got {_got(value)}")
        if len(value) != len(items):
            return _error(errors, loc, f"expected {len(items)} items, got {len(value)}", "length")
        out = [one(element, f"{loc}[{i}]", errors) for i, (one, element) in enumerate(zip(items, value))]
        return INVALID if any(v is INVALID for v in out) else tuple(out)
    return validate


def _mapping_validator(key_type: Any, value_validator: Validator) -> Validator:
    key_convert = None if key_type in (str, Any) else text_converter(key_type)

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if type(value) is not dict:
            return _error(errors, loc, f"expected object, got {_got(value)}")
        out = {}
        failed = False
        for key, element in value.items():
            if key_convert is not None:
                try:
                    key = key_convert(key)
                except Invalid as exc:
                    _error(errors, f"{loc}.{key}", f"key: {exc.msg}", exc.type)
                    failed = True
                    continue
            result = value_validator(element, f"{loc}.{key}", errors)
            failed = failed or result is INVALID
            out[key] = result
        return INVALID if failed else out
    return validate


def _dataclass_validator(cls: type) -> Validator:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields.append((f.name, json_validator(hints.get(f.name, Any)), required))
    name = cls.__name__

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if type(value) is not dict:
            return _error(errors, loc, f"expected object ({name}), got {_got(value)}")
        kwargs = {}
        failed = False
        for field_name, field_validator, required in fields:
            if field_name in value:
                result = field_validator(value[field_name], f"{loc}.{field_name}", errors)
                if result is INVALID:
                    failed = True
                else:
                    kwargs[field_name] = result
            elif required:
                _error(errors, f"{loc}.{field_name}", "field required", "missing")
                failed = True
        if failed:
            return INVALID
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:  # __post_init__ checks
            return _error(errors, loc, str(exc), "value_error")
    return validate


def _typeddict_validator(cls: type) -> Validator:
    hints = typing.get_type_hints(cls, include_extras=True)
    required = frozenset(cls.__required_keys__)
    fields = [(name, json_validator(hint), name in required) for name, hint in hints.items()]
    name = cls.__name__

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if type(value) is not dict:
            return _error(errors, loc, f"expected object ({name}), got {_got(value)}")
        out = {}
        failed = False
        for field_name, field_validator, is_required in fields:
            if field_name in value:
                result = field_validator(value[field_name], f"{loc}.{field_name}", errors)
                failed = failed or result is INVALID
                out[field_name] = result
            elif is_required:
                _error(errors, f"{loc}.{field_name}", "field required", "missing")
                failed = True
        return INVALID if failed else out
    return validate


_MSGSPEC_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _struct_validator(cls: type) -> Validator:
    import msgspec

    # Our own walk over the fields finds every type error (msgspec stops at the
    # first); msgspec.convert then builds the Struct and applies its Meta constraints.
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for info in msgspec.structs.fields(cls):
        try:
            field_validator = json_validator(hints.get(info.name, Any))
        except Unsupported:
            field_validator = _any
        required = info.required
        fields.append((info.name, info.encode_name, field_validator, required))

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        try:
            return msgspec.convert(value, cls)
        except msgspec.ValidationError as exc:
            failure = str(exc)
        if type(value) is not dict:
            return _error(errors, loc, f"expected object ({cls.__name__}), got {_got(value)}")
        before = len(errors)
        for field_name, key, field_validator, required in fields:
            if key in value:
                field_validator(value[key], f"{loc}.{key}", errors)
            elif required:
                _error(errors, f"{loc}.{key}", "field required", "missing")
        if len(errors) == before:
            match = _MSGSPEC_PATH.match(failure)
            _error(errors, loc + (match.group("path") or ""), match.group("msg"), "value_error")
        return INVALID
    return validate


def _pydantic_validator(cls: type) -> Validator:
    import pydantic

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        try:
            return cls.model_validate(value)
        except pydantic.ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = loc
                for part in error["loc"]:
                    where += f"[{part}]" if isinstance(part, int) else f".{part}"
                errors.append({"loc": where, "msg": error["msg"], "type": error["type"]})
            return INVALID
    return validate


def array_spec(tp: Any, metadata: tuple[Any, ...]) -> tuple[tuple[int | None, ...] | None, Any]:
    """(shape, dtype) of an ndarray annotation: from an :class:`Array` marker or ``NDArray[dtype]``."""
    import numpy as np

    shape, dtype = None, None
    args = typing.get_args(tp)
    if len(args) == 2:
        dtype_args = typing.get_args(args[1])
        if dtype_args and dtype_args[0] is not Any:
            dtype = np.dtype(dtype_args[0])
    for item in metadata:
        if isinstance(item, Array):
            shape = tuple(item.shape) if item.shape is not None else shape
            dtype = np.dtype(item.dtype) if item.dtype is not None else dtype
    return shape, dtype


def _has_bool(value: Any) -> bool:
    """True if a nested list holds a JSON boolean (numpy would silently read it as 0/1)."""
    if type(value) is not list:
        return type(value) is bool
    if value and type(value[0]) is list:
        return any(_has_bool(row) for row in value)
    return bool in set(map(type, value))


def _ndarray_validator(tp: Any, metadata: tuple[Any, ...]) -> Validator:
    import numpy as np

    shape, dtype = array_spec(tp, metadata)
    numeric_kinds = "b" if dtype is not None and dtype.kind == "b" else "iuf" if dtype is None or dtype.kind == "f" else "iu"
    items_are = {"b": "booleans", "iuf": "numbers", "iu": "integers"}[numeric_kinds]
    expected = None if shape is None else "(" + ", ".join("*" if d is None else str(d) for d in shape) + ")"

    def validate(value: Any, loc: str, errors: Errors) -> Any:
        if type(value) not in (list, int, float, bool):
            return _error(errors, loc, f"expected an array (nested lists), got {_got(value)}")
        try:
            array = np.asarray(value)  # no dtype yet: null or strings must not become NaN
        except (ValueError, TypeError, OverflowError) as exc:
            return _error(errors, loc, f"not a valid array (ragged or too large?): {exc}", "array_invalid")
        if array.dtype.kind not in numeric_kinds or (numeric_kinds != "b" and _has_bool(value)):
            return _error(errors, loc, f"array items must be {items_are}", "array_invalid")
        if array.size == 0 and shape is not None and array.ndim < len(shape):
            array = array.reshape((0,) + tuple(d or 0 for d in shape[1:]))
        if dtype is not None and array.dtype != dtype:
            try:
                array = array.astype(dtype, casting="same_kind" if dtype.kind in "iub" else "unsafe")
            except TypeError:
                return _error(errors, loc, f"array items must be {items_are}", "array_invalid")
        if shape is not None and (array.ndim != len(shape) or any(
                want is not None and want != got for want, got in zip(shape, array.shape))):
            return _error(errors, loc, f"expected shape {expected}, got {tuple(array.shape)}", "array_shape")
        return array
    return validate


__all__ = ["INVALID", "Invalid", "Unsupported", "array_spec", "constraint_checker", "constraints_of",
           "json_validator", "text_converter"]
