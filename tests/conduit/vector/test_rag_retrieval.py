"""RAGPipeline retrieval: documents added later are found, noise is not cited, hybrid search."""

from __future__ import annotations

import numpy as np
import pytest

from conduit.vector import (
    NO_ANSWER,
    Chunker,
    RAGPipeline,
    TfidfEmbedder,
    VectorInputError,
    VectorStore,
)

text = pytest.importorskip("sklearn.feature_extraction.text", reason="sklearn is in the test extra (./dev test installs it)")

SEED = [
    "Numba compiles Python functions to machine code.",
    "The vector store keeps float32 rows and searches them exactly.",
    "Trio runs the server; each connection is one task.",
]
LATER = "Pelicans eat fish near the harbour at dawn."


def seeded(**options) -> RAGPipeline:
    emb = TfidfEmbedder().fit(SEED)
    rag = RAGPipeline(VectorStore(emb.dim, device="cpu"), emb, **{"k": 3, **options})
    rag.add_documents(SEED, ids=["numba", "store", "trio"])
    return rag


@pytest.mark.parametrize("retrieval", ["vector", "bm25", "hybrid"])
def test_a_document_added_later_with_new_words_is_found(retrieval):
    rag = seeded(retrieval=retrieval)
    rag.ask("What does Numba compile?")  # the pipeline has answered before the add
    rag.add_documents([LATER], ids=["pelican"])
    ans = rag.ask("What do pelicans eat?")
    assert [s.id for s in ans.sources] == ["pelican"] and "Pelicans eat fish" in ans.answer
    assert ans.sources[0].score > 0
    assert rag.delete_documents(["pelican"]) == 1
    gone = rag.ask("What do pelicans eat?")
    assert gone.sources == [] and gone.answer == NO_ANSWER


def test_refit_scores_equal_sklearn_fitted_on_the_current_corpus():
    rag = seeded(k=4)
    rag.add_documents([LATER, "Fish swim in the harbour of the vector city."], ids=["pelican", "fish"])
    corpus = SEED + [LATER, "Fish swim in the harbour of the vector city."]
    ref = text.TfidfVectorizer().fit(corpus)
    question = "fish in the vector harbour"
    want = (ref.transform(corpus) @ ref.transform([question]).T).toarray().ravel()
    ids = ["numba", "store", "trio", "pelican", "fish"]
    got = {s.id: s.score for s in rag.retrieve(question)}
    expected = {i: w for i, w in zip(ids, want) if w > 0}
    assert got.keys() == expected.keys()
    for i in got:
        assert got[i] == pytest.approx(expected[i], abs=1e-6)
    assert rag.store.dim == len(ref.vocabulary_)


def test_many_adds_refit_once_before_the_next_query(monkeypatch):
    rag = seeded()
    fits = []
    original = rag.embedder.fit
    monkeypatch.setattr(rag.embedder, "fit", lambda texts: fits.append(len(texts)) or original(texts))
    for i in range(3):
        rag.add_documents([f"document number {i} about zebras"], ids=[f"z{i}"])
    assert fits == []
    assert len(rag.retrieve("zebras")) == 3
    rag.retrieve("zebras")
    assert fits == [6]


def test_min_score_cites_nothing_rather_than_noise():
    calls = []
    rag = seeded(generator=lambda q, c, s: calls.append(s) or "generated")
    ans = rag.ask("completely unrelated words like giraffe")
    assert ans.sources == [] and ans.answer == NO_ANSWER and calls == []
    events = list(rag.stream("giraffe"))
    assert events[0] == {"event": "sources", "data": []}
    assert events[-1]["data"]["answer"] == NO_ANSWER
    strict = seeded(min_score=0.99)
    assert strict.retrieve("Numba compiles Python functions") == []
    loose = seeded(min_score=-1.0)  # keeps everything the store returns
    assert len(loose.retrieve("Numba")) == 3


def test_distance_metrics_use_max_distance():
    emb = TfidfEmbedder().fit(SEED)
    store = VectorStore(emb.dim, metric="euclidean", device="cpu")
    with pytest.raises(VectorInputError, match="distance: use max_distance"):
        RAGPipeline(store, emb, min_score=0.1)
    with pytest.raises(VectorInputError, match="similarity: use min_score"):
        RAGPipeline(VectorStore(emb.dim, device="cpu"), emb, max_distance=1.0)
    rag = RAGPipeline(store, emb, k=3, max_distance=1.2)
    rag.add_documents(SEED, ids=["numba", "store", "trio"])
    hits = rag.retrieve("Numba compiles Python functions to machine code.")
    assert [h.id for h in hits] == ["numba"] and hits[0].score == pytest.approx(0.0, abs=1e-6)
    assert len(RAGPipeline(rag.store, emb, k=3).retrieve("Numba")) == 3  # no default limit


def test_hybrid_fusion_rrf_and_weighted():
    for fusion in ("rrf", "weighted"):
        rag = seeded(retrieval="hybrid", fusion=fusion, alpha=0.3)
        hits = rag.retrieve("the server task")
        assert hits[0].id == "trio" and all(h.score >= 0 for h in hits)
        filtered = rag.retrieve("the server task", filter={"nope": 1})
        assert filtered == []
    with pytest.raises(VectorInputError, match="retrieval"):
        seeded(retrieval="sparse")
    with pytest.raises(VectorInputError, match="fusion"):
        seeded(retrieval="hybrid", fusion="max")
    with pytest.raises(VectorInputError, match="alpha"):
        seeded(retrieval="hybrid", alpha=2)


def test_chunked_documents_cite_document_and_offset():
    long_doc = " ".join(f"Sentence {i} mentions topic{i}." for i in range(40))
    emb = TfidfEmbedder().fit(SEED)
    rag = RAGPipeline(VectorStore(emb.dim, device="cpu"), emb, k=2,
                      chunker=Chunker(size=120, overlap=40), retrieval="hybrid")
    rag.add_documents([long_doc, SEED[0]], ids=["long", "numba"], metadata=[{"kind": "l"}, {"kind": "n"}])
    assert len(rag.store) > 5
    hit = rag.retrieve("which sentence mentions topic17")[0]
    assert hit.document == "long" and hit.metadata == {"kind": "l"}
    assert long_doc[hit.offset:hit.offset + len(hit.text)] == hit.text and "topic17" in hit.text
    cited = rag.stream("topic17")
    first = next(cited)["data"][0]
    assert first["document"] == "long" and first["offset"] == hit.offset
    before = len(rag.store)
    rag.add_documents(["A short replacement."], ids=["long"])  # all old chunks go
    assert len(rag.store) == 2 and before > 2
    assert rag.retrieve("topic17") == []
    assert rag.retrieve("short replacement")[0].document == "long"


def test_bad_documents_and_options():
    rag = seeded()
    with pytest.raises(VectorInputError, match="ids"):
        rag.add_documents(["a text"], ids=["x", "y"])
    with pytest.raises(VectorInputError, match="ids must be a list"):
        rag.add_documents(["a text"], ids="x")
    with pytest.raises(VectorInputError, match="chunker"):
        seeded(chunker=100)
    assert len(rag.store) == 3
    vectors = rag.embedder.embed(["Numba"])
    assert vectors.shape == (1, rag.store.dim) and np.isfinite(vectors).all()


def test_adds_and_questions_from_threads_never_see_a_half_refit_pipeline():
    import threading

    rag = seeded()
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(8):
                rag.add_documents([f"writer{w} adds word{w}x{i} to the corpus"], ids=[f"w{w}-{i}"])
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(12):
                rag.retrieve("the corpus words")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for w in range(2):
        for i in range(8):
            assert rag.retrieve(f"word{w}x{i}")[0].id == f"w{w}-{i}"
