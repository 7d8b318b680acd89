"""Signature -> JSON Schema 2020-12 and argument binding."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Literal, Optional, TypedDict

import jsonschema
import pytest

from conduit.mcp import Field
from conduit.mcp.schema import SchemaError, build_signature


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Box(TypedDict):
    w: int
    h: int


def sample(a: int, b: Annotated[float, Field(description="scale", ge=0, le=10)] = 1.0,
           name: Optional[str] = None, mode: Literal["fast", "slow"] = "fast", color: Color = Color.RED,
           point: Point | None = None, pair: tuple[int, str] = (1, "a"), box: Box | None = None,
           tags: list[str] = (), flag: bool = False, extra: dict[str, int] | None = None) -> Point:
    """Sample tool.

    Args:
        a: the first number
    """
    return Point(a, b)


def test_schema_is_valid_2020_12_and_described():
    signature = build_signature(sample)
    schema = signature.input_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["a"]
    assert schema["properties"]["a"] == {"type": "integer", "description": "the first number"}
    assert schema["properties"]["b"]["minimum"] == 0 and schema["properties"]["b"]["description"] == "scale"
    assert schema["properties"]["mode"]["enum"] == ["fast", "slow"]
    assert schema["$defs"]["Point"]["required"] == ["x"]
    assert signature.description == "Sample tool."
    assert signature.output_schema["properties"]["x"] == {"type": "number"}


@pytest.mark.parametrize("arguments, expected", [
    ({"a": 1}, {"a": 1}),
    ({"a": 1, "point": {"x": 2}}, {"a": 1, "point": Point(2.0, 0.0)}),
    ({"a": 1, "color": "blue", "pair": [2, "b"]}, {"a": 1, "color": Color.BLUE, "pair": (2, "b")}),
    ({"a": 1, "box": {"w": 1, "h": 2}, "name": None}, {"a": 1, "box": {"w": 1, "h": 2}, "name": None}),
])
def test_bind_converts(arguments, expected):
    assert build_signature(sample).bind(arguments) == expected


@pytest.mark.parametrize("arguments", [
    {}, {"a": "1"}, {"a": True}, {"a": 1, "b": 11}, {"a": 1, "mode": "medium"}, {"a": 1, "point": {"y": 1}},
    {"a": 1, "unknown": 1}, {"a": 1, "pair": [1]}, {"a": 1, "tags": "x"}, {"a": 1, "extra": {"k": "v"}},
])
def test_bind_rejects(arguments):
    with pytest.raises(SchemaError):
        build_signature(sample).bind(arguments)


def test_every_valid_binding_matches_the_schema():
    signature = build_signature(sample)
    validator = jsonschema.Draft202012Validator(signature.input_schema)
    for arguments in ({"a": 1}, {"a": 2, "point": {"x": 1.5}, "tags": ["x"], "extra": {"k": 1}}):
        validator.validate(arguments)
        signature.bind(arguments)


def test_results_of_every_bindable_type_become_json():
    import datetime as dt
    import decimal
    import uuid

    import msgspec
    import numpy as np

    from conduit.mcp.schema import to_jsonable

    class Tag(msgspec.Struct):
        name: str
        when: dt.date

    value = {"tag": Tag("a", dt.date(2024, 1, 2)), "raw": b"hi", "id": uuid.UUID(int=1),
             "price": decimal.Decimal("1.50"), "at": dt.time(3, 4), "x": np.arange(2), "color": Color.RED}
    assert to_jsonable(value) == {"tag": {"name": "a", "when": "2024-01-02"}, "raw": "aGk=",
                                  "id": "00000000-0000-0000-0000-000000000001", "price": "1.50",
                                  "at": "03:04:00", "x": [0, 1], "color": "red"}


def test_every_failing_argument_is_reported_with_a_list_loc():
    with pytest.raises(SchemaError) as info:
        build_signature(sample).bind({"b": 11, "point": {"y": "x"}, "nope": 1})
    assert sorted((tuple(e["loc"]), e["type"]) for e in info.value.errors) == [
        (("arguments", "a"), "missing"), (("arguments", "b"), "less_than_equal"),
        (("arguments", "nope"), "extra_forbidden"), (("arguments", "point", "x"), "missing"),
        (("arguments", "point", "y"), "float_type")]
    assert info.value.path == "a" and str(info.value).startswith("a: field required")
