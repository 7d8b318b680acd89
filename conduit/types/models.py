"""Named types: Enum, dataclass, TypedDict, msgspec Struct and pydantic model -> (schema, validator).

Called by :class:`~conduit.types.walker.TypeWalker` for its components. Dataclasses
and TypedDicts are walked field by field (every failing field reported, unknown
keys ignored); msgspec and pydantic types are validated and described by their
own libraries, so their constraints, aliases and validators behave exactly as
those libraries define them, with their errors translated into entries.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import typing
from typing import Any, Protocol

from . import codes
from .errors import INVALID, Errors, Loc, Unsupported, Validator, as_loc, error, got
from .scalars import choice_validator, json_default


class Walker(Protocol):
    """What a model needs of :class:`~conduit.types.walker.TypeWalker` (which calls in here)."""

    ref_prefix: str
    defs: dict[str, dict[str, Any]]

    def walk(self, tp: Any) -> Any: ...


def _description(tp: type) -> str | None:
    doc = tp.__dict__.get("__doc__")
    if not doc or doc.startswith(tp.__name__ + "(") or doc == "An enumeration.":
        return None  # no docstring, or the signature dataclasses generate
    return inspect.cleandoc(doc)


def enum_node(tp: type[enum.Enum], name: str) -> tuple[dict[str, Any], Validator]:
    values = [member.value for member in tp]
    schema: dict[str, Any] = {"title": name, "enum": values}
    if all(isinstance(v, str) for v in values):
        schema["type"] = "string"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        schema["type"] = "integer"
    description = _description(tp)
    if description:
        schema["description"] = description
    return schema, choice_validator({member.value: member for member in tp})


def object_node(tp: type, name: str, walker: Walker) -> tuple[dict[str, Any], Validator]:
    """A dataclass (constructed, ``__post_init__`` errors become ``value_error``) or a TypedDict (a dict)."""
    hints = typing.get_type_hints(tp, include_extras=True)
    fields: list[tuple[str, Validator, bool]] = []
    properties: dict[str, Any] = {}
    required: list[str] = []
    if dataclasses.is_dataclass(tp):
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            node = walker.walk(hints.get(f.name, Any))
            prop = dict(node.schema)
            needed = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if needed:
                required.append(f.name)
            elif f.default is not dataclasses.MISSING and json_default(f.default) is not ...:
                prop["default"] = json_default(f.default)
            properties[f.name] = prop
            fields.append((f.name, node.validate, needed))
        make: Any = tp
    else:
        keys = tp.__required_keys__
        for key, hint in hints.items():
            node = walker.walk(hint)
            properties[key] = node.schema
            fields.append((key, node.validate, key in keys))
            if key in keys:
                required.append(key)
        make = None
    schema: dict[str, Any] = {"title": tp.__name__, "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    description = _description(tp)
    if description:
        schema["description"] = description

    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        if type(value) is not dict:
            return error(errors, loc, f"expected object ({name}), got {got(value)}", codes.MODEL_TYPE)
        out = {}
        before = len(errors)
        for key, check, needed in fields:
            if key in value:
                out[key] = check(value[key], loc + (key,), errors)
            elif needed:
                error(errors, loc + (key,), "field required", codes.MISSING)
        if len(errors) > before:
            return INVALID
        if make is None:
            return out
        try:
            return make(**out)
        except (TypeError, ValueError) as exc:  # __post_init__ checks
            return error(errors, loc, str(exc), codes.VALUE_ERROR)
    return schema, validate


def _adopt_defs(walker: Walker, defs: dict[str, Any]) -> None:
    for key, value in defs.items():
        walker.defs.setdefault(key, value)


def pydantic_node(tp: type, walker: Walker) -> tuple[dict[str, Any], Validator]:
    import pydantic

    schema = tp.model_json_schema(ref_template=walker.ref_prefix + "{model}")
    _adopt_defs(walker, schema.pop("$defs", {}))

    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        try:
            return tp.model_validate(value)
        except pydantic.ValidationError as exc:
            for entry in exc.errors(include_url=False):
                kind = entry["type"]
                if kind == "model_attributes_type":
                    kind = codes.MODEL_TYPE
                error(errors, loc + tuple(entry["loc"]), entry["msg"], kind)
            return INVALID
    return schema, validate


_MSGSPEC_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def struct_node(tp: type, walker: Walker) -> tuple[dict[str, Any], Validator]:
    """msgspec builds the Struct (and checks its Meta); our walk of the fields reports every type error."""
    import msgspec

    prefix = walker.ref_prefix
    (schema,), defs = msgspec.json.schema_components((tp,), ref_template=prefix + "{name}")
    if "$ref" in schema:  # the Struct itself landed in defs under its own name
        schema = defs.pop(schema["$ref"][len(prefix):])
    _adopt_defs(walker, defs)
    hints = typing.get_type_hints(tp, include_extras=True)
    fields = []
    for info in msgspec.structs.fields(tp):
        try:
            check = walker.walk(hints.get(info.name, Any)).validate
        except Unsupported:
            check = None  # msgspec knows types we do not (its own extension types)
        fields.append((info.encode_name, check, info.required))
    name = tp.__name__

    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        try:
            return msgspec.convert(value, tp)
        except msgspec.ValidationError as exc:
            failure = str(exc)
        if type(value) is not dict:
            return error(errors, loc, f"expected object ({name}), got {got(value)}", codes.MODEL_TYPE)
        before = len(errors)
        for key, check, needed in fields:
            if key in value:
                if check is not None:
                    check(value[key], loc + (key,), errors)
            elif needed:
                error(errors, loc + (key,), "field required", codes.MISSING)
        if len(errors) == before:
            match = _MSGSPEC_PATH.match(failure)
            error(errors, loc + tuple(as_loc(match.group("path") or "")), match.group("msg"), codes.VALUE_ERROR)
        return INVALID
    return schema, validate


__all__ = ["enum_node", "object_node", "pydantic_node", "struct_node"]
