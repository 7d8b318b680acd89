"""The OpenAPI document: valid 3.1, built from signatures, docstrings, return types and errors."""

import dataclasses
from typing import Annotated

import pytest
from openapi_spec_validator import validate

from conduit import Conduit, Conflict, TestClient
from conduit.binding import Body, Header, Query


@dataclasses.dataclass
class Item:
    """An item for sale."""

    name: str
    price: Annotated[float, Query(ge=0)]
    tags: list[str] = dataclasses.field(default_factory=list)


def make_app():
    app = Conduit(title="Shop", version="2.0")

    @app.get("/items", tags=["catalog"])
    def list_items(page: Annotated[int, Query(ge=1, description="1-based")] = 1,
                   q: str | None = None, tags: list[str] = []) -> list[Item]:
        """List items.

        Paged, filtered by tags.
        """
        return []

    @app.post("/items", status_code=201, errors=[Conflict])
    def create_item(item: Item, x_request: Annotated[str | None, Header()] = None) -> Item:
        return item

    @app.get("/items/{id:int}")
    def get_item(id: int) -> Item:
        return Item("a", 1.0)

    @app.delete("/items/{id:int}")
    def delete_item(id: int) -> None:
        return None

    @app.post("/pair")
    def pair(a: Item, b: Item, weight: Annotated[float, Body()] = 1.0) -> dict:
        return {}

    @app.get("/hidden", include_in_schema=False)
    def hidden() -> str:
        return "x"

    @app.route("/both", methods=["GET", "POST"])
    def both() -> str:
        return "x"

    return app


@pytest.fixture(scope="module")
def doc():
    return make_app().openapi()


def test_document_is_valid_openapi_31(doc):
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Shop", "version": "2.0"}


def test_paths_operations_and_ids(doc):
    assert set(doc["paths"]) == {"/items", "/items/{id}", "/pair", "/both"}
    ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert ids == {"list_items", "create_item", "get_item", "delete_item", "pair", "both_get", "both_post"}
    assert "/openapi.json" not in doc["paths"] and "/docs" not in doc["paths"]


def test_parameters_docstrings_and_tags(doc):
    op = doc["paths"]["/items"]["get"]
    assert op["summary"] == "List items."
    assert op["description"] == "Paged, filtered by tags."
    assert op["tags"] == ["catalog"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["page"]["schema"] == {"type": "integer", "minimum": 1, "description": "1-based", "default": 1}
    assert params["page"]["required"] is False
    assert params["q"]["schema"] == {"type": "string"}
    assert params["tags"]["schema"]["type"] == "array"
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Item"}}
    assert "422" in op["responses"]


def test_bodies_errors_and_status(doc):
    op = doc["paths"]["/items"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}
    assert set(op["responses"]) == {"201", "400", "409", "422"}  # 400: a body that is not JSON
    assert op["parameters"][0] == {"name": "x-request", "in": "header", "required": False, "schema": {"type": "string"}}
    item = doc["components"]["schemas"]["Item"]
    assert item["required"] == ["name", "price"]
    assert item["properties"]["price"] == {"type": "number", "minimum": 0}
    assert item["description"] == "An item for sale."
    pair = doc["paths"]["/pair"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(pair["properties"]) == {"a", "b", "weight"} and pair["required"] == ["a", "b"]


def test_path_params_404_and_204(doc):
    op = doc["paths"]["/items/{id}"]["get"]
    assert op["parameters"] == [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    assert {"200", "404"} <= set(op["responses"])
    assert "204" in doc["paths"]["/items/{id}"]["delete"]["responses"]
    assert set(doc["components"]["responses"]) == {"NotFound", "MethodNotAllowed", "ValidationError"}


def test_served_and_switchable():
    app = make_app()
    with TestClient(app) as client:
        served = client.get("/openapi.json")
        assert served.status_code == 200 and served.json() == app.openapi()
        page = client.get("/docs")
        assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        asset = client.get("/docs/static/swagger-ui-bundle.js")
        assert asset.status_code == 200 and asset.headers["content-type"] == "application/javascript"
        assert client.get("/docs/static/secret.txt").status_code == 404
    off = Conduit(openapi_url=None, docs_url=None)
    assert off.router.routes == []
    with TestClient(off) as client:
        assert client.get("/openapi.json").status_code == 404


def test_document_follows_new_routes():
    app = Conduit()
    assert app.openapi()["paths"] == {}

    @app.get("/late")
    def late() -> str:
        return "x"
    assert "/late" in app.openapi()["paths"]


def test_import_conduit_stays_light():
    import subprocess
    import sys

    code = ("import sys, conduit; conduit.Conduit(); "
            "print(any(m.startswith(('conduit.openapi.document', 'conduit.openapi.schema', 'swagger_ui', "
            "'pydantic', 'msgspec', 'jinja2')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_examples_documents_are_valid():
    from examples.rest_api import app

    validate(app.openapi())
