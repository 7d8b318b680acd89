"""One table of annotation cases, run through every consumer of the type layer.

For each case: the value the HTTP binder passes to the handler (a JSON body field
and, for text types, a query parameter), the schema in the OpenAPI document, the
``inputSchema`` of an MCP tool taking the same parameter, and the error entries for
each bad value: asserted equal between the HTTP 422 ``detail`` and MCP's -32602
(``SchemaError.errors``, the entries MCP sends as ``data``), locations aside from
their root (``body`` / ``query`` / ``arguments``).
"""


import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
from typing import Annotated, Any, Literal, Optional, TypedDict

import jsonschema
import msgspec
import numpy as np
import pydantic
import pytest
import trio

from conduit import Conduit, TestClient
from conduit.binding import Array, Body, Path, Query
from conduit.mcp import Field, MCPServer
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.schema import SchemaError
from conduit.routing import RouteError


class Size(enum.Enum):
    """A t-shirt size."""

    SMALL = "s"
    LARGE = "l"


class Box(TypedDict):
    w: int
    h: int


@dataclasses.dataclass
class Point:
    x: float
    y: Annotated[float, Field(ge=0)] = 0.0


class Tag(msgspec.Struct):
    b: str


class Model(pydantic.BaseModel):
    a: int


@dataclasses.dataclass
class Case:
    name: str
    annotation: Any
    good: list[tuple[Any, Any]]                       # (JSON value, converted value)
    bad: list[tuple[Any, list[tuple[tuple, str]]]]    # (JSON value, [(loc below the root, type)])
    text_good: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    text_bad: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    schema: dict[str, Any] | None = None              # expected property schema (refs as #/$defs/)
    schema_refuses_bad: bool = True                   # every bad value also fails the JSON Schema


def one(code: str, *below: Any) -> list[tuple[tuple, str]]:
    return [(below, code)]


UID = uuid.UUID("12345678-1234-5678-1234-567812345678")

CASES = [
    Case("int", int, [(5, 5), (-3, -3), (4.0, 4)],
         [("5", one("int_type")), (True, one("int_type")), (1.5, one("int_type")), (None, one("int_type")),
          (1e30, one("int_type"))],
         [("5", 5), ("-3", -3)], [("x", "int_parsing"), ("1.5", "int_parsing"), ("9" * 5000, "int_parsing")],
         schema={"type": "integer"}, schema_refuses_bad=False),
    Case("int_bounds", Annotated[int, Field(ge=0, le=10)], [(0, 0), (10, 10)],
         [(-1, one("greater_than_equal")), (11, one("less_than_equal"))],
         [("7", 7)], [("-1", "greater_than_equal"), ("11", "less_than_equal")],
         schema={"type": "integer", "minimum": 0, "maximum": 10}),
    Case("int_multiple", Annotated[int, Field(multiple_of=5, gt=0, lt=100)], [(10, 10)],
         [(7, one("multiple_of")), (0, one("greater_than")), (100, one("less_than"))],
         [("15", 15)], [("7", "multiple_of")],
         schema={"type": "integer", "multipleOf": 5, "exclusiveMinimum": 0, "exclusiveMaximum": 100}),
    Case("float", float, [(1.5, 1.5), (2, 2.0)], [("x", one("float_type")), (True, one("float_type"))],
         [("1.5", 1.5), ("1e3", 1000.0)],
         [("inf", "finite_number"), ("nan", "finite_number"), ("1e999", "finite_number"), ("abc", "float_parsing")],
         schema={"type": "number"}),
    Case("float_ge", Annotated[float, Field(ge=0)], [(0.5, 0.5)], [(-0.5, one("greater_than_equal"))],
         [("0", 0.0)], [("1e999", "finite_number"), ("-1", "greater_than_equal")],
         schema={"type": "number", "minimum": 0}),
    Case("bool", bool, [(True, True), (False, False)], [(1, one("bool_type")), ("true", one("bool_type"))],
         [("yes", True), ("0", False), ("OFF", False), ("true", True)], [("maybe", "bool_parsing")],
         schema={"type": "boolean"}),
    Case("str", Annotated[str, Field(min_length=2, max_length=3, pattern="^[a-z]+$")], [("ab", "ab")],
         [("a", one("string_too_short")), ("abcd", one("string_too_long")), ("A1", one("string_pattern_mismatch")),
          (5, one("string_type"))],
         [("abc", "abc")], [("a", "string_too_short"), ("A1", "string_pattern_mismatch")],
         schema={"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[a-z]+$"}),
    Case("literal", Literal["a", "b"], [("a", "a")], [("c", one("enum")), (1, one("enum"))],
         [("b", "b")], [("c", "enum")], schema={"enum": ["a", "b"], "type": "string"}),
    Case("enum", Size, [("s", Size.SMALL)], [("m", one("enum")), (1, one("enum"))],
         [("l", Size.LARGE)], [("m", "enum")], schema={"$ref": "#/$defs/Size"}),
    Case("uuid", uuid.UUID, [(str(UID), UID)], [("x", one("uuid_parsing")), (5, one("uuid_parsing"))],
         [(str(UID), UID)], [("x", "uuid_parsing")], schema={"type": "string", "format": "uuid"},
         schema_refuses_bad=False),
    Case("date", dt.date, [("2024-01-02", dt.date(2024, 1, 2))], [("2024-13-01", one("date_parsing"))],
         [("2024-01-02", dt.date(2024, 1, 2))], [("yesterday", "date_parsing")],
         schema={"type": "string", "format": "date"}, schema_refuses_bad=False),
    Case("datetime", dt.datetime,
         [("2024-01-02T03:04:05Z", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))],
         [("noon", one("datetime_parsing"))], [], [("noon", "datetime_parsing")],
         schema={"type": "string", "format": "date-time"}, schema_refuses_bad=False),
    Case("time", dt.time, [("03:04:05", dt.time(3, 4, 5))], [("25:00", one("time_parsing"))],
         [("03:04", dt.time(3, 4))], [("x", "time_parsing")], schema={"type": "string", "format": "time"},
         schema_refuses_bad=False),
    Case("decimal", decimal.Decimal,
         [("1.50", decimal.Decimal("1.50")), (2, decimal.Decimal(2)), (1.25, decimal.Decimal("1.25"))],
         [("x", one("decimal_parsing")), ([], one("decimal_parsing")), ("nan", one("decimal_parsing"))],
         [("1.5", decimal.Decimal("1.5"))], [("nan", "decimal_parsing"), ("1,5", "decimal_parsing")]),
    Case("bytes", bytes, [("aGk=", b"hi"), ("aGk", b"hi")], [("***", one("bytes_invalid_encoding")),
                                                            (5, one("bytes_type"))],
         [("aGk=", b"hi")], [("***", "bytes_invalid_encoding")],
         schema={"type": "string", "contentEncoding": "base64"}, schema_refuses_bad=False),
    Case("list", Annotated[list[int], Field(max_length=2)], [([1, 2], [1, 2])],
         [([1, "x"], one("int_type", 1)), ([1, 2, 3], one("too_long")), ("x", one("list_type"))],
         schema={"type": "array", "items": {"type": "integer"}, "maxItems": 2}),
    Case("set", set[int], [([1, 1, 2], {1, 2})], [([1, "x"], one("int_type", 1))],
         schema={"type": "array", "items": {"type": "integer"}}),
    Case("tuple", tuple[int, str], [([1, "a"], (1, "a"))], [([1], one("list_type")), (["a", "a"], one("int_type", 0))],
         schema={"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False,
                 "minItems": 2, "maxItems": 2}),
    Case("dict", dict[str, int], [({"a": 1}, {"a": 1})], [({"a": "x"}, one("int_type", "a")), ([], one("dict_type"))],
         schema={"type": "object", "additionalProperties": {"type": "integer"}}),
    Case("optional", Optional[int], [(None, None), (3, 3)], [("x", one("int_type"))],
         schema={"type": ["integer", "null"]}),
    Case("union", int | str, [(1, 1), ("a", "a")], [([], one("union_type"))], schema={"type": ["integer", "string"]}),
    # A value that takes one member's outer shape is told what is wrong inside it (the member
    # whose failures go deepest); one of no member's shape gets the one union_type entry.
    Case("union of shapes", list[float] | list[list[float]], [([1, 2], [1.0, 2.0]), ([[1]], [[1.0]])],
         [([[1, "a"]], one("float_type", 0, 1)), ([1, "a"], one("float_type", 1)), ("x", one("union_type"))],
         schema={"anyOf": [{"type": "array", "items": {"type": "number"}},
                           {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}]}),
    Case("dataclass", Point, [({"x": 1}, Point(1.0, 0.0)), ({"x": 1, "y": 2, "extra": 0}, Point(1.0, 2.0))],
         [({"y": -1}, [(("x",), "missing"), (("y",), "greater_than_equal")]), (3, one("model_type"))],
         schema={"$ref": "#/$defs/Point"}),
    Case("typeddict", Box, [({"w": 1, "h": 2}, {"w": 1, "h": 2})],
         [({"w": "x"}, [(("w",), "int_type"), (("h",), "missing")])], schema={"$ref": "#/$defs/Box"}),
    Case("struct", Tag, [({"b": "x"}, Tag(b="x"))], [({}, one("missing", "b")), ({"b": 1}, one("string_type", "b"))],
         schema={"$ref": "#/$defs/Tag"}),
    Case("pydantic", Model, [({"a": 1}, Model(a=1))], [({"a": "x"}, one("int_parsing", "a")), ([], one("model_type"))],
         schema={"$ref": "#/$defs/Model"}),
    Case("ndarray", Annotated[np.ndarray, Array(shape=(None, 2), dtype="float32")],
         [([[1, 2]], np.array([[1, 2]], dtype=np.float32))],
         [([[1, 2, 3]], one("array_shape")), ([["a", "b"]], one("array_dtype")), ([[True, 1]], one("array_dtype")),
          ([[False, True]], one("array_dtype")), ("x", one("list_type"))],
         schema={"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                                            "maxItems": 2}}, schema_refuses_bad=False),
]

TEXT_CASES = [c for c in CASES if c.text_good or c.text_bad]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype \
            and np.array_equal(a, b)
    return type(a) is type(b) and a == b


@dataclasses.dataclass
class Consumers:
    """One HTTP app and one MCP server per case, recording what their handlers receive."""

    case: Case
    seen: list[Any]
    client: TestClient
    mcp: MCPServer
    document: dict[str, Any]

    def body(self, value: Any) -> tuple[int, Any]:
        response = self.client.post("/c", content=json.dumps({"value": value}),
                                    headers={"content-type": "application/json"})
        return response.status_code, response.json()

    def mcp_call(self, value: Any) -> dict[str, Any]:
        async def exchange() -> dict[str, Any]:
            connection = Connection(self.mcp)
            init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                               "clientInfo": {"name": "t", "version": "1"}}}

            async def send(message: Any) -> None:
                pass
            await connection.handle(init, send)
            return await connection.handle({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                            "params": {"name": "c", "arguments": {"value": value}}}, send)
        return trio.run(exchange)


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def consumers(request):
    case: Case = request.param
    seen: list[Any] = []
    app = Conduit()
    annotation = case.annotation

    def handler(value: Annotated[annotation, Body(embed=True)]) -> dict:
        seen.append(value)
        return {}
    app.post("/c")(handler)
    mcp = MCPServer("table")

    def tool(value: annotation) -> str:
        seen.append(value)
        return "ok"
    mcp.tool(name="c")(tool)
    with TestClient(app) as client:
        yield Consumers(case, seen, client, mcp, app.openapi())


def http_entries(body: Any, root: str) -> list[tuple[tuple, str, str]]:
    out = []
    for entry in body["error"]["detail"]:
        assert entry["loc"][:2] == [root, "value"], entry
        out.append((tuple(entry["loc"][2:]), entry["type"], entry["msg"]))
    return sorted(out, key=repr)


def mcp_entries(consumers: Consumers, value: Any) -> list[tuple[tuple, str, str]]:
    with pytest.raises(SchemaError) as info:
        consumers.mcp.tools["c"].signature.bind({"value": value})
    reply = consumers.mcp_call(value)
    assert reply["error"]["code"] == -32602
    data = reply["error"].get("data")
    if data is not None:  # the errors engineer's -32602 data: the same entries
        assert data == info.value.errors
    out = []
    for entry in info.value.errors:
        assert entry["loc"][:2] == ["arguments", "value"], entry
        out.append((tuple(entry["loc"][2:]), entry["type"], entry["msg"]))
    return sorted(out, key=repr)


def normalised(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True).replace("#/components/schemas/", "#/$defs/")


def test_document_and_tool_schema_agree(consumers):
    from openapi_spec_validator import validate

    case = consumers.case
    validate(consumers.document)
    openapi = consumers.document["paths"]["/c"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    http_schema = openapi["properties"]["value"]
    tool_schema = consumers.mcp.tools["c"].wire["inputSchema"]
    assert normalised(http_schema) == normalised(tool_schema["properties"]["value"])
    if case.schema is not None:
        assert normalised(http_schema) == normalised(case.schema)
    for name, definition in tool_schema.get("$defs", {}).items():  # components agree too
        assert normalised(consumers.document["components"]["schemas"][name]) == normalised(definition)


def test_good_values_convert_alike_and_fit_the_schema(consumers):
    case = consumers.case
    tool_schema = consumers.mcp.tools["c"].wire["inputSchema"]
    validator = jsonschema.Draft202012Validator(tool_schema)
    for value, expected in case.good:
        validator.validate({"value": value})
        consumers.seen.clear()
        status, body = consumers.body(value)
        assert status == 200, body
        reply = consumers.mcp_call(value)
        assert "result" in reply, reply
        http_value, mcp_value = consumers.seen
        assert same(http_value, expected), (http_value, expected)
        assert same(mcp_value, expected), (mcp_value, expected)


def test_bad_values_give_the_same_entries_over_http_and_mcp(consumers):
    case = consumers.case
    validator = jsonschema.Draft202012Validator(consumers.mcp.tools["c"].wire["inputSchema"])
    for value, expected in case.bad:
        status, body = consumers.body(value)
        assert status == 422, body
        http = http_entries(body, "body")
        assert sorted((loc, code) for loc, code, _ in http) == sorted(expected), (value, http)
        assert http == mcp_entries(consumers, value)
        if case.schema_refuses_bad:
            assert not validator.is_valid({"value": value}), value
    assert consumers.seen == []


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c.name for c in TEXT_CASES])
def test_text_values(case):
    """The same annotation as a query parameter: text in, the same value (or the text error code) out."""
    seen: list[Any] = []
    app = Conduit()
    annotation = case.annotation

    def by_query(value: Annotated[annotation, Query()]) -> dict:
        seen.append(value)
        return {}
    app.get("/q")(by_query)
    with TestClient(app) as client:
        for text, expected in case.text_good:
            seen.clear()
            response = client.get("/q", params={"value": text})
            assert response.status_code == 200, response.text
            assert same(seen[0], expected), (seen[0], expected)
        for text, code in case.text_bad:
            response = client.get("/q", params={"value": text})
            assert response.status_code == 422, response.text
            assert [(loc, kind) for loc, kind, _ in http_entries(response.json(), "query")] == [((), code)], text
        query = app.openapi()["paths"]["/q"]["get"]["parameters"][0]["schema"]
    assert normalised(query) == normalised(_tool_schema(annotation))


def _tool_schema(annotation: Any) -> dict[str, Any]:
    mcp = MCPServer("text")

    def tool(value: annotation) -> str:
        return "ok"
    mcp.tool(name="c")(tool)
    return mcp.tools["c"].wire["inputSchema"]["properties"]["value"]


# ------------------------------------------------------------------ registration

@pytest.mark.parametrize("annotation, words", [
    (complex, "complex"),
    (Annotated[int, Field(max_length=3)], "max_length"),
    (Annotated[str, Field(pattern="(")], "pattern"),
])
def test_what_no_side_supports_fails_at_registration_on_both(annotation, words):
    app = Conduit()

    def handler(value: Annotated[annotation, Body(embed=True)]) -> None:
        return None
    with pytest.raises(RouteError) as http:
        app.post("/c")(handler)
    assert "'value'" in str(http.value) and words in str(http.value)

    def tool(value: annotation) -> None:
        return None
    with pytest.raises(TypeError) as mcp:
        MCPServer("x").tool(name="c")(tool)
    assert "'value'" in str(mcp.value) and words in str(mcp.value)


# ------------------------------------------------------------------ numbers at the edges

def test_int_validator_takes_exact_big_ints_and_refuses_rounded_floats():
    from conduit.types import TypeWalker

    validate = TypeWalker().validator(int)
    errors: list = []
    assert validate(10 ** 30 + 1, ("body",), errors) == 10 ** 30 + 1 and errors == []
    assert validate(float(10 ** 30), ("body",), errors) is not None and errors[0]["type"] == "int_type"


def test_non_finite_floats_are_refused_unless_allowed():
    from conduit.types import Constraints, TypeWalker

    walker = TypeWalker()
    errors: list = []
    walker.validator(Annotated[float, Constraints(ge=0)])(float("inf"), ("body",), errors)
    assert [e["type"] for e in errors] == ["finite_number"]
    assert walker.validator(Annotated[float, Constraints(allow_inf_nan=True)])(float("inf"), ("b",), []) == float("inf")
    assert walker.validator(float)(10 ** 400, ("b",), errors) is not None and errors[-1]["type"] == "finite_number"


def test_huge_integers_in_a_typed_path_segment_are_a_422():
    app = Conduit()

    @app.get("/items/{id:int}")
    def item(id: int) -> dict:
        return {"digits": len(str(id))}

    @app.get("/plain/{id}")
    def plain(id: int) -> dict:
        return {"digits": len(str(id))}
    with TestClient(app) as client:
        assert client.get("/items/" + "9" * 4300).json() == {"digits": 4300}
        for path in ("/items/", "/plain/"):
            response = client.get(path + "9" * 4301)
            assert response.status_code == 422
            assert response.json()["error"]["detail"][0]["loc"] == ["path", "id"]
            assert response.json()["error"]["detail"][0]["type"] == "int_parsing"


def test_a_float_segment_that_overflows_is_a_422_not_infinity():
    app = Conduit()

    @app.get("/f/{x:float}")
    def typed(x: Annotated[float, Path(ge=0)]) -> dict:
        return {"x": x}
    with TestClient(app) as client:
        assert client.get("/f/1.5").json() == {"x": 1.5}
        response = client.get("/f/" + "9" * 400 + ".0")
        assert response.status_code == 422
        assert response.json()["error"]["detail"][0]["loc"] == ["path", "x"]
        assert response.json()["error"]["detail"][0]["type"] == "finite_number"
