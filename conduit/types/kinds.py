"""Kinds of annotation, answered once: is this a union, a TypedDict, a Struct, an ndarray?

Optional libraries (msgspec, pydantic) are recognised by duck typing, so nothing
here imports them; numpy is a hard dependency of Conduit but is only touched when
an annotation names it.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import decimal
import types
import typing
from typing import Any, Annotated, Literal, Union

NoneType = type(None)


def strip_annotated(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """``Annotated[T, m1, m2]`` -> ``(T, (m1, m2))``; nested Annotated are flattened."""
    metadata: tuple[Any, ...] = ()
    while typing.get_origin(tp) is Annotated:
        metadata = metadata + tuple(tp.__metadata__)
        tp = tp.__origin__
    return tp, metadata


def is_union(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin is Union or origin is types.UnionType


def optional_inner(tp: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(tp, False)``."""
    if is_union(tp):
        args = [a for a in typing.get_args(tp) if a is not NoneType]
        if len(args) < len(typing.get_args(tp)):
            if len(args) == 1:
                return args[0], True
            return Union[tuple(args)], True  # type: ignore[return-value]
    return tp, False


def is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "__struct_fields__") and hasattr(tp, "__struct_config__")


def is_pydantic(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "model_validate") and hasattr(tp, "model_fields")


def is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def is_ndarray(tp: Any) -> bool:
    base = typing.get_origin(tp) or tp
    return getattr(base, "__name__", None) == "ndarray" and getattr(base, "__module__", "") == "numpy"


def is_model(tp: Any) -> bool:
    """A structured type that comes from a JSON object (the body, by default)."""
    return is_dataclass_type(tp) or is_typeddict(tp) or is_struct(tp) or is_pydantic(tp)


def is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is Literal


SEQUENCE_ORIGINS = (list, tuple, set, frozenset)


def sequence_item(tp: Any) -> Any | None:
    """The item type of ``list[X]``/``set[X]``/``tuple[X, ...]``/``Sequence[X]``, else None."""
    import collections.abc as abc

    origin = typing.get_origin(tp)
    if tp in (list, set, frozenset, tuple):
        return Any
    if origin in (list, set, frozenset, abc.Sequence, abc.Set, abc.MutableSequence):
        args = typing.get_args(tp)
        return args[0] if args else Any
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
    return None


def constraint_kind(tp: Any) -> str | None:
    """Which constraints an annotation takes: number, string, array, object, or None."""
    tp = optional_inner(strip_annotated(tp)[0])[0]
    if tp in (int, float, decimal.Decimal):
        return "number"
    if tp is str:
        return "string"
    origin = typing.get_origin(tp)
    if sequence_item(tp) is not None or origin is tuple:
        return "array"
    if tp is dict or origin in (dict, abc.Mapping, abc.MutableMapping) or is_typeddict(tp):
        return "object"
    return None


def type_name(tp: Any) -> str:
    """A short readable name for messages: ``int``, ``list[str]``, ``Item``."""
    tp, _ = strip_annotated(tp)
    if tp is NoneType or tp is None:
        return "null"
    if is_literal(tp):
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is not None:
        return repr(tp).replace("typing.", "")
    return getattr(tp, "__name__", repr(tp))
