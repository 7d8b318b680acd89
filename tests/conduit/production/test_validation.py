"""Validation helpers: every failure is a 422 naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from conduit import Conduit, Request, TestClient
from conduit.exceptions import ValidationError
from conduit.validation import (
    Array,
    Int,
    Str,
    check_array,
    check_bool,
    check_float,
    check_int,
    check_list,
    check_str,
    validate,
)


def _loc(fn, *args, **kwargs):
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    assert info.value.status_code == 422
    return ".".join(map(str, info.value.errors[0]["loc"])), info.value.errors[0]["type"]


def test_scalars():
    assert check_int("42", "query.k", ge=1) == 42
    assert _loc(check_int, "4.2", "query.k") == ("query.k", "int_parsing")
    assert _loc(check_int, True, "query.k") == ("query.k", "int_type")
    assert _loc(check_int, 0, "query.k", ge=1) == ("query.k", "greater_than_equal")
    assert _loc(check_int, "9" * 5000, ["query", "k"]) == ("query.k", "int_parsing")
    assert check_float("0.5", "f", le=1) == 0.5
    assert _loc(check_float, float("nan"), "f") == ("f", "finite_number")
    assert _loc(check_float, "1e999", "f", ge=0) == ("f", "finite_number")
    assert check_str("abc", "s", max_length=3, pattern="[a-c]+") == "abc"
    assert _loc(check_str, "abcd", "s", max_length=3) == ("s", "string_too_long")
    assert _loc(check_str, "x", "s", choices=["a"]) == ("s", "enum")
    assert check_bool("yes", "b") is True
    assert _loc(check_list, [1, 2], "l", max_length=1) == ("l", "too_long")


@pytest.mark.parametrize("value, options, kind", [
    ([[1, 2, 3]], {"shape": (None, 4)}, "array_shape"),
    ([1.5], {"dtype": "int64"}, "array_dtype"),
    ([[1], [1, 2]], {}, "array_shape"),
    (["a"], {}, "array_dtype"),
    ([float("nan")], {}, "finite_number"),
    ([1e300], {"dtype": "float32"}, "finite_number"),
    ([300], {"dtype": "uint8"}, "array_dtype"),
    ("text", {}, "list_type"),
    ([[1, 2]], {"ndim": 1}, "array_shape"),
    (list(range(11)), {"max_size": 10}, "array_size"),
])
def test_array_failures_name_the_field(value, options, kind):
    assert _loc(check_array, value, "body.inputs", **options) == ("body.inputs", kind)


def test_array_success_is_contiguous_and_typed(rng):
    data = rng.normal(size=(3, 4)).tolist()
    array = check_array(data, "x", shape=(None, 4), dtype="float32")
    assert array.dtype == np.float32 and array.flags.c_contiguous and array.shape == (3, 4)
    assert check_array([1.0, 2.0], "x", dtype="int64").dtype == np.int64


def test_schema_reports_every_field_over_http():
    schema = {"inputs": Array(shape=(None, 2)), "k": Int(ge=1, le=10, default=3), "name": Str(max_length=5)}
    app = Conduit()

    @app.post("/predict")
    async def predict(request: Request):
        data = validate(await request.json(), schema)
        return {"rows": int(data["inputs"].shape[0]), "k": data["k"]}

    with TestClient(app) as client:
        ok = client.post("/predict", json={"inputs": [[1, 2], [3, 4]], "name": "a"})
        assert ok.json() == {"rows": 2, "k": 3}
        bad = client.post("/predict", json={"inputs": [[1, 2, 3]], "k": 0})
    assert bad.status_code == 422
    locs = {tuple(e["loc"]) for e in bad.json()["error"]["detail"]}
    assert locs == {("body", "inputs"), ("body", "k"), ("body", "name")}
