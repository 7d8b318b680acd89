"""examples/rag_app.py over HTTP (in-process TestClient): happy paths and every bad input."""

from __future__ import annotations

import pytest

from conduit import TestClient


@pytest.fixture(scope="module")
def client():
    from examples.rag_app import app

    with TestClient(app) as c:
        r = c.post("/collections", json={"name": "v", "dim": 3, "metric": "euclidean"})
        assert r.status_code == 200, r.text
        r = c.post("/collections/v/vectors", json={
            "ids": ["a", "b", "c"], "vectors": [[0, 0, 0], [1, 1, 1], [5, 5, 5]],
            "metadata": [{"g": 1}, {"g": 2}, {"g": 2}]})
        assert r.json() == {"size": 3}
        yield c


def test_search_and_filter(client):
    r = client.post("/collections/v/search", json={"vector": [1, 1, 0.9], "k": 2})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert [h["id"] for h in hits] == ["b", "a"] and hits[0]["metadata"] == {"g": 2}
    r = client.post("/collections/v/search", json={"vector": [0, 0, 0], "k": 1, "filter": {"g": 2}})
    assert r.json()["hits"][0]["id"] == "b"
    r = client.post("/collections/v/search", json={"vectors": [[0, 0, 0], [5, 5, 5]], "k": 1})
    assert [res[0]["id"] for res in r.json()["results"]] == ["a", "c"]


def test_documents_search_and_ask(client):
    r = client.post("/documents", json={"texts": ["Pelicans eat fish near the harbour."],
                                        "ids": ["pelican"], "metadata": [{"kind": "bird"}]})
    assert r.status_code == 200, r.text
    r = client.get("/search", params={"q": "what is the vector store", "k": 2})
    assert r.status_code == 200 and len(r.json()["hits"]) == 2
    r = client.post("/ask", json={"question": "How do batches of queries run?"})
    body = r.json()
    assert r.status_code == 200 and "BLAS" in body["answer"] and body["sources"]
    r = client.post("/ask", json={"question": "How are filters applied?", "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "event: sources" in r.text and "event: done" in r.text


BAD = [
    ("/collections/v/vectors", {"ids": ["x"], "vectors": [[1, 2]]}, "vectors"),
    ("/collections/v/vectors", {"ids": ["x"], "vectors": [[1, 2, 1e39]]}, "vectors"),
    ("/collections/v/vectors", {"ids": ["x"], "vectors": [["a", "b", "c"]]}, "vectors"),
    ("/collections/v/vectors", {"ids": ["a"], "vectors": [[1, 2, 3]]}, "ids"),
    ("/collections/v/vectors", {"ids": ["x", "y"], "vectors": [[1, 2, 3]]}, "ids"),
    ("/collections/v/vectors", {"vectors": [[1, 2, 3]]}, "ids"),
    ("/collections/v/search", {"vector": [1, 2], "k": 1}, "query"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 0}, "k"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": "two"}, "k"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 1, "filter": {"g": {"$gt": "x"}}}, "filter"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 1, "filter": {"$bogus": 1}}, "filter"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 1, "filter": "g=1"}, "filter"),
    ("/collections/v/search", {"k": 1}, "vector"),
    ("/collections/nope/search", {"vector": [1, 2, 3]}, "name"),
    ("/collections", {"name": "w", "dim": 3, "metric": "hamming"}, "metric"),
    ("/collections", {"name": "w", "dim": -1}, "dim"),
    ("/collections", {"name": "v", "dim": 3}, "name"),
    ("/ask", {"question": ""}, "question"),
    ("/ask", {"question": "x", "k": -1}, "k"),
    ("/documents", {"texts": "not a list"}, "texts"),
]


@pytest.mark.parametrize("path, body, field", BAD)
def test_bad_input_is_422_naming_the_field(client, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["detail"]["field"] == field
    assert client.get("/collections/v").json()["size"] == 3  # nothing changed


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"vector": [NaN, 1, 2], "k": 1}',
                                 b'{"vector": [Infinity, 1, 2], "k": 1}'])
def test_malformed_bodies_are_422(client, raw):
    r = client.post("/collections/v/search", content=raw,
                    headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text


def test_overflowing_number_rejected(client):
    r = client.post("/collections/v/search", content=b'{"vector": [1e999, 0, 0], "k": 1}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert client.get("/collections/v").json()["size"] == 3
