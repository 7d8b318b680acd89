"""Python conversions of path parameters, keyed by the kernel's ``ParamKind``.

The kernel already checked the shape of typed parameters (``{id:int}`` only
matches digits), so these conversions cannot fail for pattern types; they can
for handler annotations (``/users/:id`` with ``id: int``), which is a 422.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

from conduit_kernels.route_table import ParamKind

CONVERTORS: dict[ParamKind, Callable[[str], Any]] = {
    ParamKind.INT: int,
    ParamKind.FLOAT: float,
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


def _to_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(text)


def annotation_convertor(annotation: Any) -> Callable[[str], Any] | None:
    """A str -> value conversion for a simple annotation, or None if none applies."""
    if annotation is bool:
        return _to_bool
    if annotation in (int, float, str, uuid.UUID):
        return annotation
    return None
