"""Handlers returning tuples: Flask's ``(body, status)``, ``(body, headers)``, ``(body, status, headers)``."""

from __future__ import annotations

import pytest

from conduit import Conduit, JSONResponse, TestClient

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
