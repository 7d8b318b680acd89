"""How a failed conversion is reported: :class:`Invalid`, :data:`INVALID`, error entries, locations.

Validators never raise for bad input: they append ``{"loc", "msg", "type"}``
entries to a list and return :data:`INVALID`, so one pass reports every failing
field. Text converters (one string in, one value out) raise :class:`Invalid`
instead; the caller knows the location. :class:`Unsupported` is the
registration-time error for an annotation nothing can convert.
"""

from __future__ import annotations

import re
from typing import Any, Callable

#: What a validator returns after recording at least one error entry.
INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID", "__bool__": lambda self: False})()

Loc = tuple[Any, ...]
Errors = list[dict[str, Any]]
#: ``validate(value, loc, errors) -> converted value | INVALID``.
Validator = Callable[[Any, Loc, Errors], Any]


class Invalid(ValueError):
    """One text value that does not convert; ``type`` is a code from :mod:`conduit.types.codes`."""

    def __init__(self, msg: str, type: str):
        super().__init__(msg)
        self.msg = msg
        self.type = type


class Unsupported(TypeError):
    """An annotation (or a constraint on it) that no converter exists for: a registration-time error."""


def error(errors: Errors, loc: Loc, msg: str, type: str) -> Any:
    """Record one entry and return :data:`INVALID` (so validators can ``return error(...)``)."""
    errors.append({"loc": list(loc), "msg": msg, "type": type})
    return INVALID


_PART = re.compile(r"\[(-?\d+)\]|\.?([^.\[\]]+)")


def as_loc(loc: Any) -> list[Any]:
    """A location as a list: lists and tuples are kept, a legacy dotted string is split.

    >>> as_loc("body.items[3].price")
    ['body', 'items', 3, 'price']
    """
    if isinstance(loc, (list, tuple)):
        return list(loc)
    if loc is None or loc == "":
        return []
    if not isinstance(loc, str):
        return [loc]
    return [int(index) if index else key for index, key in _PART.findall(loc)]


def got(value: Any) -> str:
    """The JSON name of a value's type, for messages (``expected integer, got string``)."""
    if value is None:
        return "null"
    return _JSON_NAMES.get(type(value), type(value).__name__)


_JSON_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}

__all__ = ["INVALID", "Errors", "Invalid", "Loc", "Unsupported", "Validator", "as_loc", "error", "got"]
