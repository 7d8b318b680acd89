"""Property tests: the text converters and the JSON validators answer arbitrary input with a value
or with documented error entries, never with another exception."""

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conduit.types import TypeWalker, codes, text_field
from conduit.types.errors import INVALID, Invalid, as_loc
from conduit.types.text import SCALARS, parse_bool, parse_float, parse_int

from test_annotation_table import CASES  # the one table (tests are not a package)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25)
WALKER = TypeWalker()
VALIDATORS = [(case.name, WALKER.validator(case.annotation)) for case in CASES]
TEXT_FIELDS = [(case.name, text_field(case.annotation)) for case in CASES if case.text_good or case.text_bad]


def _entries_are_documented(errors: list[dict[str, Any]], root: list[Any]) -> None:
    for entry in errors:
        assert set(entry) == {"loc", "msg", "type"}
        assert isinstance(entry["loc"], list) and entry["loc"][:len(root)] == root
        assert all(isinstance(part, (str, int)) for part in entry["loc"])
        assert isinstance(entry["msg"], str) and entry["msg"]
        assert entry["type"] in codes.MEANINGS, entry


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.from_regex(r"[+-]?[0-9]{1,5000}(\.[0-9]*)?([eE][+-]?[0-9]{1,4})?", fullmatch=True))
def test_text_converters_return_a_value_or_a_documented_code(text):
    for convert in list(SCALARS.values()) + [field.convert for _, field in TEXT_FIELDS]:
        try:
            convert(text)
        except Invalid as exc:
            assert exc.type in codes.MEANINGS and exc.msg


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_the_one_parsers_agree_with_their_definitions(text):
    try:
        value = parse_float(text)
    except Invalid as exc:
        assert exc.type in (codes.FLOAT_PARSING, codes.FINITE_NUMBER)
    else:
        assert math.isfinite(value)
    try:
        assert parse_int(text) == int(text)
    except Invalid as exc:
        assert exc.type == codes.INT_PARSING
    try:
        flag = parse_bool(text)
    except Invalid:
        assert text.strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off")
    else:
        assert flag is (text.strip().lower() in ("true", "1", "yes", "on"))


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_json_validators_return_a_value_or_entries(value):
    for _, validate in VALIDATORS:
        errors: list = []
        result = validate(value, ("body", "value"), errors)
        if result is INVALID:
            assert errors
        else:
            assert errors == []
        _entries_are_documented(errors, ["body", "value"])


@given(st.lists(st.text(alphabet="abcxyz-_", min_size=1, max_size=5) | st.integers(0, 99), max_size=6))
def test_a_dotted_loc_splits_back_into_its_list(parts):
    dotted = ""
    for part in parts:
        dotted += f"[{part}]" if isinstance(part, int) else (f".{part}" if dotted else part)
    if parts and isinstance(parts[0], int):
        return  # a legacy dotted loc always starts with a name
    assert as_loc(dotted) == parts


def test_the_documented_table_is_the_codes_module():
    import pathlib
    import re

    page = (pathlib.Path(__file__).resolve().parents[3] / "docs" / "errors.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", page, re.M))
    assert rows == codes.MEANINGS


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "point", "tags", "when", "other"]), JSON, max_size=5) | JSON)
def test_mcp_binding_answers_arbitrary_arguments_with_entries(arguments):
    import datetime as dt
    from typing import Annotated

    from conduit.mcp import Field
    from conduit.mcp.schema import SchemaError, build_signature

    from test_annotation_table import Point

    def tool(a: Annotated[int, Field(ge=0)], point: Point | None = None, tags: list[str] = (),
             when: dt.date | None = None) -> None:
        return None
    signature = build_signature(tool)
    try:
        signature.bind(arguments)
    except SchemaError as exc:
        assert exc.errors
        _entries_are_documented(exc.errors, ["arguments"])
