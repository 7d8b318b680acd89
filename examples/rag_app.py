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

Bad input (wrong dimension, NaN/inf, unknown metric, k <= 0 or > size, a
malformed filter or body) answers 422 naming the field; the stores are checked
before they change, so a rejected request leaves them as they were. A document
is retrievable from the next request on: the TF-IDF embedder is refit on the
corpus before the first question after a change (see ``conduit.vector.rag``),
and answers cite only sources that share something with the question. The kernels
compile (or load from Numba's cache) in a warm-up, before the socket accepts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conduit import Conduit, EventSourceResponse, Request
from conduit.exceptions import error_response
from conduit.vector import RAGPipeline, TfidfEmbedder, VectorInputError, VectorStore

SEED_CORPUS = [
    "Conduit is a Python web framework whose hot paths are Numba kernels.",
    "The vector store searches exactly: a fused scan keeps the k best rows per thread.",
    "Batches of queries use BLAS matrix products, then a parallel selection kernel.",
    "TF-IDF is computed over one UTF-8 byte buffer and equals scikit-learn's output.",
    "Trio and h11 serve HTTP; sync handlers run in worker threads.",
    "Filters on metadata become a row mask inside the scan, so they cost no extra pass.",
]

app = Conduit(title="Conduit RAG demo")
app.state.collections = {}
embedder = TfidfEmbedder().fit(SEED_CORPUS)
app.state.rag = RAGPipeline(VectorStore(embedder.dim, metric="cosine"), embedder, k=3)
app.state.rag.add_documents(SEED_CORPUS, ids=[f"seed-{i}" for i in range(len(SEED_CORPUS))],
                            metadata=[{"source": "seed"}] * len(SEED_CORPUS))


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


@app.exception_handler(VectorInputError)
def vector_input_error(request: Request, exc: VectorInputError):
    return error_response(422, {"field": exc.field, "message": exc.message})


async def _body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError as exc:
        raise VectorInputError("body", f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise VectorInputError("body", "the body must be a JSON object")
    return body


def _collection(name: str) -> VectorStore:
    store = app.state.collections.get(name)
    if store is None:
        raise VectorInputError("name", f"no collection named {name!r}")
    return store


def _require(body: dict, key: str) -> Any:
    if key not in body:
        raise VectorInputError(key, "this field is required")
    return body[key]


@app.post("/collections")
async def create_collection(request: Request) -> dict:
    body = await _body(request)
    name = _require(body, "name")
    if not isinstance(name, str) or not name or len(name) > 100:
        raise VectorInputError("name", "name must be a non-empty string (at most 100 chars)")
    if name in app.state.collections:
        raise VectorInputError("name", f"collection {name!r} already exists")
    store = VectorStore(_require(body, "dim"), metric=body.get("metric", "cosine"),
                        dtype=body.get("dtype", "float32"), device="cpu")
    app.state.collections[name] = store
    return {"name": name, "dim": store.dim, "metric": store.metric, "dtype": store.dtype}


@app.get("/collections/{name}")
async def describe(name: str) -> dict:
    store = _collection(name)
    return {"name": name, "size": len(store), "dim": store.dim, "metric": store.metric}


async def _in_thread(fn, *args):
    """Kernels release the GIL: run them in a worker thread, keep the event loop free."""
    import trio

    return await trio.to_thread.run_sync(lambda: fn(*args))


@app.post("/collections/{name}/vectors")
async def add_vectors(name: str, request: Request) -> dict:
    store = _collection(name)
    body = await _body(request)
    ids, vectors = _require(body, "ids"), _require(body, "vectors")
    write = store.upsert if body.get("upsert") else store.add
    await _in_thread(write, ids, vectors, body.get("metadata"))
    return {"size": len(store)}


@app.delete("/collections/{name}/vectors")
async def delete_vectors(name: str, request: Request) -> dict:
    store = _collection(name)
    ids = _require(await _body(request), "ids")
    if not isinstance(ids, list):
        raise VectorInputError("ids", "ids must be a list")
    return {"deleted": await _in_thread(store.delete, ids), "size": len(store)}


def _hits(hits) -> list[dict]:
    return [h.to_dict() for h in hits]


@app.post("/collections/{name}/search")
async def search(name: str, request: Request) -> dict:
    store = _collection(name)
    body = await _body(request)
    k, flt = body.get("k", 10), body.get("filter")
    if "vectors" in body:
        batch = await _in_thread(store.search_batch, body["vectors"], k, flt)
        return {"results": [_hits(h) for h in batch]}
    return {"hits": _hits(await _in_thread(store.search, _require(body, "vector"), k, flt))}


@app.post("/documents")
async def add_documents(request: Request) -> dict:
    body = await _body(request)
    rag = app.state.rag
    ids = await _in_thread(rag.add_documents, _require(body, "texts"), body.get("ids"),
                           body.get("metadata"))
    return {"ids": ids, "size": len(rag.store)}


@app.get("/search")
async def search_documents(request: Request) -> dict:
    q = request.query_params.get("q", "")
    k_text = request.query_params.get("k", "3")
    try:
        k = int(k_text)
    except ValueError:
        raise VectorInputError("k", f"k must be an integer, got {k_text!r}") from None
    sources = await _in_thread(app.state.rag.retrieve, q, k)
    return {"hits": [{"id": s.id, "score": s.score, "text": s.text, "metadata": s.metadata}
                     for s in sources]}


@app.post("/ask")
async def ask(request: Request) -> Any:
    body = await _body(request)
    rag = app.state.rag
    question, k, flt = _require(body, "question"), body.get("k"), body.get("filter")
    if body.get("stream"):
        # retrieval (and its errors, as 422) before the stream starts; then each chunk is
        # sent as it is generated, and a client that leaves closes the generator
        retrieval = await _in_thread(rag.prepare, question, k, flt)
        return EventSourceResponse(rag.aevents(retrieval))
    answer = await _in_thread(rag.ask, question, k, flt)
    return answer.to_dict()


@app.delete("/documents")
async def delete_documents(request: Request) -> dict:
    ids = _require(await _body(request), "ids")
    if not isinstance(ids, list):
        raise VectorInputError("ids", "ids must be a list")
    rag = app.state.rag
    return {"deleted": await _in_thread(rag.delete_documents, ids), "size": len(rag.store)}
