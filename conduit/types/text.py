"""Text converters: one string (a query value, header, cookie, path segment, form field) -> a value.

The one bool parser, the one integer parser and the one float parser of Conduit
live here; :mod:`conduit.validation` and the router use them too. Each converter
raises :class:`~conduit.types.errors.Invalid` with a code from :mod:`.codes`;
:func:`text_converter` picks one per annotation, once, at registration.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import math
import re
import typing
import uuid
from typing import Any, Callable

from . import codes
from .errors import Invalid, Unsupported
from .kinds import NoneType, is_literal, is_union, strip_annotated, type_name

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = frozenset(("true", "1", "yes", "on"))
_FALSE = frozenset(("false", "0", "no", "off"))
#: Python refuses int(str) beyond this many digits (sys.get_int_max_str_digits); so do we, as a 422.
MAX_INT_DIGITS = 4300


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def parse_int(text: str) -> int:
    """A decimal integer (optional sign); at most 4,300 digits."""
    if _INT.fullmatch(text) is None:
        raise Invalid(f"{_short(text)} is not a valid integer", codes.INT_PARSING)
    if len(text) > MAX_INT_DIGITS + 1:
        raise Invalid(f"integer has more than {MAX_INT_DIGITS} digits", codes.INT_PARSING)
    try:
        return int(text)
    except ValueError:  # the interpreter's digit limit may be set lower
        raise Invalid("integer has too many digits", codes.INT_PARSING) from None


def parse_float(text: str, allow_inf_nan: bool = False) -> float:
    """A decimal number. ``inf``/``nan`` literals, and finite literals that overflow (``1e999``),
    are ``finite_number`` errors unless ``allow_inf_nan``."""
    if _FLOAT.fullmatch(text) is None:
        try:
            value = float(text)  # "inf", "nan", "-Infinity" (and "1_0", refused below)
        except ValueError:
            value = 0.0
        if math.isfinite(value) or "_" in text:
            raise Invalid(f"{_short(text)} is not a valid number", codes.FLOAT_PARSING)
        if not allow_inf_nan:
            raise Invalid(f"{_short(text)} is not a finite number", codes.FINITE_NUMBER)
        return value
    value = float(text)
    if not allow_inf_nan and math.isinf(value):
        raise Invalid(f"{_short(text)} is out of range for a finite number", codes.FINITE_NUMBER)
    return value


def parse_bool(text: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case, surrounding spaces ignored)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid(f"{_short(text)} is not a valid boolean (true/false/1/0/yes/no/on/off)", codes.BOOL_PARSING)


def parse_str(text: str) -> str:
    return text


def parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid(f"{_short(text)} is not a valid UUID", codes.UUID_PARSING) from None


def _iso(parse: Callable[[str], Any], what: str, code: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            raise Invalid(f"{_short(text)} is not a valid ISO 8601 {what}", code) from None
    convert.__name__ = f"parse_{what.replace('-', '')}"
    return convert


# fromisoformat (3.11+) accepts RFC 3339, a trailing "Z" included.
parse_datetime = _iso(dt.datetime.fromisoformat, "date-time", codes.DATETIME_PARSING)
parse_date = _iso(dt.date.fromisoformat, "date", codes.DATE_PARSING)
parse_time = _iso(dt.time.fromisoformat, "time", codes.TIME_PARSING)


def parse_decimal(text: str) -> decimal.Decimal:
    """A finite decimal in plain or exponent notation (no NaN, no infinity)."""
    if _FLOAT.fullmatch(text) is None or len(text) > MAX_INT_DIGITS:
        raise Invalid(f"{_short(text)} is not a valid decimal", codes.DECIMAL_PARSING)
    return decimal.Decimal(text)


def parse_bytes(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    cleaned = text.strip()
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), altchars=b"-_" if ("-" in cleaned or "_" in cleaned) else None,
                                validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{_short(text)} is not valid base64", codes.BYTES_INVALID_ENCODING) from None


#: The converter of each scalar annotation.
SCALARS: dict[Any, Callable[[str], Any]] = {
    int: parse_int, float: parse_float, bool: parse_bool, str: parse_str, uuid.UUID: parse_uuid,
    dt.datetime: parse_datetime, dt.date: parse_date, dt.time: parse_time, decimal.Decimal: parse_decimal,
    bytes: parse_bytes,
}


def _choices(values: dict[str, Any]) -> Callable[[str], Any]:
    allowed = ", ".join(repr(v) for v in values)

    def convert(text: str) -> Any:
        try:
            return values[text]
        except KeyError:
            raise Invalid(f"{_short(text)} is not one of {allowed}", codes.ENUM) from None
    return convert


def text_converter(tp: Any, allow_inf_nan: bool = False) -> Callable[[str], Any]:
    """The ``str -> value`` conversion for a scalar annotation (raises :class:`Unsupported`)."""
    tp, _ = strip_annotated(tp)
    if tp is float and allow_inf_nan:
        return lambda text: parse_float(text, True)
    if tp in SCALARS:
        return SCALARS[tp]
    if tp is Any or tp is object:
        return parse_str
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _choices({str(member.value): member for member in tp})
    if is_literal(tp):
        return _choices({str(v).lower() if isinstance(v, bool) else str(v.value if isinstance(v, enum.Enum) else v): v
                         for v in typing.get_args(tp)})
    if is_union(tp):
        members = [a for a in typing.get_args(tp) if a is not NoneType]
        converters = [text_converter(a, allow_inf_nan) for a in members]
        if len(converters) == 1:
            return converters[0]
        name = type_name(tp)

        def convert(text: str) -> Any:
            for one in converters:
                try:
                    return one(text)
                except Invalid:
                    pass
            raise Invalid(f"{_short(text)} is not a valid {name}", codes.UNION_TYPE)
        return convert
    raise Unsupported(f"cannot convert a string to {type_name(tp)}")


__all__ = ["MAX_INT_DIGITS", "SCALARS", "parse_bool", "parse_bytes", "parse_date", "parse_datetime", "parse_decimal",
           "parse_float", "parse_int", "parse_str", "parse_time", "parse_uuid", "text_converter"]
