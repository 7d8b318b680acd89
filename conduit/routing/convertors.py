"""Python conversions of path parameters, keyed by the kernel's ``ParamKind``.

The kernel already checked the shape of typed parameters (``{id:int}`` only
matches digits, of any length), so these conversions cannot fail for pattern
types but two: an integer of more than 4,300 digits, which Python refuses to
parse, and a float of 309 or more digits, which overflows to infinity; each stays
text, and the binder reports it as a 422 (``int_parsing``, ``finite_number``). They
can fail for handler annotations (``/users/:id`` with ``id: int``), a 422 too.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

from conduit_kernels.route_table import ParamKind

from ..types.errors import Invalid
from ..types.text import MAX_INT_DIGITS, parse_bool, parse_float


def _to_int(text: str) -> int | str:
    # The kernel matched ``-?[0-9]+`` (after percent-decoding), so ``int`` sees nothing it would
    # read more loosely than the pattern (no spaces, underscores or non-ASCII digits);
    # the regex of ``parse_int`` would only check that again.
    if len(text) > MAX_INT_DIGITS + 1:
        return text  # too many digits: the binder reports it with the parameter's name
    try:
        return int(text)
    except ValueError:  # the interpreter's digit limit may be set lower
        return text


def _to_float(text: str) -> float | str:
    try:
        return parse_float(text)
    except Invalid:  # overflows to infinity
        return text


CONVERTORS: dict[ParamKind, Callable[[str], Any]] = {
    ParamKind.INT: _to_int,
    ParamKind.FLOAT: _to_float,
    ParamKind.UUID: uuid.UUID,
    ParamKind.STR: str,
    ParamKind.PATH: str,
}

#: The pattern type's name, for ``conduit routes`` and OpenAPI.
KIND_NAMES = {ParamKind.INT: "int", ParamKind.FLOAT: "float", ParamKind.UUID: "uuid",
              ParamKind.STR: "str", ParamKind.PATH: "path"}


class ParamConversionError(ValueError):
    """A path parameter that does not convert to the handler's annotation."""

    def __init__(self, name: str, value: str, type_name: str):
        super().__init__(f"path parameter {name!r}: {value!r} is not a valid {type_name}")
        self.name = name
        self.value = value
        self.type_name = type_name


def annotation_convertor(annotation: Any) -> Callable[[str], Any] | None:
    """A str -> value conversion for a simple annotation, or None if none applies."""
    if annotation is bool:
        return parse_bool  # raises Invalid, a ValueError
    if annotation in (int, float, str, uuid.UUID):
        return annotation
    return None
