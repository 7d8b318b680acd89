"""RAGPipeline: retrieval with scores and metadata, context budget, generators, streaming."""

from __future__ import annotations

import pytest
import trio

from conduit.vector import NO_ANSWER, RAGPipeline, TfidfEmbedder, VectorInputError, VectorStore

DOCS = [
    "Numba compiles Python functions to machine code. It uses LLVM.",
    "The vector store keeps float32 rows. Search is exact top-k.",
    "TF-IDF weighs terms by inverse document frequency. Rare terms weigh more.",
    "Trio runs the server. Each connection is one task.",
]


def pipeline(generator=None, **options):
    emb = TfidfEmbedder().fit(DOCS)
    store = VectorStore(emb.dim, device="cpu")
    rag = RAGPipeline(store, emb, generator, **options)
    rag.add_documents(DOCS, ids=["numba", "store", "tfidf", "trio"],
                      metadata=[{"topic": t} for t in ["jit", "search", "text", "server"]])
    return rag


def test_ask_retrieves_and_cites():
    rag = pipeline(k=2)
    ans = rag.ask("What does Numba compile?")
    assert ans.sources[0].id == "numba" and ans.sources[0].metadata == {"topic": "jit"}
    assert ans.sources[0].score > 0 and "Numba compiles Python functions" in ans.answer
    assert "numba" in [s["id"] for s in ans.to_dict()["sources"]]
    filtered = rag.ask("What does Numba compile to machine code? Which server?",
                       filter={"topic": "server"})
    assert [s.id for s in filtered.sources] == ["trio"]
    unrelated = rag.ask("What does Numba compile?", filter={"topic": "server"})
    assert unrelated.sources == [] and unrelated.answer == NO_ANSWER  # a 0.0 score is not cited


def test_context_budget():
    rag = pipeline(max_context_chars=80, k=4)
    ans = rag.ask("exact top-k search of float32 rows")
    assert len(ans.context) <= 80 and ans.sources[0].id == "store"
    rag = pipeline(max_context_tokens=5, k=4)
    ans = rag.ask("exact top-k search")
    assert len(ans.context.split()) <= 5 and len(ans.sources) == 1


def test_custom_sync_async_and_chunked_generators():
    seen = {}

    def sync_gen(question, context, sources):
        seen["n"] = len(sources)
        return f"{len(sources)} sources"

    async def async_gen(question, context, sources):
        await trio.sleep(0)
        return "async answer"

    def chunk_gen(question, context, sources):
        yield "part one, "
        yield "part two"

    assert pipeline(sync_gen, k=3).ask("terms, rows and the server").answer == "3 sources"
    assert pipeline(async_gen).ask("terms").answer == "async answer"
    assert trio.run(pipeline(async_gen).aask, "terms").answer == "async answer"
    events = list(pipeline(chunk_gen).stream("terms"))
    assert events[0]["event"] == "sources" and events[-1]["event"] == "done"
    assert [e["data"] for e in events if e["event"] == "token"] == ["part one, ", "part two"]
    assert events[-1]["data"]["answer"] == "part one, part two"

    async def agen(question, context, sources):
        for word in ("a ", "b"):
            yield word

    async def collect():
        return [e async for e in pipeline(agen).astream("terms")]

    got = trio.run(collect)
    assert got[-1]["data"]["answer"] == "a b"


def test_default_streams_words():
    events = list(pipeline().stream("How does trio run the server?"))
    tokens = "".join(e["data"] for e in events if e["event"] == "token")
    assert "Trio runs the server." in tokens


def test_bad_input():
    rag = pipeline()
    with pytest.raises(VectorInputError, match="question"):
        rag.ask("  ")
    with pytest.raises(VectorInputError, match="k must be"):
        rag.ask("x", k=0)
    with pytest.raises(VectorInputError, match="texts"):
        rag.add_documents([""])
    with pytest.raises(VectorInputError, match="embedder dim"):
        RAGPipeline(VectorStore(3, device="cpu"), TfidfEmbedder().fit(DOCS))


def test_empty_store_answers_without_sources():
    emb = TfidfEmbedder().fit(DOCS)
    ans = RAGPipeline(VectorStore(emb.dim, device="cpu"), emb).ask("anything")
    assert ans.sources == [] and "could not find" in ans.answer
