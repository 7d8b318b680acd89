"""Text chunking for retrieval: pieces of bounded size, with overlap, cut at sentence ends.

Owns: where a document is cut. Every :class:`Chunk` is an exact slice of its
document (``text[start:end]``), so a citation can point back at the character
offset it came from. Rules, in order:

1. A document is split into sentences (after ``.``, ``!`` or ``?`` followed by
   whitespace, closing quotes/brackets kept with the sentence, and at line breaks).
2. Consecutive sentences are packed into a chunk while it stays within ``size``.
3. A sentence longer than ``size`` is cut between words (its words are packed as
   sentences are), and a word longer than ``size`` characters is cut hard (the
   only cut that is not at a boundary).
4. The next chunk starts with as many whole trailing pieces of the previous one as
   fit in ``overlap`` (so overlap never splits a sentence), and always moves on.

Sizes count characters (``unit="chars"``) or tokens (``unit="tokens"``: runs of
non-space characters, a model-agnostic proxy for subword tokens).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .errors import VectorInputError

__all__ = ["Chunk", "Chunker", "chunk_text"]

_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_WORD = re.compile(r"\S+")
_UNITS = ("chars", "tokens")


@dataclass(frozen=True, slots=True)
class Chunk:
    """``text == document[start:end]``; ``index`` counts chunks within the document."""

    text: str
    start: int
    end: int
    index: int


class Chunker:
    """Cuts documents into :class:`Chunk` s (see the module docstring for the rules).

    Parameters
    ----------
    size : int >= 1, the most characters (or tokens) in one chunk
    overlap : int in [0, size), how much of the end of a chunk the next one repeats
    unit : "chars" | "tokens"
    """

    def __init__(self, size: int = 1000, overlap: int = 100, unit: str = "chars"):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise VectorInputError("size", f"chunk size must be a positive integer, got {size!r}")
        if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < size:
            raise VectorInputError("overlap", f"overlap must be an integer in [0, size), got {overlap!r}")
        if unit not in _UNITS:
            raise VectorInputError("unit", f"unit must be one of {_UNITS}, got {unit!r}")
        self.size, self.overlap, self.unit = size, overlap, unit

    def __repr__(self) -> str:
        return f"Chunker(size={self.size}, overlap={self.overlap}, unit={self.unit!r})"

    def __call__(self, text: str) -> list[Chunk]:
        if not isinstance(text, str):
            raise VectorInputError("text", f"expected a string, got {type(text).__name__}")
        words = [m.start() for m in _WORD.finditer(text)]
        if self.unit == "chars":
            def measure(s: int, e: int) -> int:
                return e - s
        else:
            def measure(s: int, e: int) -> int:
                return bisect.bisect_left(words, e) - bisect.bisect_left(words, s)
        pieces = [p for s, e in _sentences(text) for p in self._fit(text, s, e, measure)]
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            j = i
            while j + 1 < len(pieces) and measure(pieces[i][0], pieces[j + 1][1]) <= self.size:
                j += 1
            start, end = pieces[i][0], pieces[j][1]
            chunks.append(Chunk(text[start:end], start, end, len(chunks)))
            if j == len(pieces) - 1:
                break
            nxt = j + 1
            while nxt - 1 > i and measure(pieces[nxt - 1][0], end) <= self.overlap:
                nxt -= 1
            i = nxt
        return chunks

    def _fit(self, text: str, start: int, end: int, measure) -> list[tuple[int, int]]:
        """A sentence as pieces: whole when it fits, else its words (packed, and overlapped,
        by the caller), a word longer than ``size`` characters cut hard."""
        if measure(start, end) <= self.size:
            return [(start, end)]
        pieces: list[tuple[int, int]] = []
        for m in _WORD.finditer(text, start, end):
            s, e = m.span()
            while self.unit == "chars" and e - s > self.size:
                pieces.append((s, s + self.size))
                s += self.size
            pieces.append((s, e))
        return pieces


def _sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text``, surrounding whitespace excluded."""
    spans = []
    pos = 0
    for m in _BOUNDARY.finditer(text):
        end = m.start() + len(m.group().rstrip())  # keep closing quotes with the sentence
        _add_span(text, pos, end, spans)
        pos = m.end()
    _add_span(text, pos, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def chunk_text(text: str, size: int = 1000, overlap: int = 100, unit: str = "chars") -> list[Chunk]:
    """``Chunker(size, overlap, unit)(text)``."""
    return Chunker(size, overlap, unit)(text)
