"""JSON bodies: dataclasses, TypedDicts, msgspec Structs, pydantic models, numpy arrays."""

from dataclasses import dataclass, field
from typing import Annotated, TypedDict

import msgspec
import numpy as np
import pydantic
import pytest

from conduit.binding import Array, Body, Param


def errors_of(response):
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e for e in response.json()["error"]["detail"]}


@dataclass
class Line:
    sku: str
    price: Annotated[float, Param(ge=0)]
    quantity: int = 1


@dataclass
class Order:
    customer: str
    items: list[Line] = field(default_factory=list)
    note: str | None = None


class LineTD(TypedDict):
    sku: str
    price: float


class OrderTD(TypedDict, total=False):
    customer: str
    items: list[LineTD]


class LineStruct(msgspec.Struct):
    sku: str
    price: Annotated[float, msgspec.Meta(ge=0)]


class OrderStruct(msgspec.Struct):
    customer: str
    items: list[LineStruct] = []


class LineModel(pydantic.BaseModel):
    sku: str
    price: float = pydantic.Field(ge=0)


class OrderModel(pydantic.BaseModel):
    customer: str
    items: list[LineModel] = []


GOOD = {"customer": "ann", "items": [{"sku": "a", "price": 1.5}, {"sku": "b", "price": 2}]}
BAD = {"customer": 3, "items": [{"sku": "a", "price": 1.5}, {"sku": "b"}, {"sku": "c", "price": "x"},
                                {"sku": "d", "price": -1}]}


@pytest.mark.parametrize("model", [Order, OrderTD, OrderStruct, OrderModel])
def test_model_bodies(app, client_for, model):
    @app.post("/orders")
    def create(order: model) -> dict:
        if isinstance(order, dict):
            return {"customer": order["customer"], "total": sum(i["price"] for i in order["items"])}
        return {"customer": order.customer, "total": sum(i.price for i in order.items)}

    client = client_for(app)
    assert client.post("/orders", json=GOOD).json() == {"customer": "ann", "total": 3.5}
    errors = errors_of(client.post("/orders", json=BAD))
    # every failing field, with its location
    assert ("body", "customer") in errors
    assert ("body", "items", 1, "price") in errors
    assert ("body", "items", 2, "price") in errors
    if model is not OrderTD:  # the TypedDict carries no constraint
        assert ("body", "items", 3, "price") in errors or model is OrderStruct


def test_struct_constraint_reported_with_path(app, client_for):
    @app.post("/orders")
    def create(order: OrderStruct):
        return {}

    errors = errors_of(client_for(app).post("/orders", json={"customer": "a", "items": [{"sku": "d", "price": -1}]}))
    assert list(errors) == [("body", "items", 0, "price")]


def test_dataclass_errors_and_constraints(app, client_for):
    @app.post("/orders")
    def create(order: Order):
        return {"n": len(order.items), "q": order.items[0].quantity}

    client = client_for(app)
    assert client.post("/orders", json=GOOD).json() == {"n": 2, "q": 1}
    errors = errors_of(client.post("/orders", json=BAD))
    assert errors[("body", "items", 3, "price")]["type"] == "greater_than_equal"
    assert errors[("body", "items", 1, "price")]["type"] == "missing"
    assert errors[("body", "customer")]["type"] == "string_type"


def test_invalid_json_missing_body_and_wrong_shape(app, client_for):
    @app.post("/orders")
    def create(order: Order, page: int = 1):
        return {}

    client = client_for(app)
    broken = client.post("/orders?page=x", content=b"{not json")
    assert broken.status_code == 400  # not JSON: nothing to validate (conduit/_json.py)
    assert broken.json()["error"]["type"] == "invalid_json"
    assert errors_of(client.post("/orders?page=x", json=GOOD))[("query", "page")]["type"] == "int_parsing"
    assert errors_of(client.post("/orders"))[("body",)]["type"] == "missing"
    assert errors_of(client.post("/orders", json=[1, 2]))[("body",)]["type"] == "model_type"


def test_embedded_bodies(app, client_for):
    @app.post("/pair")
    def pair(left: Line, right: Line, weight: Annotated[float, Body()] = 1.0):
        return {"total": (left.price + right.price) * weight}

    client = client_for(app)
    body = {"left": {"sku": "a", "price": 1}, "right": {"sku": "b", "price": 2}, "weight": 2}
    assert client.post("/pair", json=body).json() == {"total": 6.0}
    errors = errors_of(client.post("/pair", json={"left": {"sku": "a", "price": "x"}}))
    assert set(errors) == {("body", "left", "price"), ("body", "right")}


def test_optional_body(app, client_for):
    @app.post("/maybe")
    def maybe(line: Line | None = None):
        return {"line": line is not None}

    client = client_for(app)
    assert client.post("/maybe").json() == {"line": False}
    assert client.post("/maybe", json={"sku": "a", "price": 1}).json() == {"line": True}


def test_ndarray_body(app, client_for):
    @app.post("/predict")
    def predict(x: Annotated[np.ndarray, Array(shape=(None, 3), dtype="float32")]):
        assert x.dtype == np.float32
        return {"rows": x.shape[0], "sum": x.sum(axis=1)}

    client = client_for(app)
    assert client.post("/predict", json=[[1, 2, 3], [4, 5, 6]]).json() == {"rows": 2, "sum": [6.0, 15.0]}
    assert errors_of(client.post("/predict", json=[[1, 2], [3, 4]]))[("body",)]["type"] == "array_shape"
    assert errors_of(client.post("/predict", json=[[1, 2, 3], [4, 5]]))[("body",)]["type"] == "array_shape"
    assert errors_of(client.post("/predict", json=[["a", "b", "c"]]))[("body",)]["type"] == "array_dtype"
    assert errors_of(client.post("/predict", json={"x": 1}))[("body",)]["type"] == "list_type"


def test_ndarray_field_in_dataclass(app, client_for):
    @dataclass
    class Batch:
        inputs: Annotated[np.ndarray, Array(shape=(None, 2), dtype="float64")]
        top_k: int = 1

    @app.post("/batch")
    def batch(b: Batch):
        return {"shape": list(b.inputs.shape)}

    client = client_for(app)
    assert client.post("/batch", json={"inputs": [[1, 2]]}).json() == {"shape": [1, 2]}
    assert ("body", "inputs") in errors_of(client.post("/batch", json={"inputs": [1, 2]}))


def test_return_values_serialize(app, client_for):
    @app.get("/order")
    def order() -> Order:
        return Order("ann", [Line("a", 1.0)])

    @app.get("/model")
    def model() -> OrderModel:
        return OrderModel(customer="bob")

    @app.get("/struct")
    def struct() -> OrderStruct:
        return OrderStruct(customer="cy", items=[LineStruct("a", 2.0)])

    @app.get("/array")
    def array() -> list[float]:
        return np.arange(3, dtype=np.float32)

    client = client_for(app)
    assert client.get("/order").json() == {"customer": "ann", "items": [{"sku": "a", "price": 1.0, "quantity": 1}], "note": None}
    assert client.get("/model").json() == {"customer": "bob", "items": []}
    assert client.get("/struct").json() == {"customer": "cy", "items": [{"sku": "a", "price": 2.0}]}
    assert client.get("/array").json() == [0.0, 1.0, 2.0]


def test_status_code_option(app, client_for):
    @app.post("/things", status_code=201)
    def create(line: Line) -> Line:
        return line

    response = client_for(app).post("/things", json={"sku": "a", "price": 1})
    assert response.status_code == 201
    assert response.json() == {"sku": "a", "price": 1.0, "quantity": 1}
