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
