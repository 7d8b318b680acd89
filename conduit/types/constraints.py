"""The one constraint marker and the rules each constraint stands for, in one table.

:class:`Constraints` is the base of every marker users write: the HTTP parameter
markers (``Query``, ``Path``, ``Header``, ``Cookie``, ``Body``, ``Form``, ``File``,
all subclasses of ``Param``) and MCP's ``Field`` add a source or nothing to it.
Constraints are read by duck typing from ``Annotated`` metadata, so Conduit's
markers, ``annotated_types`` (``Ge(1)``, ``MaxLen(5)``), ``msgspec.Meta`` and
pydantic's ``FieldInfo`` (its ``.metadata``) all count.

Each constraint has one row in :data:`RULES`: the JSON Schema keyword it becomes
and the check the validator runs, so the document and the server cannot disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from . import codes
from .errors import Errors, Loc, Unsupported, error

NUMBER_NAMES = ("ge", "gt", "le", "lt", "multiple_of")
LENGTH_NAMES = ("min_length", "max_length")
NAMES = NUMBER_NAMES + LENGTH_NAMES + ("pattern",)


@dataclass(frozen=True, eq=False, kw_only=True)
class Constraints:
    """What a value must satisfy, and how it is documented.

    ``ge``/``gt``/``le``/``lt``/``multiple_of`` bound numbers; ``min_length``/``max_length``
    bound strings, lists and objects; ``pattern`` is a regular expression a string
    must contain (``re.search``; anchor it with ``^...$`` for a full match).
    ``allow_inf_nan=True`` lets a float field take infinity and NaN (refused by default).
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    multiple_of: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    allow_inf_nan: bool | None = None
    description: str | None = None
    title: str | None = None
    examples: list[Any] | None = None


@dataclass(frozen=True, eq=False)
class Array:
    """Shape and dtype of a ``numpy.ndarray`` parameter, field or argument, decoded from nested lists.

    ``shape`` uses ``None`` for a free dimension: ``Array(shape=(None, 4), dtype="float32")``.
    ``dtype=None`` keeps the numbers' natural dtype (int64 for all-integer input,
    float64 otherwise). ``ndim`` fixes the number of dimensions without fixing
    sizes; ``max_size`` bounds the element count; NaN and infinity are refused
    unless ``allow_nan``. ``default`` is used by :func:`conduit.validation.validate`.
    """

    shape: tuple[int | None, ...] | None = None
    dtype: Any = None
    ndim: int | None = None
    max_size: int | None = 10_000_000
    allow_nan: bool = False
    description: str | None = None
    default: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


def _flatten(metadata: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for item in metadata:
        out.append(item)
        inner = getattr(item, "metadata", None)  # pydantic FieldInfo keeps annotated_types objects here
        if isinstance(inner, (list, tuple)):
            out.extend(inner)
    return out


def constraints_of(metadata: tuple[Any, ...]) -> dict[str, Any]:
    """Constraint values from ``Annotated`` metadata (later ones win); includes ``allow_inf_nan``."""
    found: dict[str, Any] = {}
    for item in _flatten(metadata):
        if isinstance(item, (str, type)) or item is None:
            continue
        for name in NAMES + ("allow_inf_nan",):
            value = getattr(item, name, None)
            if value is not None and not callable(value):
                found[name] = value
    return found


def documentation_of(metadata: tuple[Any, ...]) -> dict[str, Any]:
    """``description``/``title``/``examples`` for the schema; a bare string in Annotated is a description."""
    found: dict[str, Any] = {}
    for item in _flatten(metadata):
        if isinstance(item, str):
            found["description"] = item
            continue
        if isinstance(item, type):
            continue
        for name in ("description", "title"):
            value = getattr(item, name, None)
            if isinstance(value, str):
                found[name] = value
        examples = getattr(item, "examples", None)
        if isinstance(examples, list):
            found["examples"] = examples
    return found


# ------------------------------------------------------------------ the table

# kind: "number" | "string" | "array" | "object"; a row: (schema keyword by kind, failure test, message, code by kind)
_Test = Callable[[Any, Any], bool]
RULES: dict[str, tuple[dict[str, str], _Test, str, dict[str, str]]] = {
    "ge": ({"number": "minimum"}, lambda v, b: v < b, "greater than or equal to {}", {"number": codes.GREATER_THAN_EQUAL}),
    "gt": ({"number": "exclusiveMinimum"}, lambda v, b: v <= b, "greater than {}", {"number": codes.GREATER_THAN}),
    "le": ({"number": "maximum"}, lambda v, b: v > b, "less than or equal to {}", {"number": codes.LESS_THAN_EQUAL}),
    "lt": ({"number": "exclusiveMaximum"}, lambda v, b: v >= b, "less than {}", {"number": codes.LESS_THAN}),
    "multiple_of": ({"number": "multipleOf"}, lambda v, b: not _is_multiple(v, b), "a multiple of {}",
                    {"number": codes.MULTIPLE_OF}),
    "min_length": ({"string": "minLength", "array": "minItems", "object": "minProperties"},
                   lambda v, b: len(v) < b, "at least {} long",
                   {"string": codes.STRING_TOO_SHORT, "array": codes.TOO_SHORT, "object": codes.TOO_SHORT}),
    "max_length": ({"string": "maxLength", "array": "maxItems", "object": "maxProperties"},
                   lambda v, b: len(v) > b, "at most {} long",
                   {"string": codes.STRING_TOO_LONG, "array": codes.TOO_LONG, "object": codes.TOO_LONG}),
    "pattern": ({"string": "pattern"}, lambda v, r: r.search(v) is None, "matching the pattern {}",
                {"string": codes.STRING_PATTERN_MISMATCH}),
}

_MESSAGES = {"min_length": {"string": "at least {} characters", "array": "at least {} items", "object": "at least {} items"},
             "max_length": {"string": "at most {} characters", "array": "at most {} items", "object": "at most {} items"}}


def _is_multiple(value: Any, base: Any) -> bool:
    if isinstance(value, int) and isinstance(base, int):
        return value % base == 0
    quotient = value / base
    return math.isclose(quotient, round(quotient), rel_tol=1e-9, abs_tol=1e-12)


def kind_of_schema(schema: dict[str, Any]) -> str | None:
    """The constraint kind of a (plain) schema: number, string, array, object or None."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return {"integer": "number", "number": "number", "string": "string", "array": "array",
            "object": "object"}.get(kind) if isinstance(kind, str) else None


def apply_to_schema(schema: dict[str, Any], constraints: dict[str, Any], kind: str | None) -> dict[str, Any]:
    """Add the JSON Schema keywords for ``constraints`` (a value of kind ``kind``) to ``schema``."""
    for name, value in constraints.items():
        row = RULES.get(name)
        if row is None or kind not in row[0]:
            continue
        schema[row[0][kind]] = value
    return schema


def checker(constraints: dict[str, Any], kind: str | None, where: str = "") -> Callable[[Any, Loc, Errors], bool] | None:
    """A check ``(value, loc, errors) -> ok`` for ``constraints`` on values of ``kind``, or None.

    A constraint that cannot apply to the kind (``max_length`` on an int) is
    :class:`Unsupported`, so the mistake shows at registration, not per request.
    """
    checks: list[tuple[_Test, Any, str, str]] = []
    for name, bound in constraints.items():
        row = RULES.get(name)
        if row is None or bound is None:
            continue
        keywords, test, message, kinds = row
        if kind not in kinds:
            raise Unsupported(f"constraint {name}={bound!r} does not apply to {where or 'this type'}")
        if name == "pattern":
            try:
                compiled = re.compile(bound)
            except re.error as exc:
                raise Unsupported(f"pattern {bound!r} is not a valid regular expression: {exc}") from None
            checks.append((test, compiled, f"should match the pattern {bound!r}", kinds[kind]))
            continue
        text = _MESSAGES.get(name, {}).get(kind, message).format(bound)
        checks.append((test, bound, f"should be {text}", kinds[kind]))
    if not checks:
        return None

    def check(value: Any, loc: Loc, errors: Errors) -> bool:
        ok = True
        for test, bound, msg, code in checks:
            if test(value, bound):
                error(errors, loc, msg, code)
                ok = False
        return ok
    return check


__all__ = ["Array", "Constraints", "RULES", "apply_to_schema", "checker", "constraints_of", "documentation_of",
           "kind_of_schema"]
