"""JSON scalars: the validators (and schemas) of int, float, str, bool, None, UUID, dates, Decimal, bytes, Any.

Strict JSON types, as JSON Schema reads them: ``true`` is not an integer, ``"5"``
is not a number; an integer-valued number is an integer only while it is exact
(up to 2^53); floats are finite unless a field allows infinity and NaN. Strings
that carry a type (UUID, dates, Decimal, base64 bytes) go through the text
parsers of :mod:`.text`, so a query value and a JSON string convert alike.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import uuid
from typing import Any, Callable

from . import codes, text
from .errors import Errors, Invalid, Loc, Validator, error, got
from .kinds import NoneType

#: Integers up to this magnitude are exact in a float; beyond it a float "integer" may have been rounded.
EXACT_FLOAT_INT = 2 ** 53


# ------------------------------------------------------------------ scalar validators

def _int(value: Any, loc: Loc, errors: Errors) -> Any:
    if type(value) is int:
        return value
    if type(value) is float:
        if not value.is_integer():
            return error(errors, loc, "expected integer, got a number with a fractional part", codes.INT_TYPE)
        if abs(value) > EXACT_FLOAT_INT:  # 1e30, or an integer literal a float parser rounded
            return error(errors, loc, "expected integer, got a number too large to be exact", codes.INT_TYPE)
        return int(value)
    return error(errors, loc, f"expected integer, got {got(value)}", codes.INT_TYPE)


def float_validator(allow_inf_nan: bool) -> Validator:
    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        kind = type(value)
        if kind is float:
            if allow_inf_nan or math.isfinite(value):
                return value
            return error(errors, loc, "expected a finite number", codes.FINITE_NUMBER)
        if kind is int:
            try:
                return float(value)
            except OverflowError:
                return error(errors, loc, "expected a finite number, got an integer beyond the float range",
                             codes.FINITE_NUMBER)
        return error(errors, loc, f"expected number, got {got(value)}", codes.FLOAT_TYPE)
    return validate


def _exact(kind: type, name: str, code: str) -> Validator:
    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        if type(value) is kind:
            return value
        return error(errors, loc, f"expected {name}, got {got(value)}", code)
    return validate


def _none(value: Any, loc: Loc, errors: Errors) -> Any:
    if value is None:
        return None
    return error(errors, loc, f"expected null, got {got(value)}", codes.NONE_REQUIRED)


def _from_string(parse: Callable[[str], Any], expected: str, code: str) -> Validator:
    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        if type(value) is not str:
            return error(errors, loc, f"expected {expected} string, got {got(value)}", code)
        try:
            return parse(value)
        except Invalid as exc:
            return error(errors, loc, exc.msg, exc.type)
    return validate


def _decimal(value: Any, loc: Loc, errors: Errors) -> Any:
    kind = type(value)
    if kind is int:
        return decimal.Decimal(value)
    if kind is float:
        if not math.isfinite(value):
            return error(errors, loc, "expected a finite number", codes.FINITE_NUMBER)
        return decimal.Decimal(repr(value))
    if kind is str:
        try:
            return text.parse_decimal(value)
        except Invalid as exc:
            return error(errors, loc, exc.msg, exc.type)
    return error(errors, loc, f"expected a decimal number or numeric string, got {got(value)}",
                 codes.DECIMAL_PARSING)


def _bytes(value: Any, loc: Loc, errors: Errors) -> Any:
    if type(value) is not str:
        return error(errors, loc, f"expected base64 text, got {got(value)}", codes.BYTES_TYPE)
    try:
        return text.parse_bytes(value)
    except Invalid as exc:
        return error(errors, loc, exc.msg, exc.type)


def any_value(value: Any, loc: Loc, errors: Errors) -> Any:
    return value


_DECIMAL_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"}]}

#: Scalar annotations: (schema, validator). Floats are built per annotation (allow_inf_nan).
SCALARS: dict[Any, tuple[dict[str, Any], Validator]] = {
    int: ({"type": "integer"}, _int),
    str: ({"type": "string"}, _exact(str, "string", codes.STRING_TYPE)),
    bool: ({"type": "boolean"}, _exact(bool, "boolean", codes.BOOL_TYPE)),
    NoneType: ({"type": "null"}, _none),
    None: ({"type": "null"}, _none),
    uuid.UUID: ({"type": "string", "format": "uuid"}, _from_string(text.parse_uuid, "a UUID", codes.UUID_PARSING)),
    dt.datetime: ({"type": "string", "format": "date-time"},
                  _from_string(text.parse_datetime, "an ISO 8601 date-time", codes.DATETIME_PARSING)),
    dt.date: ({"type": "string", "format": "date"}, _from_string(text.parse_date, "an ISO 8601 date", codes.DATE_PARSING)),
    dt.time: ({"type": "string", "format": "time"}, _from_string(text.parse_time, "an ISO 8601 time", codes.TIME_PARSING)),
    decimal.Decimal: (_DECIMAL_SCHEMA, _decimal),
    bytes: ({"type": "string", "contentEncoding": "base64"}, _bytes),
    Any: ({}, any_value),
    object: ({}, any_value),
}


def json_default(value: Any) -> Any:
    """A default as JSON, or ``...`` if it has no plain JSON form."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [json_default(v) for v in value]
        return ... if any(v is ... for v in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: json_default(v) for k, v in value.items()}
        return ... if any(v is ... for v in items.values()) else items
    if isinstance(value, (uuid.UUID, dt.date, dt.time, decimal.Decimal)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return ...


def choice_validator(choices: dict[Any, Any]) -> Validator:
    """Exact JSON values -> members (``True`` is not ``1``, ``"1"`` is not ``1``)."""
    allowed = ", ".join(repr(c) for c in choices)
    kinds = {type(c) for c in choices}
    numeric = bool(kinds & {int, float})

    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        kind = type(value)
        if kind in kinds or (numeric and kind in (int, float)):
            try:
                return choices[value]
            except (KeyError, TypeError):
                pass
        return error(errors, loc, f"expected one of {allowed}, got {value!r}"[:200], codes.ENUM)
    return validate


__all__ = ["EXACT_FLOAT_INT", "SCALARS", "any_value", "choice_validator", "float_validator", "json_default"]
