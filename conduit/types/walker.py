"""One walk of an annotation -> its JSON Schema and its JSON validator, together.

:class:`TypeWalker` is the one reader of annotations in Conduit: the HTTP binder
takes the validators (bodies), the OpenAPI builder the schemas (with
``#/components/schemas/`` references), MCP both (with ``#/$defs/`` references).
Because each :class:`Node` comes out of one branch of one walk, what a document
says is what the server accepts.

Supported: ``int float str bool None``, ``Any``, ``Literal``, ``Enum``, ``UUID``,
``datetime date time``, ``Decimal`` (a number or a numeric string), ``bytes``
(base64 text), ``list set frozenset tuple Sequence``, ``dict[K, V]``, ``Optional``
and unions, dataclasses, ``TypedDict``, msgspec ``Struct`` and pydantic models
(validated and described by their own libraries), ``numpy.ndarray`` with an
:class:`~conduit.types.constraints.Array` spec, and ``Annotated`` constraints.
Anything else is :class:`~conduit.types.errors.Unsupported` at registration.
"""

from __future__ import annotations

import collections.abc as abc
import enum
import typing
from typing import Any, Callable, NamedTuple

from . import codes, models, text
from .arrays import array_schema, array_spec, array_validator
from .constraints import apply_to_schema, checker, constraints_of, documentation_of
from .errors import INVALID, Errors, Invalid, Loc, Unsupported, Validator, error, got
from .scalars import SCALARS, any_value, choice_validator, float_validator, json_default
from .kinds import (NoneType, constraint_kind, is_dataclass_type, is_literal, is_ndarray, is_pydantic, is_struct,
                    is_typeddict, is_union, optional_inner, sequence_item, strip_annotated, type_name)


class Node(NamedTuple):
    """What one walk of an annotation yields."""

    schema: dict[str, Any]
    validate: Validator


def _closest_member(failures: list[Errors], depth: int) -> Errors | None:
    """The failures of the union member the value came closest to, or None if it matched none's outer type.

    A member whose every failure lies inside the value (``["body", 0, 1]`` under
    ``["body"]``) accepted its outer shape; of those, the one whose failures go deepest,
    then the fewest, says most precisely what is wrong. A value of the wrong outer type
    for every member gets one ``union_type`` entry instead.
    """
    inside = [f for f in failures if all(len(e["loc"]) > depth for e in f)]
    if not inside:
        return None
    return min(inside, key=lambda f: (-max(len(e["loc"]) for e in f), len(f)))


# ------------------------------------------------------------------ the walker

class TypeWalker:
    """Walks annotations into :class:`Node` s; named types land in :attr:`defs` under ``ref_prefix``.

    ``TypeWalker("#/components/schemas/")`` for OpenAPI, ``TypeWalker("#/$defs/")`` for MCP.
    """

    def __init__(self, ref_prefix: str = "#/$defs/") -> None:
        self.ref_prefix = ref_prefix
        self.defs: dict[str, dict[str, Any]] = {}
        self._names: dict[Any, str] = {}
        self._named: dict[Any, Validator] = {}

    def schema(self, tp: Any) -> dict[str, Any]:
        return self.walk(tp).schema

    def validator(self, tp: Any) -> Validator:
        return self.walk(tp).validate

    def walk(self, tp: Any) -> Node:
        base, metadata = strip_annotated(tp)
        if not metadata:
            return self._plain(base, ())
        inner, nullable = optional_inner(base)
        if not nullable:
            inner = base
        node = self._plain(inner, metadata)
        schema, validate = dict(node.schema), node.validate
        kind = constraint_kind(inner)
        constraints = constraints_of(metadata)
        constraints.pop("allow_inf_nan", None)
        if constraints:
            check = checker(constraints, kind, type_name(inner))
            if "$ref" in schema:
                schema = {"allOf": [schema]}
            apply_to_schema(schema, constraints, kind)
            if check is not None:
                validate = _checked(validate, check)
        schema.update(documentation_of(metadata))
        if nullable:
            return self._optional(Node(schema, validate))
        return Node(schema, validate)

    # -------------------------------------------------------------- plain types

    def _plain(self, tp: Any, metadata: tuple[Any, ...]) -> Node:
        if tp is float:
            allow = bool(constraints_of(metadata).get("allow_inf_nan"))
            return Node({"type": "number"}, float_validator(allow))
        try:
            if tp in SCALARS:
                schema, validate = SCALARS[tp]
                return Node(dict(schema), validate)
        except TypeError:  # an unhashable annotation
            pass
        if is_ndarray(tp):
            spec = array_spec(tp, metadata)
            return Node(array_schema(spec), array_validator(spec))
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self._named_type(tp)
        if is_literal(tp):
            return _literal(typing.get_args(tp))
        if is_union(tp):
            return self._union(typing.get_args(tp))
        if is_pydantic(tp) or is_struct(tp) or is_dataclass_type(tp) or is_typeddict(tp):
            return self._named_type(tp)
        origin = typing.get_origin(tp)
        if origin is tuple:
            args = typing.get_args(tp)
            if args and not (len(args) == 2 and args[1] is Ellipsis):
                return self._fixed_tuple(args)
        item = sequence_item(tp)
        if item is not None:
            container = origin if origin in (set, frozenset, tuple) else tp if tp in (set, frozenset, tuple) else list
            return self._sequence(item, container)
        if tp is dict or origin in (dict, abc.Mapping, abc.MutableMapping):
            key_type, value_type = typing.get_args(tp) or (str, Any)
            return self._mapping(key_type, value_type)
        raise Unsupported(f"unsupported type {type_name(tp)}")

    def _optional(self, node: Node) -> Node:
        inner = node.validate

        def validate(value: Any, loc: Loc, errors: Errors) -> Any:
            if value is None:
                return None
            return inner(value, loc, errors)
        return Node(_nullable(node.schema), validate)

    def _union(self, members: tuple[Any, ...]) -> Node:
        nullable = NoneType in members
        walked = [self.walk(m) for m in members if m is not NoneType]
        if len(walked) == 1:
            return self._optional(walked[0]) if nullable else walked[0]
        schemas = [n.schema for n in walked] + ([{"type": "null"}] if nullable else [])
        simple = [s.get("type") for s in schemas]
        if all(isinstance(t, str) and len(s) == 1 for t, s in zip(simple, schemas)):
            schema: dict[str, Any] = {"type": simple}
        else:
            schema = {"anyOf": schemas}
        checks = [n.validate for n in walked]
        name = " | ".join(type_name(m) for m in members)

        def validate(value: Any, loc: Loc, errors: Errors) -> Any:
            if value is None and nullable:
                return None
            failures: list[Errors] = []
            for member in checks:
                scratch: Errors = []
                result = member(value, loc, scratch)
                if not scratch:
                    return result
                failures.append(scratch)
            closest = _closest_member(failures, len(loc))
            if closest is None:
                return error(errors, loc, f"expected {name}, got {got(value)}", codes.UNION_TYPE)
            errors.extend(closest)
            return INVALID
        return Node(schema, validate)

    def _sequence(self, item_tp: Any, container: type) -> Node:
        item = self.walk(item_tp)
        schema: dict[str, Any] = {"type": "array"}
        if item.schema:
            schema["items"] = item.schema
        # No uniqueItems for sets: duplicates are accepted (and merged), so the schema must not refuse them.
        check = item.validate
        plain = check is any_value

        def validate(value: Any, loc: Loc, errors: Errors) -> Any:
            if type(value) is not list:
                return error(errors, loc, f"expected array, got {got(value)}", codes.LIST_TYPE)
            if plain:
                out = list(value)
            else:
                before = len(errors)
                out = [check(element, loc + (i,), errors) for i, element in enumerate(value)]
                if len(errors) > before:
                    return INVALID
            if container is list:
                return out
            try:
                return container(out)
            except TypeError:
                return error(errors, loc, "set items must be hashable", codes.SET_ITEM_NOT_HASHABLE)
        return Node(schema, validate)

    def _fixed_tuple(self, args: tuple[Any, ...]) -> Node:
        walked = [self.walk(a) for a in args]
        schema = {"type": "array", "prefixItems": [n.schema for n in walked], "items": False,
                  "minItems": len(args), "maxItems": len(args)}
        checks = [n.validate for n in walked]
        size = len(checks)

        def validate(value: Any, loc: Loc, errors: Errors) -> Any:
            if type(value) is not list or len(value) != size:
                what = got(value) if type(value) is not list else f"{len(value)} items"
                return error(errors, loc, f"expected an array of {size} items, got {what}", codes.LIST_TYPE)
            before = len(errors)
            out = tuple(one(element, loc + (i,), errors) for i, (one, element) in enumerate(zip(checks, value)))
            return INVALID if len(errors) > before else out
        return Node(schema, validate)

    def _mapping(self, key_tp: Any, value_tp: Any) -> Node:
        key_convert = None if key_tp in (str, Any) else text.text_converter(key_tp)
        value = self.walk(value_tp)
        schema: dict[str, Any] = {"type": "object"}
        if value.schema:
            schema["additionalProperties"] = value.schema
        # Keys of another type (dict[int, V]) are converted from the key text; JSON Schema keys are strings.
        check = value.validate

        def validate(data: Any, loc: Loc, errors: Errors) -> Any:
            if type(data) is not dict:
                return error(errors, loc, f"expected object, got {got(data)}", codes.DICT_TYPE)
            out = {}
            before = len(errors)
            for key, element in data.items():
                if key_convert is not None:
                    try:
                        key = key_convert(key)
                    except Invalid as exc:
                        error(errors, loc + (key,), f"key: {exc.msg}", exc.type)
                        continue
                out[key] = check(element, loc + (key,), errors)
            return INVALID if len(errors) > before else out
        return Node(schema, validate)

    # -------------------------------------------------------------- named types

    def _named_type(self, tp: type) -> Node:
        """A component: built once per walker, referenced by ``$ref`` (recursion finds the placeholder)."""
        if tp in self._names:
            return Node({"$ref": self.ref_prefix + self._names[tp]}, self._named[tp])
        name = tp.__name__
        if name in self.defs:
            name = f"{tp.__module__}.{tp.__qualname__}".replace("<", "").replace(">", "")
        self._names[tp] = name
        self.defs[name] = {}  # placeholder: recursive types refer to it
        slot: list[Validator] = []
        self._named[tp] = lambda value, loc, errors: slot[0](value, loc, errors)
        try:
            schema, validate = self._build_named(tp, name)
        except BaseException:
            del self._names[tp], self._named[tp], self.defs[name]
            raise
        slot.append(validate)
        self._named[tp] = validate
        self.defs[name] = schema
        return Node({"$ref": self.ref_prefix + name}, validate)

    def _build_named(self, tp: type, name: str) -> tuple[dict[str, Any], Validator]:
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return models.enum_node(tp, name)
        if is_pydantic(tp):
            return models.pydantic_node(tp, self)
        if is_struct(tp):
            return models.struct_node(tp, self)
        return models.object_node(tp, name, self)


def _checked(inner: Validator, check: Callable[[Any, Loc, Errors], bool]) -> Validator:
    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        value = inner(value, loc, errors)
        if value is INVALID or not check(value, loc, errors):
            return INVALID
        return value
    return validate


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str) and len(schema) == 1:
        return {"type": [kind, "null"]}
    if isinstance(kind, list) and len(schema) == 1:
        return {"type": kind + ([] if "null" in kind else ["null"])}
    return {"anyOf": [schema, {"type": "null"}]}


def _literal(values: tuple[Any, ...]) -> Node:
    plain = [v.value if isinstance(v, enum.Enum) else v for v in values]
    kinds = {got(v) for v in plain}
    schema: dict[str, Any] = {"enum": plain} if len(plain) > 1 else {"const": plain[0]}
    if len(kinds) == 1:
        schema["type"] = kinds.pop()
    return Node(schema, choice_validator(dict(zip(plain, values))))


__all__ = ["Node", "TypeWalker", "constraint_kind", "json_default"]
