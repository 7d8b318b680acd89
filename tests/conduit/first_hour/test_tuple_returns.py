"""Handlers returning tuples: Flask's ``(body, status)``, ``(body, headers)``, ``(body, status, headers)``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit import Conduit, JSONResponse, TestClient
from conduit.http.returns import to_response

CASES = {
    "/created": (({"id": 1}, 201), 201, {"id": 1}, {}),
    "/text": (("made", 201), 201, "made", {}),
    "/headers": (({"ok": True}, {"x-a": "1"}), 200, {"ok": True}, {"x-a": "1"}),
    "/all": (({"ok": True}, 202, {"location": "/jobs/7"}), 202, {"ok": True}, {"location": "/jobs/7"}),
    "/pairs": (("x", 200, [("x-b", "2")]), 200, "x", {"x-b": "2"}),
    "/response": ((JSONResponse({"r": 1}), 203), 203, {"r": 1}, {}),
    "/empty": ((None, 204), 204, None, {}),
}


def _app() -> Conduit:
    app = Conduit()
    for path, (value, *_rest) in CASES.items():
        app.add_route(path, lambda value=value: value)
    for path, value in {"/four": ("a", 200, {}, 1), "/status": ({"a": 1}, "201"),
                        "/range": ("a", 99), "/nested": ((1, 2), 200)}.items():
        app.add_route(path, lambda value=value: value)
    app.add_route("/list", lambda: [1, 2])
    return app


@pytest.fixture(scope="module")
def client():
    with TestClient(_app()) as client:
        yield client


@pytest.mark.parametrize("path", CASES)
def test_tuple_means_body_status_headers(client, path):
    _, status, body, headers = CASES[path]
    response = client.get(path)
    assert response.status_code == status
    if body is None:
        assert response.content == b""
    elif isinstance(body, str):
        assert response.text == body
    else:
        assert response.json() == body
    for name, value in headers.items():
        assert response.headers[name] == value


@pytest.mark.parametrize("path", ["/four", "/status", "/range", "/nested"])
def test_malformed_tuples_are_a_500_logged_with_the_reason(client, path, caplog):
    response = client.get(path)
    assert response.status_code == 500
    assert "tuple" in caplog.text


def test_a_list_is_still_a_json_array(client):
    assert client.get("/list").json() == [1, 2]


JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                     max_size=3),
                       max_leaves=6)


@given(st.tuples(*[JSONISH] * 1) | st.tuples(JSONISH, JSONISH) | st.tuples(JSONISH, JSONISH, JSONISH)
       | st.tuples(JSONISH, st.integers(100, 599), st.dictionaries(st.text(min_size=1, max_size=5,
                                                                           alphabet="abcxyz-"),
                                                                   st.text(max_size=5, alphabet="abc123"),
                                                                   max_size=3)))
@settings(max_examples=300, deadline=None)
def test_any_tuple_is_a_response_or_a_type_error_naming_the_tuple(value):
    try:
        response = to_response(value)
    except TypeError as exc:
        assert "tuple" in str(exc)
    else:
        assert 100 <= response.status_code <= 599
        # None in the status or headers place means "not given", as in Flask
        assert (value[1] is None or isinstance(value[1], (int, dict, list))) and not isinstance(value[0], tuple)
