"""Retrieval-augmented generation over a VectorStore: retrieve, budget, generate, cite.

``RAGPipeline(store, embedder, generator)``. The generator is any callable
``generator(question, context, sources)`` returning a ``str``, an awaitable of
one, or an (async) iterable of text chunks (which streams). The default,
:func:`extractive_generator`, needs no LLM: it answers with the context sentences
that share the most words with the question.

Documents keep their text in the metadata field ``text_field`` ("text").
Streaming yields SSE-ready event dicts (``conduit.EventSourceResponse`` takes them)::

    {"event": "sources", "data": [{"id", "score", "metadata"}, ...]}
    {"event": "token",   "data": "chunk"}              (one or more)
    {"event": "done",    "data": {"answer": "...", "sources": [ids]}}
"""

from __future__ import annotations

import inspect
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator, Sequence

from .errors import VectorInputError
from .store import VectorStore

__all__ = ["RAGAnswer", "RAGPipeline", "Source", "extractive_generator"]

_WORD = re.compile(r"\w\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_STOP = frozenset("the a an and or of to in on for is are was were be by with what which who how "
                  "why when where does do did it its this that as at from".split())


@dataclass(frozen=True)
class Source:
    """A retrieved document cited by an answer."""

    id: Any
    score: float
    text: str
    metadata: dict = field(default_factory=dict)


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
        return "I could not find an answer in the provided documents."
    return " ".join(sentences[i] for _, i in sorted(best, key=lambda x: x[1]))


class RAGPipeline:
    """Retrieve top-k documents, build a bounded context, call the generator, cite sources.

    Parameters
    ----------
    store : VectorStore whose ``dim`` equals ``embedder.dim``
    embedder : an object with ``dim`` and ``embed(texts) -> float32[n, dim]``
    generator : callable (sync or async, or returning chunks); default extractive
    k : documents to retrieve by default
    max_context_chars, max_context_tokens : the context budget (tokens = words)
    """

    def __init__(self, store: VectorStore, embedder: Any, generator: Callable | None = None, *,
                 k: int = 4, max_context_chars: int = 4000, max_context_tokens: int | None = None,
                 text_field: str = "text"):
        if embedder.dim != store.dim:
            raise VectorInputError("embedder", f"embedder dim {embedder.dim} != store dim {store.dim}")
        self.store = store
        self.embedder = embedder
        self.generator = generator or extractive_generator
        self.k = k
        self.max_context_chars = max_context_chars
        self.max_context_tokens = max_context_tokens
        self.text_field = text_field

    def add_documents(self, texts: Sequence[str], ids: Sequence | None = None,
                      metadata: Sequence[dict] | None = None) -> list:
        """Embed and upsert documents; returns their ids (generated when not given)."""
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)) or not texts:
            raise VectorInputError("texts", "texts must be a non-empty list of strings")
        if any(not isinstance(t, str) or not t.strip() for t in texts):
            raise VectorInputError("texts", "every text must be a non-empty string")
        ids = list(ids) if ids is not None else [uuid.uuid4().hex for _ in texts]
        metas = list(metadata) if metadata is not None else [{} for _ in texts]
        if len(metas) != len(texts):
            raise VectorInputError("metadata", f"{len(metas)} metadata entries for {len(texts)} texts")
        if any(m is not None and not isinstance(m, dict) for m in metas):
            raise VectorInputError("metadata", "metadata entries must be objects")
        metas = [{**(m or {}), self.text_field: t} for m, t in zip(metas, texts)]
        self.store.upsert(ids, self.embedder.embed(list(texts)), metas)
        return ids

    def retrieve(self, question: str, k: int | None = None, filter: dict | None = None) -> list[Source]:
        if not isinstance(question, str) or not question.strip():
            raise VectorInputError("question", "question must be a non-empty string")
        k = self.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise VectorInputError("k", f"k must be a positive integer, got {k!r}")
        if len(self.store) == 0:
            return []
        hits = self.store.search(self.embedder.embed([question])[0], min(k, len(self.store)), filter)
        return [Source(h.id, h.score, str(h.metadata.get(self.text_field, "")),
                       {key: v for key, v in h.metadata.items() if key != self.text_field})
                for h in hits]

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

    def _prepare(self, question, k, filter):
        sources = self.retrieve(question, k, filter)
        context, used = self.build_context(sources)
        return context, used

    def ask(self, question: str, k: int | None = None, filter: dict | None = None) -> RAGAnswer:
        """Answer synchronously (an async generator is run to completion with asyncio)."""
        context, used = self._prepare(question, k, filter)
        result = self.generator(question, context, used)
        if inspect.isawaitable(result) or hasattr(result, "__aiter__"):
            import asyncio

            result = asyncio.run(_collect_async(result))
        elif not isinstance(result, str):
            result = "".join(str(chunk) for chunk in result)
        return RAGAnswer(result, used, context)

    async def aask(self, question: str, k: int | None = None, filter: dict | None = None) -> RAGAnswer:
        """Answer from async code; sync generators are called inline."""
        context, used = self._prepare(question, k, filter)
        result = await _collect_async(self.generator(question, context, used))
        return RAGAnswer(result, used, context)

    def stream(self, question: str, k: int | None = None, filter: dict | None = None) -> Iterator[dict]:
        """SSE event dicts: sources, then answer chunks, then done (sync generators only)."""
        context, used = self._prepare(question, k, filter)
        yield {"event": "sources", "data": [_cite(s) for s in used]}
        result = self.generator(question, context, used)
        if inspect.isawaitable(result) or hasattr(result, "__aiter__"):
            raise TypeError("an async generator streams through astream()")
        chunks = _chunks(result) if isinstance(result, str) else result
        answer = []
        for chunk in chunks:
            answer.append(str(chunk))
            yield {"event": "token", "data": str(chunk)}
        yield {"event": "done", "data": {"answer": "".join(answer), "sources": [s.id for s in used]}}

    async def astream(self, question: str, k: int | None = None,
                      filter: dict | None = None) -> AsyncIterator[dict]:
        """:meth:`stream` for async code; accepts every kind of generator."""
        context, used = self._prepare(question, k, filter)
        yield {"event": "sources", "data": [_cite(s) for s in used]}
        result = self.generator(question, context, used)
        if inspect.isawaitable(result):
            result = await result
        answer = []
        if hasattr(result, "__aiter__"):
            async for chunk in result:
                answer.append(str(chunk))
                yield {"event": "token", "data": str(chunk)}
        else:
            for chunk in (_chunks(result) if isinstance(result, str) else result):
                answer.append(str(chunk))
                yield {"event": "token", "data": str(chunk)}
        yield {"event": "done", "data": {"answer": "".join(answer), "sources": [s.id for s in used]}}


def _cite(source: Source) -> dict:
    return {"id": source.id, "score": source.score, "metadata": source.metadata}


def _chunks(text: str) -> list[str]:
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
