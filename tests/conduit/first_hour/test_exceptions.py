"""HTTP errors take the detail first, as FastAPI and Starlette users write them."""

from __future__ import annotations

import pytest

import conduit
from conduit import Conduit, HTTPError, HTTPException, InferenceError, ModelNotFound, NotFound, TestClient
from conduit import exceptions
from conduit.resilience import CircuitOpenError

SUBCLASSES = [cls for cls in vars(exceptions).values()
              if isinstance(cls, type) and issubclass(cls, exceptions.StatusError)
              and cls not in (exceptions.StatusError, exceptions.ValidationError)] + [CircuitOpenError]


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda cls: cls.__name__)
def test_every_subclass_takes_the_detail_positionally(cls):
    error = cls("user 42 missing")
    assert error.detail == "user 42 missing"
    assert error.status_code == cls.status_code
    assert cls("x", {"retry-after": "1"}).headers == {"retry-after": "1"}
    assert cls().detail  # the status phrase by default


def test_validation_error_takes_its_errors_positionally():
    assert exceptions.ValidationError("page: must be >= 1").detail == [
        {"loc": [], "msg": "page: must be >= 1", "type": "value_error"}]


def test_validation_error_splits_a_legacy_dotted_loc():
    error = exceptions.ValidationError([{"loc": "body.items[3].price", "msg": "bad", "type": "value_error"},
                                        {"loc": ["query", "k"], "msg": "bad", "type": "int_parsing"}])
    assert [e["loc"] for e in error.detail] == [["body", "items", 3, "price"], ["query", "k"]]


def test_the_base_keeps_status_then_detail_and_has_the_starlette_name():
    assert HTTPException is HTTPError and "HTTPException" in conduit.__all__
    error = HTTPException(418, "short and stout", headers={"x-pot": "tea"})
    assert (error.status_code, error.detail, error.headers, error.type) == (418, "short and stout",
                                                                            {"x-pot": "tea"}, "i_m_a_teapot")
    with pytest.raises(TypeError, match="subclass takes the detail first"):
        HTTPError("user 42 missing")
    with pytest.raises(ValueError, match="4xx or 5xx"):
        HTTPError(200, "fine")


def _app() -> Conduit:
    app = Conduit()

    @app.get("/users/{id:int}")
    def user(id: int):
        raise NotFound(f"user {id} missing")

    @app.get("/models/{name}")
    def model(name: str):
        raise ModelNotFound(name)

    @app.get("/broken")
    def broken():
        raise InferenceError("model 'iris' failed to predict")

    @app.get("/teapot")
    def teapot():
        raise HTTPException(418, "no coffee")
    return app


@pytest.mark.parametrize("path, status, type_, detail", [
    ("/users/42", 404, "not_found", "user 42 missing"),
    ("/models/iris", 404, "model_not_found", "iris"),
    ("/broken", 500, "inference_error", "model 'iris' failed to predict"),
    ("/teapot", 418, "i_m_a_teapot", "no coffee"),
])
def test_raised_errors_answer_with_their_status_type_and_detail(path, status, type_, detail):
    with TestClient(_app()) as client:
        response = client.get(path)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["status"], error["type"], error["detail"]) == (status, type_, detail)
