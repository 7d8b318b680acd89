"""Retrieval-augmented generation over a VectorStore: retrieve, budget, generate, cite.

``RAGPipeline(store, embedder, generator)``. The generator is any callable
``generator(question, context, sources)`` returning a ``str``, an awaitable of
one, or an (async) iterable of text chunks (which streams). The default,
:func:`extractive_generator`, needs no LLM: it answers with the context sentences
that share the most words with the question; :class:`~conduit.vector.llm.OpenAIChatGenerator`
asks any OpenAI-compatible chat-completions server. Async generators run under trio.

What the pipeline guarantees:

- **Every stored document is retrievable, whenever it was added.** An embedder
  fitted on the corpus (one with ``fit(texts)``, e.g. :class:`TfidfEmbedder`) is
  refit on every stored text, and every text re-embedded into a fresh store of
  the new dimension, before the first query after documents were added or
  deleted (lazily: a burst of adds costs one refit). Retrieval then equals a
  ``TfidfVectorizer`` fitted on the current corpus. That costs O(corpus) per
  change; for a large, changing corpus use ``retrieval="bm25"`` (an incremental
  index, nothing refit) or a fixed embedder. Read the store as ``pipeline.store``:
  a refit replaces it.
- **No noise is cited.** Similarity hits must score above ``min_score`` (default
  0.0 for cosine and dot: nothing in common with the question), distance hits
  within ``max_distance`` (no default); BM25 hits must share a term. With no
  source left the generator is not called and the answer says so (:data:`NO_ANSWER`).
- **Chunks cite their document.** With a :class:`~conduit.vector.chunking.Chunker`
  each document is stored as chunks ``"<id>#<n>"``; a :class:`Source` names its
  ``document`` and character ``offset``.
- **Hybrid search.** ``retrieval="hybrid"`` fuses the vector ranking with BM25
  (:mod:`conduit.vector.fusion`: ``fusion="rrf"`` or ``"weighted"`` with ``alpha``).

Streaming yields SSE-ready event dicts (``conduit.EventSourceResponse`` takes them)::

    {"event": "sources", "data": [{"id", "score", "document", "offset", "metadata"}, ...]}
    {"event": "token",   "data": "chunk"}              (one or more)
    {"event": "done",    "data": {"answer": "...", "sources": [ids]}}
    {"event": "error",   "data": {"error": "...", "type": "..."}}   (instead of done)

:meth:`RAGPipeline.prepare` retrieves (it may refit; run it in a worker thread);
:meth:`~RAGPipeline.events` / :meth:`~RAGPipeline.aevents` then generate lazily,
chunk by chunk, and closing the iterator (a client that went away) stops the generator.
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
from contextlib import closing
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator, Sequence

from ._rwlock import RWLock
from .chunking import Chunker
from .errors import VectorInputError
from .fusion import reciprocal_rank_fusion, weighted_fusion
from .store import VectorStore

__all__ = ["NO_ANSWER", "RAGAnswer", "RAGPipeline", "Retrieval", "Source", "extractive_generator"]

logger = logging.getLogger("conduit.vector")

NO_ANSWER = "I could not find an answer in the provided documents."

_WORD = re.compile(r"\w\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_STOP = frozenset("the a an and or of to in on for is are was were be by with what which who how "
                  "why when where does do did it its this that as at from".split())
_RETRIEVALS = ("vector", "bm25", "hybrid")
_FUSIONS = ("rrf", "weighted")
_DEFAULT = object()
_END = object()
_CHUNK_KEYS = ("document", "offset")


@dataclass(frozen=True)
class Source:
    """A retrieved document (or chunk of one) cited by an answer.

    ``document`` is the id of the document it came from and ``offset`` the character
    offset of ``text`` in it (the id itself and 0 when documents are not chunked).
    """

    id: Any
    score: float
    text: str
    metadata: dict = field(default_factory=dict)
    document: Any = None
    offset: int = 0


@dataclass(frozen=True)
class Retrieval:
    """What :meth:`RAGPipeline.prepare` found: the question, the bounded context, the cited sources."""

    question: str
    context: str
    sources: list[Source]


@dataclass(frozen=True)
class RAGAnswer:
    answer: str
    sources: list[Source]
    context: str

    def to_dict(self) -> dict:
        return {"answer": self.answer, "sources": [asdict(s) for s in self.sources]}


def extractive_generator(question: str, context: str, sources: Sequence[Source]) -> str:
    """The context sentences sharing most words with the question (at most two, in order)."""
    words = {w for w in _WORD.findall(question.lower()) if w not in _STOP}
    sentences = [s.strip() for s in _SENTENCE.split(context) if s.strip()]
    scored = [(len(words & set(_WORD.findall(s.lower()))), i) for i, s in enumerate(sentences)]
    best = sorted((x for x in scored if x[0] > 0), key=lambda x: (-x[0], x[1]))[:2]
    if not best:
        return NO_ANSWER
    return " ".join(sentences[i] for _, i in sorted(best, key=lambda x: x[1]))


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise VectorInputError(name, f"{name} must be a positive integer, got {value!r}")
    return value


class RAGPipeline:
    """Retrieve top-k documents, build a bounded context, call the generator, cite sources.

    Parameters
    ----------
    store : VectorStore whose ``dim`` equals ``embedder.dim``
    embedder : an object with ``dim`` and ``embed(texts) -> float32[n, dim]``; one that
        also has ``fit(texts)`` is refit on the corpus after it changes (``refit=False`` stops it)
    generator : callable (sync or async, or returning chunks); default extractive
    k : documents to retrieve by default
    max_context_chars, max_context_tokens : the context budget (tokens = words)
    min_score : similarity metrics: the score a hit must exceed (default 0.0)
    max_distance : distance metrics: the largest distance a hit may have (default: any)
    retrieval : "vector" | "bm25" | "hybrid"
    fusion, alpha, rrf_k : hybrid only; "rrf" (rank ``rrf_k``) or "weighted"
        (``alpha`` on the vector side, ``1 - alpha`` on BM25)
    chunker : a :class:`Chunker` to store documents as chunks; None stores them whole
    """

    def __init__(self, store: VectorStore, embedder: Any, generator: Callable | None = None, *,
                 k: int = 4, max_context_chars: int = 4000, max_context_tokens: int | None = None,
                 text_field: str = "text", min_score: Any = _DEFAULT, max_distance: float | None = None,
                 retrieval: str = "vector", fusion: str = "rrf", alpha: float = 0.5, rrf_k: int = 60,
                 chunker: Chunker | None = None, refit: bool | None = None):
        if embedder.dim != store.dim:
            raise VectorInputError("embedder", f"embedder dim {embedder.dim} != store dim {store.dim}")
        if retrieval not in _RETRIEVALS:
            raise VectorInputError("retrieval", f"retrieval must be one of {_RETRIEVALS}, got {retrieval!r}")
        if fusion not in _FUSIONS:
            raise VectorInputError("fusion", f"fusion must be one of {_FUSIONS}, got {fusion!r}")
        if not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise VectorInputError("alpha", f"alpha must lie in [0, 1], got {alpha!r}")
        if chunker is not None and not isinstance(chunker, Chunker):
            raise VectorInputError("chunker", "chunker must be a conduit.vector.Chunker")
        if store.higher_is_better:
            if max_distance is not None:
                raise VectorInputError("max_distance", f"{store.metric} is a similarity: use min_score")
            self.min_score = 0.0 if min_score is _DEFAULT else min_score
        else:
            if min_score is not _DEFAULT and min_score is not None:
                raise VectorInputError("min_score", f"{store.metric} is a distance: use max_distance")
            self.min_score = None
        self.max_distance = max_distance
        self.store = store
        self.embedder = embedder
        self.generator = generator or extractive_generator
        self.k = _positive_int(k, "k")
        self.max_context_chars = max_context_chars
        self.max_context_tokens = max_context_tokens
        self.text_field = text_field
        self.retrieval, self.fusion, self.alpha, self.rrf_k = retrieval, fusion, float(alpha), rrf_k
        self.chunker = chunker
        self.refit = callable(getattr(embedder, "fit", None)) if refit is None else bool(refit)
        self._lock = RWLock()
        self._stale = False
        self._entries: dict = {}  # stored id -> metadata (with the text), in insertion order
        self._parts: dict = {}  # document id -> its stored chunk ids
        for id in store.ids:
            got = store.get(id)
            if got is not None:
                self._record(id, got[1])
        self.bm25 = None
        if retrieval != "vector":
            from .lexical import BM25Index

            self.bm25 = BM25Index()
            if self._entries:
                self.bm25.add(list(self._entries), [self._text(m) for m in self._entries.values()],
                              list(self._entries.values()))

    # --- documents ---

    def _text(self, meta: dict) -> str:
        return str(meta.get(self.text_field, ""))

    def _record(self, id: Any, meta: dict) -> None:
        self._entries[id] = meta
        self._parts.setdefault(meta.get("document", id) if self.chunker else id, []).append(id)

    def _split(self, ids: list, texts: list, metas: list) -> tuple[list, list]:
        """Stored entries ``(ids, metadata with text)`` for documents: whole, or as chunks."""
        if self.chunker is None:
            return ids, [{**m, self.text_field: t} for m, t in zip(metas, texts)]
        out_ids, out_metas = [], []
        for doc, text, meta in zip(ids, texts, metas):
            for c in self.chunker(text):
                out_ids.append(f"{doc}#{c.index}")
                out_metas.append({**meta, self.text_field: c.text, "document": doc, "offset": c.start})
        return out_ids, out_metas

    def add_documents(self, texts: Sequence[str], ids: Sequence | None = None,
                      metadata: Sequence[dict] | None = None) -> list:
        """Embed and upsert documents; returns their ids (generated when not given).

        A document id already stored is replaced (all of its old chunks go).
        """
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)) or not texts:
            raise VectorInputError("texts", "texts must be a non-empty list of strings")
        if any(not isinstance(t, str) or not t.strip() for t in texts):
            raise VectorInputError("texts", "every text must be a non-empty string")
        if ids is not None and (isinstance(ids, (str, bytes)) or not isinstance(ids, (list, tuple))):
            raise VectorInputError("ids", "ids must be a list")
        ids = list(ids) if ids is not None else [uuid.uuid4().hex for _ in texts]
        if len(ids) != len(texts):
            raise VectorInputError("ids", f"{len(ids)} ids for {len(texts)} texts")
        metas = list(metadata) if metadata is not None else [{} for _ in texts]
        if len(metas) != len(texts):
            raise VectorInputError("metadata", f"{len(metas)} metadata entries for {len(texts)} texts")
        if any(m is not None and not isinstance(m, dict) for m in metas):
            raise VectorInputError("metadata", "metadata entries must be objects")
        entry_ids, entry_metas = self._split(ids, list(texts), [m or {} for m in metas])
        with self._lock.write():  # embed under the lock: a refit may change the dimension
            vectors = self.embedder.embed([self._text(m) for m in entry_metas])
            self._forget([i for i in ids if i in self._parts])
            self.store.upsert(entry_ids, vectors, entry_metas)
            if self.bm25 is not None:
                self.bm25.add(entry_ids, [self._text(m) for m in entry_metas], entry_metas)
            for id, meta in zip(entry_ids, entry_metas):
                self._record(id, meta)
            self._stale = self.refit
        return ids

    def delete_documents(self, ids: Sequence) -> int:
        """Delete documents (and their chunks); returns how many documents were stored."""
        with self._lock.write():
            known = [i for i in dict.fromkeys(ids) if i in self._parts]
            self._forget(known)
            self._stale = self.refit and bool(known)
            return len(known)

    def _forget(self, docs: list) -> None:
        gone = [e for d in docs for e in self._parts.pop(d)]
        if gone:
            self.store.delete(gone)
            if self.bm25 is not None:
                self.bm25.delete(gone)
            for e in gone:
                self._entries.pop(e, None)

    def _refit(self) -> None:
        """Refit the embedder on every stored text; re-embed them all into a new store."""
        self._stale = False
        if not self._entries:
            return
        ids, metas = list(self._entries), list(self._entries.values())
        texts = [self._text(m) for m in metas]
        self.embedder.fit(texts)
        old = self.store
        store = VectorStore(self.embedder.dim, metric=old.metric, dtype=old.dtype, device=old.device)
        store.add(ids, self.embedder.embed(texts), metas)
        self.store = store

    # --- retrieval ---

    def retrieve(self, question: str, k: int | None = None, filter: dict | None = None) -> list[Source]:
        if not isinstance(question, str) or not question.strip():
            raise VectorInputError("question", "question must be a non-empty string")
        k = self.k if k is None else _positive_int(k, "k")
        if self._stale:
            with self._lock.write():
                if self._stale:
                    self._refit()
        with self._lock.read():
            if len(self.store) == 0:
                return []
            depth = k if self.retrieval == "vector" else max(4 * k, 20)
            rankings, higher = [], []
            if self.retrieval != "bm25":
                rankings.append(self._vector_hits(question, min(depth, len(self.store)), filter))
                higher.append(self.store.higher_is_better)
            if self.bm25 is not None:
                rankings.append([(i, s) for i, s, _ in self.bm25.search(question, depth, filter)])
                higher.append(True)
            if len(rankings) == 1:
                ranked = rankings[0]
            elif self.fusion == "rrf":
                ranked = reciprocal_rank_fusion(rankings, self.rrf_k)
            else:
                ranked = weighted_fusion(rankings, [self.alpha, 1.0 - self.alpha], higher)
            return [self._source(id, score) for id, score in ranked[:k]]

    def _vector_hits(self, question: str, k: int, filter: dict | None) -> list[tuple[Any, float]]:
        hits = self.store.search(self.embedder.embed([question])[0], k, filter)
        if self.min_score is not None:
            return [(h.id, h.score) for h in hits if h.score > self.min_score]
        return [(h.id, h.score) for h in hits if self.max_distance is None or h.score <= self.max_distance]

    def _source(self, id: Any, score: float) -> Source:
        meta = self._entries[id]
        rest = {key: v for key, v in meta.items() if key != self.text_field
                and not (self.chunker and key in _CHUNK_KEYS)}
        if self.chunker:
            return Source(id, score, self._text(meta), rest, meta.get("document"), int(meta.get("offset", 0)))
        return Source(id, score, self._text(meta), rest, id, 0)

    def build_context(self, sources: Sequence[Source]) -> tuple[str, list[Source]]:
        """Concatenate source texts, best first, within the char/token budget.

        A source that does not fit whole is cut to fit (on a word boundary), and
        the ones after it are dropped; only sources that contributed are cited.
        """
        parts: list[str] = []
        used: list[Source] = []
        chars = tokens = 0
        for src in sources:
            text = src.text.strip()
            room_chars = self.max_context_chars - chars - (2 if parts else 0)
            room_tokens = (self.max_context_tokens - tokens) if self.max_context_tokens else None
            words = text.split()
            if room_tokens is not None and len(words) > room_tokens:
                text = " ".join(words[:room_tokens])
            if len(text) > room_chars:
                text = text[:max(0, room_chars)].rsplit(" ", 1)[0] if room_chars > 0 else ""
            if not text:
                break
            parts.append(text)
            used.append(src)
            chars += len(text) + (2 if len(parts) > 1 else 0)
            tokens += len(text.split())
            if text != src.text.strip():
                break
        return "\n\n".join(parts), used

    def prepare(self, question: str, k: int | None = None, filter: dict | None = None) -> Retrieval:
        """Retrieve and budget: everything before generation (may refit: run it off the loop)."""
        context, used = self.build_context(self.retrieve(question, k, filter))
        return Retrieval(question, context, used)

    # --- generation ---

    def _chunks(self, r: Retrieval) -> Iterator[str]:
        """The generator's answer as text chunks, from sync code (async ones run under trio)."""
        if not r.sources:
            yield NO_ANSWER
            return
        result = self.generator(r.question, r.context, r.sources)
        if inspect.isawaitable(result) or hasattr(result, "__aiter__"):
            import trio

            yield trio.run(_collect_async, result)
        elif isinstance(result, str):
            yield from _words(result)
        else:
            for chunk in result:
                yield str(chunk)

    async def _achunks(self, r: Retrieval) -> AsyncIterator[str]:
        """The same from async code; a sync generator is advanced in a worker thread."""
        import trio

        if not r.sources:
            yield NO_ANSWER
            return
        if inspect.iscoroutinefunction(self.generator) or inspect.isasyncgenfunction(self.generator):
            result = self.generator(r.question, r.context, r.sources)
        else:
            result = await trio.to_thread.run_sync(self.generator, r.question, r.context, r.sources)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            for word in _words(result):
                yield word
        elif hasattr(result, "__aiter__"):
            iterator = result.__aiter__()
            try:
                async for chunk in iterator:
                    yield str(chunk)
            finally:
                if hasattr(iterator, "aclose"):
                    with trio.CancelScope(shield=True), trio.move_on_after(5):
                        await iterator.aclose()
        else:
            iterator = iter(result)
            try:
                while (chunk := await trio.to_thread.run_sync(next, iterator, _END)) is not _END:
                    yield str(chunk)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:  # a client that left: the generator stops here
                    with trio.CancelScope(shield=True):
                        await trio.to_thread.run_sync(close)

    def ask(self, question: str, k: int | None = None, filter: dict | None = None) -> RAGAnswer:
        """Answer synchronously (an async generator is run to completion under trio)."""
        r = self.prepare(question, k, filter)
        return RAGAnswer("".join(self._chunks(r)), r.sources, r.context)

    async def aask(self, question: str, k: int | None = None, filter: dict | None = None) -> RAGAnswer:
        """Answer from trio code; retrieval runs in a worker thread."""
        import trio

        r = await trio.to_thread.run_sync(self.prepare, question, k, filter)
        return RAGAnswer("".join([c async for c in self._achunks(r)]), r.sources, r.context)

    def stream(self, question: str, k: int | None = None, filter: dict | None = None) -> Iterator[dict]:
        """Retrieve now (bad input raises here), then SSE event dicts lazily: :meth:`events`."""
        return self.events(self.prepare(question, k, filter))

    def events(self, r: Retrieval) -> Iterator[dict]:
        """Sources, then the answer chunk by chunk as it is generated, then done (or error)."""
        events = _Events(r)
        yield events.sources()
        with closing(self._chunks(r)) as chunks:  # closed with us: the generator stops too
            try:
                for chunk in chunks:
                    yield events.token(chunk)
            except Exception as exc:
                yield events.error(exc)
                return
        yield events.done()

    async def astream(self, question: str, k: int | None = None,
                      filter: dict | None = None) -> AsyncIterator[dict]:
        """:meth:`stream` for trio code (retrieval in a worker thread): :meth:`aevents`."""
        import trio

        r = await trio.to_thread.run_sync(self.prepare, question, k, filter)
        async for event in self.aevents(r):
            yield event

    async def aevents(self, r: Retrieval) -> AsyncIterator[dict]:
        """:meth:`events` from trio code, for every kind of generator; ``aclose()`` stops it."""
        import trio

        events = _Events(r)
        yield events.sources()
        chunks = self._achunks(r)
        try:
            async for chunk in chunks:
                yield events.token(chunk)
        except Exception as exc:
            yield events.error(exc)
            return
        finally:
            with trio.CancelScope(shield=True):
                await chunks.aclose()
        yield events.done()


class _Events:
    """The SSE event dicts of one answer (the one place their shape is written)."""

    def __init__(self, r: Retrieval):
        self.r = r
        self.answer: list[str] = []

    def sources(self) -> dict:
        return {"event": "sources", "data": [_cite(s) for s in self.r.sources]}

    def token(self, chunk: str) -> dict:
        self.answer.append(chunk)
        return {"event": "token", "data": chunk}

    def done(self) -> dict:
        return {"event": "done", "data": {"answer": "".join(self.answer),
                                          "sources": [s.id for s in self.r.sources]}}

    def error(self, exc: Exception) -> dict:
        logger.error("RAG generation failed after %d chunks", len(self.answer), exc_info=exc)
        return {"event": "error", "data": {"error": "the answer could not be completed",
                                           "type": type(exc).__name__}}


def _cite(source: Source) -> dict:
    return {"id": source.id, "score": source.score, "document": source.document,
            "offset": source.offset, "metadata": source.metadata}


def _words(text: str) -> list[str]:
    """Split a finished answer into word chunks (spaces kept) for streaming."""
    return re.findall(r"\S+\s*", text) or [text]


async def _collect_async(result: Any) -> str:
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, str):
        return result
    if hasattr(result, "__aiter__"):
        return "".join([str(c) async for c in result])
    return "".join(str(c) for c in result)
