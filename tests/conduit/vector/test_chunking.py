"""Chunker: exact slices within size, overlap of whole pieces, cuts at sentence ends."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit.vector import Chunker, VectorInputError, chunk_text

TEXT = ("First sentence here. Second one is a bit longer! Is this the third? "
        "\"Quoted end.\" Then a new paragraph.\n\nLast line")


def test_sentences_packed_within_size():
    chunks = chunk_text(TEXT, size=50, overlap=0)
    assert [c.text for c in chunks] == [
        "First sentence here. Second one is a bit longer!",
        "Is this the third? \"Quoted end.\"",
        "Then a new paragraph.\n\nLast line",
    ]
    assert [c.index for c in chunks] == [0, 1, 2]
    for c in chunks:
        assert TEXT[c.start:c.end] == c.text


def test_overlap_repeats_whole_trailing_sentences():
    chunks = chunk_text(TEXT, size=55, overlap=30)
    assert chunks[0].text.endswith("Second one is a bit longer!")
    assert chunks[1].text.startswith("Second one is a bit longer!")  # 27 chars fit in 30
    assert chunks[-1].end == len(TEXT)


def test_tokens_unit_and_long_sentences():
    words = " ".join(f"w{i}" for i in range(25)) + "."
    chunks = chunk_text(words, size=10, overlap=3, unit="tokens")
    assert all(len(c.text.split()) <= 10 for c in chunks)
    assert chunks[0].text.split() == [f"w{i}" for i in range(10)]
    assert chunks[1].text.split()[:3] == ["w7", "w8", "w9"]
    long_word = "x" * 25
    assert [c.text for c in chunk_text(long_word, size=10, overlap=0)] == ["x" * 10, "x" * 10, "x" * 5]


def test_empty_and_blank_texts_have_no_chunks():
    assert chunk_text("", 10, 0) == [] and chunk_text("   \n\n ", 10, 0) == []


@pytest.mark.parametrize("options, field", [
    ({"size": 0}, "size"), ({"size": 10, "overlap": 10}, "overlap"), ({"size": 10, "overlap": -1}, "overlap"),
    ({"unit": "bytes"}, "unit"), ({"size": 2.5}, "size")])
def test_bad_options(options, field):
    with pytest.raises(VectorInputError) as info:
        Chunker(**options)
    assert info.value.field == field


def test_bad_text():
    with pytest.raises(VectorInputError, match="string"):
        Chunker()(b"bytes")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .!?\n\"'"), max_size=300),
       st.integers(1, 40), st.data())
def test_properties(text, size, data):
    overlap = data.draw(st.integers(0, size - 1))
    chunks = chunk_text(text, size, overlap)
    for c in chunks:
        assert text[c.start:c.end] == c.text and c.text.strip() == c.text and c.text
        assert len(c.text) <= size
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts))  # always moves on
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())  # nothing lost
    for a, b in zip(chunks, chunks[1:]):
        assert b.start >= a.end or a.end - b.start <= overlap


def test_no_cut_inside_a_sentence_that_fits():
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota."
    for size in range(19, 60):  # the longest sentence has 19 characters
        for c in chunk_text(text, size, 0):
            assert re.fullmatch(r"[A-Z][a-z ]+\.( [A-Z][a-z ]+\.)*", c.text), (size, c.text)
