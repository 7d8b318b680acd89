"""Errors become responses in one place, by the status the exception carries.

Issue 21's attack: ``VectorInputError`` declares 422 and was answered 500 (the app
mapped errors with an isinstance chain that knew only HTTPError).
"""

from __future__ import annotations

import logging

import hypothesis.strategies as st
from hypothesis import given, settings

from conduit import Conduit
from conduit.exceptions import NotFound
from conduit.http.request import BodyTooLarge, ClientDisconnect, Request
from conduit.lifecycle import mapped_response, status_of
from conduit.testing import TestClient
from conduit.vector.errors import VectorInputError


class Teapot(Exception):
    status_code = 418
    detail = "short and stout"
    headers = {"x-tea": "earl grey"}


class Hinted(Exception):
    error_status_hint = 409


class Leaky(Exception):
    status_code = 502


def test_vector_input_error_answers_422():
    app = Conduit()

    @app.get("/search")
    async def search():
        raise VectorInputError("k", "k must be at least 1, got 0")

    with TestClient(app) as client:
        response = client.get("/search")
    assert response.status_code == 422
    assert response.json()["error"]["detail"] == "k: k must be at least 1, got 0"


def test_the_status_an_exception_carries_is_the_answer():
    assert status_of(VectorInputError("k", "bad")) == 422
    assert status_of(BodyTooLarge("big")) == 413
    assert status_of(ClientDisconnect("gone")) == 400
    assert status_of(NotFound()) == 404
    assert status_of(Hinted()) == 409
    assert status_of(ValueError("x")) is None


def test_detail_headers_and_type_come_from_the_exception():
    response = mapped_response(Request("GET", b"/"), Teapot())
    assert response.status_code == 418
    assert ("x-tea", "earl grey") in response.headers
    assert b"short and stout" in response.body


def test_a_5xx_from_a_foreign_exception_never_shows_its_text(caplog):
    with caplog.at_level(logging.ERROR, logger="conduit.error"):
        response = mapped_response(Request("GET", b"/"), Leaky("db password is hunter2"))
    assert response.status_code == 502
    assert b"hunter2" not in response.body
    assert any("hunter2" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_custom_handler_by_the_carried_status():
    app = Conduit()

    @app.exception_handler(422)
    async def unprocessable(request, exc):
        return {"custom": str(exc)}

    @app.get("/v")
    async def v():
        raise VectorInputError("q", "empty")

    with TestClient(app) as client:
        assert client.get("/v").json() == {"custom": "q: empty"}


@settings(max_examples=200, deadline=None)
@given(status=st.one_of(st.integers(-1000, 1000), st.booleans(), st.none(), st.text(max_size=3),
                        st.floats(allow_nan=True)),
       attribute=st.sampled_from(["status_code", "error_status_hint"]))
def test_any_carried_status_maps_to_a_valid_error(status, attribute):
    exc = type("Odd", (Exception,), {attribute: status})("odd")
    response = mapped_response(Request("GET", b"/x"), exc)
    assert 400 <= response.status_code <= 599
    if type(status) is int and 400 <= status <= 599:
        assert response.status_code == status
    else:
        assert response.status_code == 500
