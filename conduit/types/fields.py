"""Text fields: a parameter read from one string (or a repeated one), with its constraints.

Query, header, cookie, path and form values arrive as text; ``list[X]`` query and
header parameters arrive as several texts. :func:`text_field` builds, once, the
item converter and the constraint check of such a parameter from the same
annotation (and marker) the schema is built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .constraints import checker, constraints_of
from .errors import Errors, Loc
from .kinds import constraint_kind, optional_inner, sequence_item, strip_annotated, type_name
from .text import text_converter


@dataclass(frozen=True)
class TextField:
    """``convert(text) -> value`` (per item when ``is_list``) and ``check(value, loc, errors) -> ok`` or None."""

    convert: Callable[[str], Any]
    check: Callable[[Any, Loc, Errors], bool] | None
    is_list: bool


def text_field(annotation: Any, extra: tuple[Any, ...] = (), allow_list: bool = True) -> TextField:
    """The text field for ``annotation`` plus ``extra`` metadata (a marker given as the default).

    Raises :class:`~conduit.types.errors.Unsupported` for a type no text converts to
    and for a constraint that does not apply to the type.
    """
    base, metadata = strip_annotated(annotation)
    metadata = metadata + extra
    inner = optional_inner(base)[0]
    constraints = constraints_of(metadata)
    allow_inf_nan = bool(constraints.pop("allow_inf_nan", False))
    item = sequence_item(inner) if allow_list else None
    convert = text_converter(item if item is not None else inner, allow_inf_nan)
    check = checker(constraints, constraint_kind(inner), type_name(inner)) if constraints else None
    return TextField(convert, check, item is not None)


__all__ = ["TextField", "text_field"]
