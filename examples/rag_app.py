"""Vector search and RAG over HTTP: `conduit run examples.rag_app:app`.

Endpoints (JSON bodies)::

    POST   /collections                      {"name", "dim", "metric"?, "dtype"?}
    GET    /collections/{name}               size, dim, metric
    POST   /collections/{name}/vectors       {"ids", "vectors", "metadata"?, "upsert"?}
    DELETE /collections/{name}/vectors       {"ids"}
    POST   /collections/{name}/search        {"vector" | "vectors", "k"?, "filter"?}
    POST   /documents                        {"texts", "ids"?, "metadata"?}   (the RAG corpus)
    DELETE /documents                        {"ids"}
    GET    /search?q=...&k=3                 text search over the documents
    POST   /ask                              {"question", "k"?, "filter"?, "stream"?}
                                             stream=true answers over Server-Sent Events

Bodies are typed (dataclasses below), so the OpenAPI document says what each
endpoint accepts and bad input gets the framework's one answer: a body that is not
JSON is 400 ``invalid_json``; JSON that fails is 422 with ``detail`` a list of
``{"loc", "msg", "type"}`` entries (``["body", "k"]``, ``["query", "k"]``). What only
the store can judge (a vector of the wrong dimension, NaN/inf, an unknown metric, a
malformed filter, an id already stored) is the same kind of entry, naming the body
field; an unknown collection is 404. The stores are checked before they change, so a
rejected request leaves them as they were. A document
is retrievable from the next request on: the TF-IDF embedder is refit on the
corpus before the first question after a change (see ``conduit.vector.rag``),
and answers cite only sources that share something with the question. The kernels
compile (or load from Numba's cache) in a warm-up, before the socket accepts.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Annotated, Any, Iterator, Literal

import numpy as np
from conduit_kernels.distances import METRIC_NAMES

from conduit import Body, Conduit, EventSourceResponse, Query
from conduit.binding import Array, Param
from conduit.exceptions import Conflict, NotFound, ValidationError
from conduit.vector import RAGPipeline, TfidfEmbedder, VectorInputError, VectorStore

SEED_CORPUS = [
    "Conduit is a Python web framework whose hot paths are Numba kernels.",
    "The vector store searches exactly: a fused scan keeps the k best rows per thread.",
    "Batches of queries use BLAS matrix products, then a parallel selection kernel.",
    "TF-IDF is computed over one UTF-8 byte buffer and equals scikit-learn's output.",
    "Trio and h11 serve HTTP; sync handlers run in worker threads.",
    "Filters on metadata become a row mask inside the scan, so they cost no extra pass.",
]
#: The largest collection dimension this demo creates (a store allocates dim floats per row).
MAX_DIM = 4096

app = Conduit(title="Conduit RAG demo")
app.state.collections = {}
embedder = TfidfEmbedder().fit(SEED_CORPUS)
app.state.rag = RAGPipeline(VectorStore(embedder.dim, metric="cosine"), embedder, k=3)
app.state.rag.add_documents(SEED_CORPUS, ids=[f"seed-{i}" for i in range(len(SEED_CORPUS))],
                            metadata=[{"source": "seed"}] * len(SEED_CORPUS))

Id = Annotated[str, Param(min_length=1)] | int
Ids_ = Annotated[list[Id], Param(min_length=1)]
Matrix = Annotated[np.ndarray, Array(shape=(None, None), dtype="float64")]
K = Annotated[int, Param(ge=1, le=10_000)]
Text = Annotated[str, Param(min_length=1, pattern=r"\S")]  # what the pipeline accepts: not blank
Metric = Literal[tuple(sorted(METRIC_NAMES))]  # type: ignore[valid-type]  # the kernels' registry


@dataclass
class NewCollection:
    name: Annotated[str, Param(min_length=1, max_length=100)]
    dim: Annotated[int, Param(ge=1, le=MAX_DIM)]
    metric: Metric = "cosine"
    dtype: Literal["float32", "int8"] = "float32"


@dataclass
class Vectors:
    ids: Ids_
    vectors: Matrix
    metadata: list[dict[str, Any]] | None = None
    upsert: bool = False


@dataclass
class Ids:
    ids: Ids_


@dataclass
class Search:
    """One query vector."""
    vector: list[float]
    k: K = 10
    filter: dict[str, Any] | None = None


@dataclass
class BatchSearch:
    """Several query vectors, answered together."""
    vectors: Annotated[list[list[float]], Param(min_length=1)]
    k: K = 10
    filter: dict[str, Any] | None = None


@dataclass
class Documents:
    texts: Annotated[list[Text], Param(min_length=1)]
    ids: list[Id] | None = None
    metadata: list[dict[str, Any]] | None = None


@dataclass
class Question:
    question: Text
    k: K | None = None
    filter: dict[str, Any] | None = None
    stream: bool = False


@contextlib.contextmanager
def store_errors(source: str = "body", **fields: str) -> Iterator[None]:
    """A :class:`VectorInputError` as the 422 entry naming the request field (``fields``
    renames the store's word for it, e.g. its ``query`` is the body's ``vector``)."""
    try:
        yield
    except VectorInputError as exc:
        raise ValidationError([{"loc": [source, fields.get(exc.field, exc.field)], "msg": exc.message,
                                "type": "value_error"}]) from None


@app.add_warmup
def compile_kernels() -> None:
    """Run each kernel path once on tiny data so no request pays for compilation."""
    rng = np.random.default_rng(0)
    for metric in ("cosine", "dot", "euclidean", "manhattan"):
        store = VectorStore(8, metric=metric, device="cpu")
        store.add(list(range(64)), rng.standard_normal((64, 8)))
        store.search(np.ones(8), k=3)
        store.search(np.ones(8), k=3, filter={"x": 1})
        store.search_batch(np.ones((2, 8)), k=3)
    app.state.rag.ask("warm up")


def _collection(name: str) -> VectorStore:
    store = app.state.collections.get(name)
    if store is None:
        raise NotFound(f"no collection named {name!r}")
    return store


@app.post("/collections", errors=[Conflict])
async def create_collection(spec: NewCollection) -> dict:
    if spec.name in app.state.collections:
        raise Conflict(f"collection {spec.name!r} already exists")
    with store_errors():
        store = VectorStore(spec.dim, metric=spec.metric, dtype=spec.dtype, device="cpu")
    app.state.collections[spec.name] = store
    return {"name": spec.name, "dim": store.dim, "metric": store.metric, "dtype": store.dtype}


@app.get("/collections/{name}")
async def describe(name: str) -> dict:
    store = _collection(name)
    return {"name": name, "size": len(store), "dim": store.dim, "metric": store.metric}


async def _in_thread(fn, *args):
    """Kernels release the GIL: run them in a worker thread, keep the event loop free."""
    import trio

    return await trio.to_thread.run_sync(lambda: fn(*args))


@app.post("/collections/{name}/vectors")
async def add_vectors(name: str, body: Vectors) -> dict:
    store = _collection(name)
    write = store.upsert if body.upsert else store.add
    with store_errors():
        await _in_thread(write, body.ids, body.vectors, body.metadata)
    return {"size": len(store)}


@app.delete("/collections/{name}/vectors")
async def delete_vectors(name: str, body: Ids) -> dict:
    store = _collection(name)
    with store_errors():
        deleted = await _in_thread(store.delete, body.ids)
    return {"deleted": deleted, "size": len(store)}


def _hits(hits) -> list[dict]:
    return [h.to_dict() for h in hits]


@app.post("/collections/{name}/search")
async def search(name: str, body: Annotated[Search | BatchSearch, Body()]) -> dict:
    store = _collection(name)
    if isinstance(body, BatchSearch):
        with store_errors(queries="vectors"):
            batch = await _in_thread(store.search_batch, body.vectors, body.k, body.filter)
        return {"results": [_hits(h) for h in batch]}
    with store_errors(query="vector"):
        return {"hits": _hits(await _in_thread(store.search, body.vector, body.k, body.filter))}


@app.post("/documents")
async def add_documents(body: Documents) -> dict:
    rag = app.state.rag
    with store_errors():
        ids = await _in_thread(rag.add_documents, body.texts, body.ids, body.metadata)
    return {"ids": ids, "size": len(rag.store)}


@app.get("/search")
async def search_documents(q: Annotated[str, Query(min_length=1, pattern=r"\S")],
                           k: Annotated[int, Query(ge=1, le=10_000)] = 3) -> dict:
    with store_errors("query", question="q"):
        sources = await _in_thread(app.state.rag.retrieve, q, k)
    return {"hits": [{"id": s.id, "score": s.score, "text": s.text, "metadata": s.metadata}
                     for s in sources]}


#: /ask answers JSON, or Server-Sent Events with ``"stream": true`` (one schema per event).
ASK_RESPONSES = {"200": {"description": "The answer and its sources (JSON), or their events (SSE)", "content": {
    "application/json": {"schema": {"type": "object"}},
    "text/event-stream": {"schema": {"type": "object", "required": ["data"], "properties": {
        "event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}}}}}}}


@app.post("/ask", responses=ASK_RESPONSES)
async def ask(body: Question) -> Any:
    rag = app.state.rag
    with store_errors():
        if body.stream:
            # retrieval (and its errors, as 422) before the stream starts; then each chunk is
            # sent as it is generated, and a client that leaves closes the generator
            retrieval = await _in_thread(rag.prepare, body.question, body.k, body.filter)
            return EventSourceResponse(rag.aevents(retrieval))
        answer = await _in_thread(rag.ask, body.question, body.k, body.filter)
    return answer.to_dict()


@app.delete("/documents")
async def delete_documents(body: Ids) -> dict:
    rag = app.state.rag
    with store_errors():
        deleted = await _in_thread(rag.delete_documents, body.ids)
    return {"deleted": deleted, "size": len(rag.store)}
