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


BAD = [  # (path, body, loc, type): binding refuses the shape, the store what only it can judge
    ("/collections/v/vectors", {"ids": ["x"], "vectors": [[1, 2]]}, ["body", "vectors"], "value_error"),
    ("/collections/v/vectors", {"ids": ["x"], "vectors": [[1, 2, 1e39]]}, ["body", "vectors"], "value_error"),
    ("/collections/v/vectors", {"ids": ["x"], "vectors": [["a", "b", "c"]]}, ["body", "vectors"], None),
    ("/collections/v/vectors", {"ids": ["a"], "vectors": [[1, 2, 3]]}, ["body", "ids"], "value_error"),
    ("/collections/v/vectors", {"ids": ["x", "y"], "vectors": [[1, 2, 3]]}, ["body", "ids"], "value_error"),
    ("/collections/v/vectors", {"vectors": [[1, 2, 3]]}, ["body", "ids"], "missing"),
    ("/collections/v/search", {"vector": [1, 2], "k": 1}, ["body", "vector"], "value_error"),
    ("/collections/v/search", {"vectors": [[1, 2]], "k": 1}, ["body", "vectors"], "value_error"),
    # the search body is one query or a batch (a union): the entries are those of the member
    # the body came closest to (a single query here), naming the field inside it
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 0}, ["body", "k"], "greater_than_equal"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": "two"}, ["body", "k"], None),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 1, "filter": {"g": {"$gt": "x"}}}, ["body", "filter"],
     "value_error"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 1, "filter": {"$bogus": 1}}, ["body", "filter"],
     "value_error"),
    ("/collections/v/search", {"vector": [1, 2, 3], "k": 1, "filter": "g=1"}, ["body", "filter"], None),
    ("/collections/v/search", {"k": 1}, ["body", "vector"], "missing"),
    ("/collections", {"name": "w", "dim": 3, "metric": "hamming"}, ["body", "metric"], "enum"),
    ("/collections", {"name": "w", "dim": -1}, ["body", "dim"], "greater_than_equal"),
    ("/collections", {"name": "w", "dim": 10 ** 9}, ["body", "dim"], "less_than_equal"),
    ("/collections/v/vectors", {"ids": [], "vectors": []}, ["body", "ids"], None),
    ("/ask", {"question": " "}, ["body", "question"], None),
    ("/ask", {"question": "x", "filter": {"$bogus": 1}}, ["body", "filter"], "value_error"),
    ("/ask", {"question": "x", "k": -1}, ["body", "k"], "greater_than_equal"),
    ("/documents", {"texts": "not a list"}, ["body", "texts"], None),
]


@pytest.mark.parametrize("path, body, loc, type", BAD)
def test_bad_input_is_422_naming_the_field(client, entries_of, path, body, loc, type):
    entry = entries_of(client.post(path, json=body))[0]
    assert entry["loc"] == loc
    if type is not None:  # None: any code of errors.md
        assert entry["type"] == type
    assert client.get("/collections/v").json()["size"] == 3  # nothing changed


def test_unknown_collection_is_404_and_a_taken_name_409(client):
    r = client.post("/collections/nope/search", json={"vector": [1, 2, 3]})
    assert r.status_code == 404 and "nope" in r.json()["error"]["detail"]
    r = client.post("/collections", json={"name": "v", "dim": 3})
    assert r.status_code == 409 and "already exists" in r.json()["error"]["detail"]


def test_store_refusals_of_a_query_parameter_name_it(client, entries_of):
    (entry,) = entries_of(client.get("/search", params={"q": "x", "k": 0}))
    assert entry["loc"] == ["query", "k"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"vector": [NaN, 1, 2], "k": 1}',
                                 b'{"vector": [Infinity, 1, 2], "k": 1}', b'{"vector": [1e999, 0, 0], "k": 1}',
                                 b'{"vector": [1, 0, 0], "k": 1\xff}'])
def test_a_body_that_is_not_json_is_400(client, raw):
    r = client.post("/collections/v/search", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_json"
    assert client.get("/collections/v").json()["size"] == 3


def test_a_body_of_the_wrong_shape_is_422(client, entries_of):
    (entry,) = entries_of(client.post("/collections/v/search", json=[1, 2]))
    assert entry["loc"] == ["body"]
