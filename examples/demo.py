"""The demo server started by `./dev demo`: one app, every capability, embedded data.

    GET  /                     hello                 GET  /users/{id}      typed path parameter
    GET  /ticks                Server-Sent Events     POST /echo            JSON body
    POST /models/iris          a scikit-learn model, compiled to Numba kernels, dynamically batched
    GET  /models               the model registry
    GET  /search?q=...         TF-IDF + exact top-k over a small bundled corpus
    POST /ask                  RAG: retrieve, build a context, answer with cited sources
    POST /mcp                  an MCP server (Streamable HTTP) with search and predict tools
    GET  /docs, /openapi.json  interactive API docs
    GET  /metrics, /health, /ready

Nothing is downloaded: the model trains at start-up on scikit-learn's bundled iris data.
"""

from __future__ import annotations

from typing import Annotated

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from conduit import Body, Conduit, Query
from conduit.mcp import MCPServer
from conduit.observability import install
from conduit.vector import RAGPipeline, TfidfEmbedder, VectorStore
from examples import hello

app = Conduit(title="Conduit demo", description="Every capability of Conduit on embedded data.")

# --- the hello endpoints (registered again here, so examples.hello:app stays as it is)
for route in hello.app.router.routes:
    if route.handler.__module__ == hello.__name__:
        app.add_route(route.pattern, route.handler, route.methods, **route.options)

CORPUS = [
    "Conduit is a Python web framework whose hot paths are Numba kernels over arrays.",
    "Routes compile into one packed table; a single njit kernel matches each request path.",
    "The server runs on trio and h11; simple request heads are scanned by a Numba kernel.",
    "Models from scikit-learn compile into kernels over their own arrays, and requests are batched.",
    "The vector store searches exactly with a fused scan that keeps the k best rows per thread.",
    "TF-IDF is computed over one UTF-8 byte buffer and equals scikit-learn's TfidfVectorizer.",
    "MCP servers are a few decorators and run over stdio or Streamable HTTP.",
]

# --- a model, trained now on bundled data, served compiled and batched
iris = load_iris()
classifier = LogisticRegression(max_iter=500).fit(iris.data, iris.target)
app.predict("/models/iris", classifier, name="iris", probabilities=True)

# --- retrieval over the corpus
embedder = TfidfEmbedder().fit(CORPUS)
rag = RAGPipeline(VectorStore(embedder.dim, metric="cosine", device="cpu"), embedder, k=3)
rag.add_documents(CORPUS, ids=[f"doc-{i}" for i in range(len(CORPUS))])
app.add_warmup(lambda: rag.ask("warm up"))


@app.get("/search")
def search(q: Annotated[str, Query(min_length=1, max_length=200)],
           k: Annotated[int, Query(ge=1, le=len(CORPUS))] = 3) -> dict:
    """Search the bundled corpus (TF-IDF vectors, exact cosine top-k)."""
    return {"hits": [{"id": s.id, "score": s.score, "text": s.text} for s in rag.retrieve(q, k)]}


@app.post("/ask")
def ask(question: Annotated[str, Body(embed=True, min_length=1, max_length=500)]) -> dict:
    """Answer from the corpus with cited sources (extractive: no LLM needed)."""
    return rag.ask(question).to_dict()


# --- the same capabilities as MCP tools
mcp = MCPServer("conduit-demo", version="0.1.0", instructions="Search Conduit's notes or classify an iris.")


@mcp.tool()
def search_notes(query: str, k: int = 3) -> list[dict]:
    """Search Conduit's notes; returns the best matching sentences."""
    return [{"id": s.id, "score": s.score, "text": s.text} for s in rag.retrieve(query, k)]


@mcp.tool()
def classify_iris(sepal_length: float, sepal_width: float, petal_length: float, petal_width: float) -> str:
    """Classify an iris flower from its measurements (cm)."""
    label = classifier.predict([[sepal_length, sepal_width, petal_length, petal_width]])[0]
    return str(iris.target_names[label])


app.mount_mcp("/mcp", mcp)
install(app)  # /metrics, /health, /ready and request metrics

__all__ = ["app", "mcp"]
