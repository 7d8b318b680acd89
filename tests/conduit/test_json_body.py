"""conduit._json.loads_body: the one body parser, exact integers, every refusal named."""

from __future__ import annotations

import json
import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit._json import InvalidJSON, dumps, loads_body

BIG = 10 ** 30 + 1


@pytest.mark.parametrize(("text", "value"), [
    (b'{"n": 1000000000000000000000000000001}', {"n": BIG}),
    (b"[-9223372036854775809, 18446744073709551616]", [-(2 ** 63) - 1, 2 ** 64]),
    (b"[18446744073709551615, -9223372036854775808]", [2 ** 64 - 1, -(2 ** 63)]),  # orjson's own range
    (b'{"id": "12345678901234567890123", "x": 1.5}', {"id": "12345678901234567890123", "x": 1.5}),
    (b"[1.00000000000000000000001, 1e-1234567890123456789]", [1.0, 0.0]),  # floats stay floats
    (b"1" * 400, int("1" * 400)),  # beyond a double: orjson says "infinity", the integer is exact
    ('{"s": "caf\u00e9", "n": 1000000000000000000000000000001}', {"s": "caf\u00e9", "n": BIG}),
    (bytearray(b"[1, 2]"), [1, 2]),
    (memoryview(b'{"a": null}'), {"a": None}),
])
def test_exact_values(text, value):
    assert loads_body(text) == value
    assert type(loads_body(text)) is type(value)


@pytest.mark.parametrize(("body", "says"), [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"{not json", "expected"),
    (b'{"a": [1, 2', "unexpected end of data"),
    (b'"\xff"', "UTF-8"),
    (b'["\\ud800"]', "surrogate"),
    (b"\xef\xbb\xbf{}", "byte order mark"),
    (b"[NaN]", "unexpected character"),
    (b"[Infinity]", "unexpected character"),
    (b"[1e999]", "infinity"),
    (b"[-1e999]", "infinity"),
    (b"7" * 5000, "5000 digits"),
    # past orjson's "infinity" the rest of the document is checked by the fallback too
    (b"[" + b"1" * 400 + b', "\\ud800"]', "lone surrogate"),
    (b"[" + b"1" * 400 + b", 1e999]", "too large for a double"),
    (b"[" + b"1" * 400 + b", NaN]", "NaN is not a JSON number"),
    (b"[" + b"1" * 400 + b",", "Expecting value"),
    (b"[" * 1000 + b"10000000000000000000000" + b"]" * 1000, "nested too deeply"),
])
def test_refusals_name_the_problem(body, says):
    with pytest.raises(InvalidJSON, match=says) as caught:
        loads_body(body)
    assert str(caught.value).startswith("invalid JSON: ")
    assert caught.value.status_code == 400 and caught.value.error_type == "invalid_json"
    assert isinstance(caught.value, ValueError)


def test_the_position_orjson_reports_is_kept():
    with pytest.raises(InvalidJSON) as caught:
        loads_body(b'{"a": [1, 2')
    assert caught.value.position == 11


def test_big_integers_are_written_exactly():
    value = {"ids": [BIG, -BIG], "x": 1.5, "nan": float("nan"), "t": (1, 2)}
    assert json.loads(dumps(value)) == {"ids": [BIG, -BIG], "x": 1.5, "nan": None, "t": [1, 2]}
    assert dumps({"n": 1}) == orjson.dumps({"n": 1})  # the fast path is orjson's output
    assert dumps({"b": BIG, "a": 1}, sort_keys=True) == b'{"a":1,"b":%d}' % BIG
    assert dumps({"b": 2, "a": 1}, sort_keys=True) == b'{"a":1,"b":2}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_round_trip_equals_the_standard_library(value):
    text = json.dumps(value).encode()
    assert loads_body(text) == json.loads(text)
    assert loads_body(dumps(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_invalid_json(body):
    try:
        value = loads_body(body)
    except InvalidJSON:
        return
    # whatever parses is what the standard library reads, minus what JSON forbids
    assert value == json.loads(body.decode("utf-8"))
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(value))


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
