"""``response_model=``: a route's return value validated and filtered through a type, as FastAPI does.

The rule (FastAPI's): ``response_model=T`` on the route decorator, else the handler's
return annotation; ``response_model=None`` turns it off. A ``Response`` (or an
annotation that is one, ``str``, ``bytes``, ``None``, ``Any`` or a ``(body, status)``
tuple) passes through untouched. The value is made plain JSON, validated by the one
type layer (pydantic models, dataclasses, TypedDicts, msgspec Structs; extra fields
are dropped, which is the point: ``{"id": 1, "secret": "x"}`` through ``Out(id)`` is
``{"id": 1}``), then written with ``response_model_include`` / ``_exclude`` /
``_exclude_none`` / ``_by_alias``. A value that does not fit the model is a server
bug: :class:`ResponseValidationError`, logged with its entries, answered 500.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Callable

from ..http.response import Response
from ..types import TypeWalker, Unsupported
from ..types.errors import INVALID
from ..types.jsonable import to_jsonable
from ..types.kinds import NoneType, is_pydantic, is_union, strip_annotated
from .markers import MISSING

_WALKER = TypeWalker("#/components/schemas/")

#: Annotations that say how the body is written, not what it holds.
_PASS_THROUGH = (str, bytes, bytearray, memoryview, NoneType)


class ResponseValidationError(Exception):
    """A handler returned a value its ``response_model`` (or return annotation) refuses.

    A server bug, not a client error: the app logs it with ``errors`` and answers 500.
    """

    def __init__(self, route: str, errors: list[dict[str, Any]]):
        self.errors = errors
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        super().__init__(f"the return value of {route} does not fit its response model: {detail}")


def _describes_a_body(annotation: Any) -> bool:
    """Whether ``annotation`` is a type the response model applies to (see the module docstring)."""
    base = strip_annotated(annotation)[0]
    if base is Any or base in _PASS_THROUGH or base is None:
        return False
    if isinstance(base, type) and issubclass(base, Response):
        return False
    if typing.get_origin(base) is tuple or base is tuple:  # (body, status[, headers]) returns
        return False
    if _checks_nothing(base):
        return False
    members = typing.get_args(base) if is_union(base) else ()
    return not any(isinstance(m, type) and issubclass(m, Response) for m in members)


def _checks_nothing(base: Any) -> bool:
    """``dict``, ``list``, ``dict[str, Any]``, ``list[Any]``: nothing to filter, so no per-response walk."""
    if base in (dict, list):
        return True
    origin, args = typing.get_origin(base), typing.get_args(base)
    return origin in (dict, list) and bool(args) and args[-1] is Any and all(a in (Any, str) for a in args)


def _pick(value: Any, include: Any, exclude: Any) -> Any:
    """Pydantic's include/exclude on plain JSON: a set of keys or ``{key: True | nested}``; lists per item."""
    if isinstance(value, list):
        return [_pick(item, include, exclude) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if include is not None and key not in include:
            continue
        sub_include = include.get(key) if isinstance(include, dict) else None
        sub_exclude = exclude.get(key) if isinstance(exclude, dict) else None
        if exclude is not None and key in exclude and not isinstance(sub_exclude, (dict, set, frozenset)):
            continue
        if isinstance(sub_include, (dict, set, frozenset)) or isinstance(sub_exclude, (dict, set, frozenset)):
            item = _pick(item, sub_include if isinstance(sub_include, (dict, set, frozenset)) else None,
                         sub_exclude if isinstance(sub_exclude, (dict, set, frozenset)) else None)
        out[key] = item
    return out


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


@dataclass(frozen=True)
class ResponseModel:
    """A route's response model, resolved once at registration; :meth:`apply` per response."""

    annotation: Any
    where: str
    validate: Callable[[Any, tuple, list], Any]
    include: Any = None
    exclude: Any = None
    exclude_none: bool = False
    by_alias: bool = True

    def apply(self, value: Any) -> Any:
        """The JSON value the response carries (raises :class:`ResponseValidationError`)."""
        errors: list[dict[str, Any]] = []
        checked = self.validate(to_jsonable(value), ("response",), errors)
        if errors or checked is INVALID:
            raise ResponseValidationError(self.where, errors)
        if hasattr(checked, "model_dump") and is_pydantic(type(checked)):
            return checked.model_dump(mode="json", by_alias=self.by_alias, include=self.include,
                                      exclude=self.exclude, exclude_none=self.exclude_none)
        plain = to_jsonable(checked)
        if self.include is not None or self.exclude is not None:
            plain = _pick(plain, self.include, self.exclude)
        return _without_none(plain) if self.exclude_none else plain


def resolve_response_model(options: dict[str, Any], return_annotation: Any, where: str) -> ResponseModel | None:
    """The route's :class:`ResponseModel`, or None when nothing is to be checked.

    An explicit ``response_model`` the type layer cannot read is a registration error;
    a return annotation it cannot read (an iterator, a custom class) is left alone, as
    the annotation then documents rather than promises.
    """
    explicit = options.get("response_model", MISSING)
    annotation = return_annotation if explicit is MISSING else explicit
    if annotation is None or annotation is MISSING or not _describes_a_body(annotation):
        if explicit is MISSING or explicit is None:
            return None
        raise TypeError(f"{where}: response_model={explicit!r} is not a body type "
                        "(a model, dataclass, TypedDict, Struct, list or dict)")
    try:
        validate = _WALKER.validator(annotation)
    except (Unsupported, TypeError) as exc:
        if explicit is MISSING:
            return None
        raise TypeError(f"{where}: response_model={explicit!r} cannot be used: {exc}") from None
    return ResponseModel(annotation, where, validate,
                         include=options.get("response_model_include"),
                         exclude=options.get("response_model_exclude"),
                         exclude_none=bool(options.get("response_model_exclude_none", False)),
                         by_alias=bool(options.get("response_model_by_alias", True)))


def documented_annotation(options: dict[str, Any], return_annotation: Any) -> Any:
    """What OpenAPI describes the success response from (``MISSING``: nothing)."""
    explicit = options.get("response_model", MISSING)
    if explicit is MISSING:
        return return_annotation
    return MISSING if explicit is None else explicit


__all__ = ["ResponseModel", "ResponseValidationError", "documented_annotation", "resolve_response_model"]
