"""Issue 26, item 1: ``response_model=`` validates and filters the return value, as FastAPI does.

Before: ``@app.get("/rm", response_model=Out)`` was ignored and ``{"id": 1, "secret": "x"}`` leaked.
After: the value goes through the model (pydantic, dataclass, TypedDict, msgspec) and the
``response_model_*`` options; a value that does not fit is a logged 500; OpenAPI describes it;
a return annotation does the same unless ``response_model=None``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypedDict

import msgspec
import pydantic
import pytest

from conduit import Conduit, TestClient


class Out(pydantic.BaseModel):
    id: int
    nick: str | None = pydantic.Field(default=None, alias="nickName")
    tags: list[str] = []


@dataclass
class DataOut:
    id: int
    note: str | None = None


class DictOut(TypedDict):
    id: int


class StructOut(msgspec.Struct):
    id: int


def _client(app: Conduit) -> TestClient:
    return TestClient(app)


@pytest.mark.parametrize("model", [Out, DataOut, DictOut, StructOut], ids=lambda m: m.__name__)
def test_secret_field_is_filtered_out(model):
    app = Conduit()

    @app.get("/rm", response_model=model)
    async def rm():
        return {"id": 1, "secret": "x"}

    with _client(app) as client:
        body = client.get("/rm").json()
    assert "secret" not in body and body["id"] == 1


def test_return_annotation_filters_when_no_response_model():
    app = Conduit()

    @app.get("/ann")
    async def ann() -> DataOut:
        return {"id": 2, "secret": "y"}

    @app.get("/off", response_model=None)
    async def off() -> DataOut:
        return {"id": 3, "secret": "kept"}

    with _client(app) as client:
        assert client.get("/ann").json() == {"id": 2, "note": None}
        assert client.get("/off").json() == {"id": 3, "secret": "kept"}


def test_returned_model_instance_is_filtered_through_a_narrower_model():
    class Full(pydantic.BaseModel):
        id: int
        password: str

    app = Conduit()

    @app.get("/me", response_model=Out)
    async def me():
        return Full(id=5, password="hunter2")

    with _client(app) as client:
        assert "password" not in client.get("/me").text


def test_exclude_none_by_alias_include_exclude():
    app = Conduit()

    @app.get("/none", response_model=Out, response_model_exclude_none=True)
    async def none():
        return {"id": 1}

    @app.get("/names", response_model=Out, response_model_by_alias=False)
    async def names():
        return {"id": 1, "nickName": "n"}

    @app.get("/include", response_model=Out, response_model_include={"id"})
    async def include():
        return {"id": 1, "nickName": "n"}

    @app.get("/exclude", response_model=DataOut, response_model_exclude={"note"})
    async def exclude():
        return {"id": 1, "note": "n"}

    with _client(app) as client:
        assert client.get("/none").json() == {"id": 1, "tags": []}
        assert client.get("/names").json() == {"id": 1, "nick": "n", "tags": []}
        assert client.get("/include").json() == {"id": 1}
        assert client.get("/exclude").json() == {"id": 1}


def test_list_of_models_and_status_code_and_tuple():
    app = Conduit()

    @app.post("/many", response_model=list[DataOut], status_code=201)
    async def many():
        return [{"id": 1, "x": 0}, {"id": 2, "x": 0}]

    @app.get("/tuple", response_model=DataOut)
    async def pair():
        return {"id": 1, "x": 0}, 202

    with _client(app) as client:
        response = client.post("/many")
        assert response.status_code == 201
        assert response.json() == [{"id": 1, "note": None}, {"id": 2, "note": None}]
        response = client.get("/tuple")
        assert (response.status_code, response.json()) == (202, {"id": 1, "note": None})


def test_value_that_does_not_fit_is_a_logged_500_and_the_server_keeps_serving(caplog):
    app = Conduit()

    @app.get("/bad", response_model=Out)
    async def bad():
        return {"nope": 1}

    @app.get("/good", response_model=Out)
    async def good():
        return {"id": 1}

    with caplog.at_level(logging.ERROR), _client(app) as client:
        response = client.get("/bad")
        assert response.status_code == 500
        assert "nope" not in response.text  # nothing of the value reaches the client
        assert client.get("/good").status_code == 200
    assert any("does not fit its response model" in r.getMessage() or
               "does not fit its response model" in str(r.exc_info[1] if r.exc_info else "")
               for r in caplog.records)


def test_a_response_object_passes_through():
    from conduit import JSONResponse

    app = Conduit()

    @app.get("/raw", response_model=Out)
    async def raw():
        return JSONResponse({"anything": True})

    with _client(app) as client:
        assert client.get("/raw").json() == {"anything": True}


def test_openapi_describes_the_response_model():
    app = Conduit()

    @app.get("/rm", response_model=Out)
    async def rm():
        return {"id": 1}

    @app.get("/ann")
    async def ann() -> DataOut:
        return DataOut(1)

    doc = app.openapi()
    ok = doc["paths"]["/rm"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Out"}
    assert "Out" in doc["components"]["schemas"]
    ann_schema = doc["paths"]["/ann"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ann_schema == {"$ref": "#/components/schemas/DataOut"}


def test_unusable_response_model_is_a_registration_error():
    class Plain:
        pass

    app = Conduit()
    with pytest.raises(TypeError, match="response_model=.*Plain.* cannot be used: unsupported type Plain"):
        app.get("/x", response_model=Plain)(lambda: {})
    with pytest.raises(TypeError, match="is not a body type"):
        app.get("/y", response_model=str)(lambda: {})


def test_enum_members_that_are_also_str_or_int_fit_their_response_model():
    """A ``class Genre(str, Enum)`` member is a ``str`` too: it must be written as its value,
    not refused as a non-member (examples/rest_api.py returned 500 for every book)."""
    import enum

    class Genre(str, enum.Enum):
        FICTION = "fiction"

    class Level(enum.IntEnum):
        HIGH = 3

    @dataclass
    class Book:
        genre: Genre
        level: Level

    app = Conduit()

    @app.get("/book")
    async def book() -> Book:
        return Book(Genre.FICTION, Level.HIGH)

    @app.get("/books")
    async def books() -> list[Book]:
        return [Book(Genre.FICTION, Level.HIGH)]

    with TestClient(app) as client:
        assert client.get("/book").json() == {"genre": "fiction", "level": 3}
        assert client.get("/books").json() == [{"genre": "fiction", "level": 3}]
