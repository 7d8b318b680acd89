"""Issue 26, item 2 (last sentence): ``examples/hello.py``'s ``/echo`` docstring, shown on ``/docs``,
said invalid JSON is a 422 while the server answered 400. After: what ``/docs`` says is what the
route answers, and the OpenAPI document lists the 400."""

from __future__ import annotations

from conduit import TestClient


def test_echo_docs_and_answer_agree_on_400_for_a_body_that_is_not_json():
    from examples.hello import app

    operation = app.openapi()["paths"]["/echo"]["post"]
    described = operation.get("description", "") + operation["summary"]
    assert "400" in described and "422" not in described
    assert "400" in operation["responses"]
    with TestClient(app) as client:
        response = client.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_json"
        assert client.post("/echo", json={"a": 1}).json() == {"received": {"a": 1}}
