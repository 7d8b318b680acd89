"""examples/rag_app.py on the real server (127.0.0.1, httpx): fresh documents, incremental SSE,
and a client that goes away stops the generation."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import pytest

from conduit import LiveServer
from conduit.vector import extractive_generator

TIMEOUT = 120  # generous: a loaded CI machine, not a speed check


@pytest.fixture(scope="module")
def server():
    from examples.rag_app import app

    with LiveServer(app) as live:
        yield live


def test_a_document_added_a_second_ago_is_found(server):
    doc_id = f"axolotl-{uuid.uuid4().hex[:6]}"
    r = httpx.post(server.url + "/documents", json={
        "texts": ["Axolotls regrow their limbs in cold mountain lakes."], "ids": [doc_id]}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    r = httpx.post(server.url + "/ask", json={"question": "What do axolotls regrow?"}, timeout=TIMEOUT)
    body = r.json()
    assert r.status_code == 200, r.text
    assert body["sources"][0]["id"] == doc_id and body["sources"][0]["score"] > 0
    assert "Axolotls regrow their limbs" in body["answer"]
    r = httpx.get(server.url + "/search", params={"q": "axolotls limbs", "k": 3}, timeout=TIMEOUT)
    assert [h["id"] for h in r.json()["hits"]] == [doc_id]
    r = httpx.request("DELETE", server.url + "/documents", json={"ids": [doc_id]}, timeout=TIMEOUT)
    assert r.json()["deleted"] == 1
    r = httpx.post(server.url + "/ask", json={"question": "What do axolotls regrow?"}, timeout=TIMEOUT)
    assert doc_id not in [s["id"] for s in r.json()["sources"]]


def test_unrelated_question_cites_nothing(server):
    r = httpx.post(server.url + "/ask", json={"question": "giraffes zebras"}, timeout=TIMEOUT)
    assert r.json() == {"answer": "I could not find an answer in the provided documents.", "sources": []}


class SlowGenerator:
    """Yields a token, then waits for the test before each next one; records what happened."""

    def __init__(self, total: int = 50):
        self.total = total
        self.produced = 0
        self.release = threading.Event()
        self.closed = threading.Event()

    def __call__(self, question, context, sources):
        try:
            for i in range(self.total):
                self.produced += 1
                yield f"token{i} "
                self.release.wait(timeout=20)
        finally:
            self.closed.set()


def sse_events(response):
    event = None
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield event, line.split(":", 1)[1].strip()


def test_stream_is_incremental_and_a_client_leaving_stops_generation(server):
    from examples.rag_app import app

    rag = app.state.rag
    slow = SlowGenerator()
    rag.generator = slow
    try:
        with httpx.stream("POST", server.url + "/ask", timeout=TIMEOUT,
                          json={"question": "How are filters applied?", "stream": True}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response)
            kind, data = next(events)
            assert kind == "sources" and json.loads(data)
            kind, data = next(events)
            # the first token arrived while the generator is still blocked before the second
            assert (kind, data) == ("token", "token0") and slow.produced == 1
        slow.release.set()  # the client has gone; let the blocked generator move on
        assert slow.closed.wait(timeout=20)
        assert slow.produced < slow.total
    finally:
        slow.release.set()
        rag.generator = extractive_generator


def test_stream_runs_to_done(server):
    with httpx.stream("POST", server.url + "/ask", timeout=TIMEOUT,
                      json={"question": "How are filters applied?", "stream": True}) as response:
        events = list(sse_events(response))
    kinds = [k for k, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and "token" in kinds
    assert "row mask" in json.loads(events[-1][1])["answer"]


def test_stream_bad_input_is_422_before_streaming(server, entries_of):
    r = httpx.post(server.url + "/ask", json={"question": "", "stream": True}, timeout=TIMEOUT)
    assert entries_of(r)[0]["loc"] == ["body", "question"]
