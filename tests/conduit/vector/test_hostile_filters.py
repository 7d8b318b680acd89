"""Metadata filters a client controls: out-of-range numbers and deep nesting are
VectorInputErrors (issue 23), and arbitrary JSON never raises anything else."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit.vector import VectorInputError, VectorStore
from conduit.vector.filters import MAX_FILTER_DEPTH

DIM = 3


@pytest.fixture(scope="module")
def store() -> VectorStore:
    s = VectorStore(DIM, device="cpu")
    s.add([f"d{i}" for i in range(20)], np.random.default_rng(23).standard_normal((20, DIM)),
          [{"n": i, "tag": ["a", "b"][i % 2], "obj": {"x": i % 3}} for i in range(20)])
    return s


def nested_not(depth: int) -> dict:
    spec: dict = {"n": 1}
    for _ in range(depth):
        spec = {"$not": spec}
    return spec


def nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


ATTACKS = [
    ("filter value 10^400 in $eq", {"n": 10**400}, "outside the range of a JSON number"),
    ("filter value 10^400 in $gte", {"n": {"$gte": 10**400}}, "outside the range"),
    ("filter value -10^400 in $in", {"n": {"$in": [1, -10**400]}}, "outside the range"),
    ("filter value 10^400 inside a list value", {"obj": [{"x": 10**400}]}, "outside the range"),
    ("filter NaN", {"n": float("nan")}, "not a JSON number"),
    ("filter infinity in $lt", {"n": {"$lt": float("inf")}}, "not a JSON number"),
    ("5000 nested $not", nested_not(5000), f"deeper than {MAX_FILTER_DEPTH}"),
    ("value nested 5000 deep", {"obj": nested_list(5000)}, f"deeper than {MAX_FILTER_DEPTH}"),
    ("object value with non-string keys", {"obj": {"$eq": {1: "a", "b": 2}}}, "keys must be strings"),
    ("python object value", {"n": object()}, "not a JSON value"),
]


@pytest.mark.parametrize("what, spec, message", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_hostile_filter_is_a_vector_input_error(store, what, spec, message):
    with pytest.raises(VectorInputError, match=message) as info:
        store.search(np.ones(DIM), k=3, filter=spec)
    assert info.value.field == "filter"
    assert len(store.search(np.ones(DIM), k=3)) == 3  # the store keeps serving


def test_filter_nesting_at_the_documented_depth_is_answered(store):
    hits = store.search(np.ones(DIM), k=20, filter=nested_not(MAX_FILTER_DEPTH))
    assert {h.id for h in hits} == ({"d1"} if MAX_FILTER_DEPTH % 2 == 0 else set(store.ids) - {"d1"})
    with pytest.raises(VectorInputError, match="deeper"):
        store.search(np.ones(DIM), k=20, filter=nested_not(MAX_FILTER_DEPTH + 1))


def test_5000_nested_and_is_a_vector_input_error(store):
    spec: dict = {"n": 1}
    for _ in range(5000):
        spec = {"$and": [spec]}
    with pytest.raises(VectorInputError, match="deeper"):
        store.search(np.ones(DIM), k=3, filter=spec)


def test_big_integers_inside_the_double_range_are_answered(store):
    assert store.search(np.ones(DIM), k=3, filter={"n": 10**300}) == []
    assert len(store.search(np.ones(DIM), k=3, filter={"n": {"$lt": 10**300}})) == 3


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**500, 10**500) | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["n", "tag", "obj", "$and", "$or", "$not", "$eq", "$ne", "$in", "$nin",
                         "$gt", "$lt", "$x", ""]), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(spec=JSON)
def test_arbitrary_json_filters_answer_or_raise_vector_input_error(store, spec):
    try:
        hits = store.search(np.ones(DIM), k=5, filter=spec)
    except VectorInputError as exc:
        assert exc.field == "filter"
    else:
        assert len(hits) <= 5
