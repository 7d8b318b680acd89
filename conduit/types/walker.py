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
import dataclasses
import datetime as dt
import decimal
import enum
import inspect
import math
import typing
import uuid
from typing import Any, Callable, NamedTuple, Union

from . import codes, text
from .arrays import array_schema, array_spec, array_validator
from .constraints import apply_to_schema, checker, constraints_of, documentation_of
from .errors import INVALID, Errors, Invalid, Loc, Unsupported, Validator, as_loc, error, got
from .kinds import (NoneType, is_dataclass_type, is_literal, is_ndarray, is_pydantic, is_struct, is_typeddict,
                    is_union, optional_inner, sequence_item, strip_annotated, type_name)


class Node(NamedTuple):
    """What one walk of an annotation yields."""

    schema: dict[str, Any]
    validate: Validator


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


def _float_validator(allow_inf_nan: bool) -> Validator:
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


def _any(value: Any, loc: Loc, errors: Errors) -> Any:
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
    Any: ({}, _any),
    object: ({}, _any),
}


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
            return Node({"type": "number"}, _float_validator(allow))
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
            for member in checks:
                scratch: Errors = []
                result = member(value, loc, scratch)
                if not scratch:
                    return result
            return error(errors, loc, f"expected {name}, got {got(value)}", codes.UNION_TYPE)
        return Node(schema, validate)

    def _sequence(self, item_tp: Any, container: type) -> Node:
        item = self.walk(item_tp)
        schema: dict[str, Any] = {"type": "array"}
        if item.schema:
            schema["items"] = item.schema
        # No uniqueItems for sets: duplicates are accepted (and merged), so the schema must not refuse them.
        check = item.validate
        plain = check is _any

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
        if key_convert is not None:
            schema["propertyNames"] = self.walk(key_tp).schema
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
        from . import models

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



__all__ = ["EXACT_FLOAT_INT", "Node", "SCALARS", "TypeWalker", "choice_validator", "constraint_kind", "json_default"]
