"""The OpenAPI document: prediction routes' bodies and answers, API-key and bearer security."""

from __future__ import annotations

import numpy as np
import pytest
from openapi_spec_validator import validate
from sklearn.linear_model import LogisticRegression

from conduit import APIKeyAuth, Conduit
from conduit.observability import install


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(30, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def test_predict_route_documents_its_body_answers_and_errors(model):
    app = Conduit()
    app.predict("/predict/iris", model, name="iris")
    document = app.openapi()
    validate(document)
    op = document["paths"]["/predict/iris"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    rows_form, row_form, bare = body["anyOf"]  # {"rows": [...]}, {"row": [...]}, [...]
    assert rows_form["required"] == ["rows"] and row_form["required"] == ["row"]
    named, positional = rows_form["properties"]["rows"]["items"]["anyOf"]
    assert named["required"] == ["x0", "x1", "x2"] and named["additionalProperties"] is False
    assert positional["minItems"] == positional["maxItems"] == 3
    assert bare == rows_form["properties"]["rows"]
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["required"] == ["model", "version", "predictions"]
    assert {"400", "404", "413", "422", "500", "503", "504"} <= set(op["responses"])
    assert op["summary"] == "Predict with model 'iris'"


def test_api_key_and_bearer_are_security_schemes_with_per_route_scopes():
    auth = APIKeyAuth({"k1": ["read"], "k2": ["read", "admin"]})
    app = Conduit()
    install(app)
    app.add_middleware(auth)

    @app.get("/items")
    async def items():
        return []

    @app.delete("/items/{id:int}", middleware=[auth.requires("admin")])
    async def delete_item(id: int):
        return None

    document = app.openapi()
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerAuth"]["type"] == "http" and schemes["BearerAuth"]["scheme"] == "bearer"
    listing = document["paths"]["/items"]["get"]
    assert listing["security"] == [{"ApiKeyAuth": []}, {"BearerAuth": []}]
    assert "401" in listing["responses"] and "403" in listing["responses"]
    delete = document["paths"]["/items/{id}"]["delete"]
    assert delete["security"] == [{"ApiKeyAuth": ["admin"]}, {"BearerAuth": ["admin"]}]
    assert document["paths"]["/health"]["get"]["security"] == []  # probes carry no key


def test_without_auth_there_are_no_security_schemes():
    app = Conduit()

    @app.get("/open")
    async def open_():
        return {}

    document = app.openapi()
    assert "securitySchemes" not in document["components"]
    assert "security" not in document["paths"]["/open"]["get"]


def test_route_only_auth_adds_the_schemes_for_that_route():
    auth = APIKeyAuth(["secret"], bearer=False)
    app = Conduit()

    @app.get("/private", middleware=[auth.requires()])
    async def private():
        return {}

    @app.get("/public")
    async def public():
        return {}

    document = app.openapi()
    validate(document)
    assert document["components"]["securitySchemes"] == {
        "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
    assert document["paths"]["/private"]["get"]["security"] == [{"ApiKeyAuth": []}]
    assert "security" not in document["paths"]["/public"]["get"]
