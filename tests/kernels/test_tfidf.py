"""conduit_kernels.tfidf against scikit-learn's TfidfVectorizer (same vocabulary, same values)."""

from __future__ import annotations

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse", reason="scipy is in the test extra (./dev test installs it)")
text = pytest.importorskip("sklearn.feature_extraction.text", reason="sklearn is in the test extra (./dev test installs it)")

from conduit_kernels.tfidf import encode_documents, tfidf_fit, tfidf_transform, word_table  # noqa: E402

ASCII = [
    "The quick brown fox jumps over the lazy dog.",
    "Never jump over the lazy dog quickly; foxes are quick!",
    "a b c d e",  # only one-character tokens: an empty row
    "",
    "snake_case words, x1 y2 and 42 or 3.14 -- under_score __init__",
    "the the the THE The fox",
]
UNICODE = [
    "Été à Paris: naïve café, ÉCOLE élève",
    "İstanbul ΣΊΣΥΦΟΣ straße STRASSE ǅemal",
    "日本語のテキスト 中文分词 한국어 문장 ภาษาไทย",
    "ﬁne ﬂow Ⅻ ½ ²³ ٣٤ x\u0301y e\u0301te\u0301 ＡＢＣ",  # ligatures, numerals, combining marks
    "emoji 😀😀 word😀word tab\tnew\nline",
    "Ünïcödé ünïcödé ÜNÏCÖDÉ",
]


def ours(docs, **options):
    buf, offsets = encode_documents(docs)
    model, (data, indices, indptr, shape) = tfidf_fit(buf, offsets, **options)
    return model, sp.csr_matrix((data, indices, indptr), shape=shape)


def assert_same(model, got, vectorizer, want):
    assert model.terms == list(vectorizer.get_feature_names_out())
    want = want.tocsr()
    want.sort_indices()
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.data, want.data, rtol=0, atol=1e-6)


@pytest.mark.parametrize("corpus", [ASCII, UNICODE, ASCII + UNICODE], ids=["ascii", "unicode", "mixed"])
def test_defaults_equal_sklearn(corpus):
    model, got = ours(corpus)
    vec = text.TfidfVectorizer()
    assert_same(model, got, vec, vec.fit_transform(corpus))
    new = ["the fox in Paris with a café", "unknown words only", "", "ÜNÏCÖDÉ fox fox"]
    buf, offsets = encode_documents(new)
    data, indices, indptr, shape = tfidf_transform(model, buf, offsets)
    assert_same(model, sp.csr_matrix((data, indices, indptr), shape=shape), vec, vec.transform(new))


@pytest.mark.parametrize(
    "options",
    [
        {"min_df": 2},
        {"max_df": 0.5},
        {"max_df": 3},
        {"min_df": 0.2, "max_df": 0.9},
        {"max_features": 7},
        {"sublinear_tf": True},
        {"norm": "l1"},
        {"norm": None},
        {"smooth_idf": False},
        {"use_idf": False},
    ],
)
def test_options_equal_sklearn(options):
    rng = np.random.default_rng(5)
    words = ["alpha", "beta", "gamma", "delta", "épsilon", "zeta", "eta", "θήτα", "iota", "kappa"]
    corpus = [" ".join(rng.choice(words, rng.integers(1, 12))) for _ in range(30)] + UNICODE
    model, got = ours(corpus, **options)
    vec = text.TfidfVectorizer(**options)
    assert_same(model, got, vec, vec.fit_transform(corpus))


def test_word_table_is_pythons_rule():
    import re

    table = word_table()
    for cp in [0x41, 0x5F, 0x30, 0xE9, 0x301, 0x2160, 0xBD, 0x663, 0x1F600, 0x4E2D, 0xFF21, 0x20]:
        assert bool(table[cp]) == bool(re.fullmatch(r"\w", chr(cp))), hex(cp)


def test_encoding_and_bad_input():
    buf, offsets = encode_documents(["Hi", "ÉTÉ"])
    assert buf.tobytes() == "hiété".encode() and offsets.tolist() == [0, 2, 7]
    with pytest.raises(ValueError, match="sequence of strings"):
        encode_documents("just one string")
    with pytest.raises(ValueError, match="document 1 is int"):
        encode_documents(["ok", 3])
    buf, offsets = encode_documents(["a b", "c"])
    with pytest.raises(ValueError, match="no terms remain"):
        tfidf_fit(buf, offsets)
    buf, offsets = encode_documents(ASCII)
    with pytest.raises(ValueError, match="norm must be"):
        tfidf_fit(buf, offsets, norm="l3")
    with pytest.raises(ValueError, match="max_features"):
        tfidf_fit(buf, offsets, max_features=0)
    with pytest.raises(ValueError, match="max_df"):
        tfidf_fit(buf, offsets, max_df=1.5)


ANALYZERS = [
    {"ngram_range": (1, 2)},
    {"ngram_range": (2, 2)},
    {"ngram_range": (1, 3), "min_df": 2},
    {"ngram_range": (2, 3), "max_df": 0.6, "sublinear_tf": True},
    {"stop_words": ["the", "fox", "été", "over"]},
    {"stop_words": ["the", "a"], "ngram_range": (1, 2), "max_features": 15},
    {"stop_words": [], "ngram_range": (3, 3)},
    {"stop_words": ["alpha", "beta"], "ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2,
     "max_df": 0.9},
]


@pytest.mark.parametrize("options", ANALYZERS, ids=str)
def test_analyzer_options_equal_sklearn(options):
    rng = np.random.default_rng(8)
    words = ["alpha", "beta", "gamma", "the", "fox", "été", "θήτα", "over", "a", "x"]
    corpus = [" ".join(rng.choice(words, rng.integers(0, 12))) for _ in range(40)] + ASCII + UNICODE
    model, got = ours(corpus, **options)
    vec = text.TfidfVectorizer(**options)
    assert_same(model, got, vec, vec.fit_transform(corpus))
    new = ["the fox over the lazy dog", "alpha beta gamma alpha beta", "", "été θήτα été"]
    buf, offsets = encode_documents(new)
    data, indices, indptr, shape = tfidf_transform(model, buf, offsets)
    assert_same(model, sp.csr_matrix((data, indices, indptr), shape=shape), vec, vec.transform(new))


@pytest.mark.parametrize("options, match", [
    ({"ngram_range": (2, 1)}, "ngram_range"), ({"ngram_range": (0, 1)}, "ngram_range"),
    ({"ngram_range": "1,2"}, "ngram_range"), ({"ngram_range": (1, True)}, "ngram_range"),
    ({"stop_words": "the"}, "stop_words"), ({"stop_words": ["ok", 3]}, "stop_words")])
def test_bad_analyzer_options(options, match):
    buf, offsets = encode_documents(ASCII)
    with pytest.raises(ValueError, match=match):
        tfidf_fit(buf, offsets, **options)


def test_a_hash_collision_falls_back_to_the_exact_vocabulary(monkeypatch):
    import conduit_kernels.tfidf as tfidf

    def colliding(hashes, cap):  # as if every token had the same 64-bit hash
        return np.zeros(hashes.shape[0], dtype=np.int32), np.zeros(1, dtype=np.int64)

    monkeypatch.setattr(tfidf, "_hash_vocabulary", colliding)
    model, got = ours(ASCII + UNICODE)
    vec = text.TfidfVectorizer()
    assert_same(model, got, vec, vec.fit_transform(ASCII + UNICODE))


def test_serial_and_parallel_transform_agree(monkeypatch):
    import conduit_kernels.tfidf as tfidf

    model, _ = ours(ASCII + UNICODE)
    new = ["the fox in Paris with a café", "", "ÜNÏCÖDÉ fox fox", "snake_case x1"]
    buf, offsets = encode_documents(new)
    serial = tfidf_transform(model, buf, offsets)
    monkeypatch.setattr(tfidf, "SERIAL_MAX_BYTES", 0)
    parallel = tfidf_transform(model, buf, offsets)
    for a, b in zip(serial[:3], parallel[:3]):
        np.testing.assert_array_equal(a, b)
    assert serial[3] == parallel[3]


# --- small inputs never reach a parallel=True kernel (issue 23) ---------------------------


def _is_parallel(dispatcher) -> bool:
    return bool(dispatcher.targetoptions.get("parallel"))


def test_small_inputs_take_the_serial_kernels():
    """A request-sized fit or transform (under SERIAL_MAX_BYTES of text) runs only serial twins,
    whatever the analyzer; a large one the parallel kernels."""
    from conduit_kernels import tfidf

    small = tfidf._kernels_for(tfidf.SERIAL_MAX_BYTES - 1)
    large = tfidf._kernels_for(tfidf.SERIAL_MAX_BYTES)
    assert not any(_is_parallel(k) for k in small)
    assert all(_is_parallel(k) for k in large)
    assert not _is_parallel(tfidf._transform_serial)


@pytest.mark.parametrize("options", [{}, {"ngram_range": (1, 2), "stop_words": ["the", "over"]}])
def test_serial_and_parallel_passes_agree(options, monkeypatch):
    """The same text through the serial and the parallel kernels gives the same model and rows."""
    from conduit_kernels import tfidf

    buf, offsets = encode_documents(ASCII + UNICODE)
    serial_model, serial_rows = tfidf_fit(buf, offsets, **options)
    monkeypatch.setattr(tfidf, "SERIAL_MAX_BYTES", 0)  # every input counts as large
    parallel_model, parallel_rows = tfidf_fit(buf, offsets, **options)
    assert serial_model.terms == parallel_model.terms
    for a, b in zip(serial_rows[:3], parallel_rows[:3]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(tfidf_transform(serial_model, buf, offsets)[:3], tfidf_transform(parallel_model, buf, offsets)[:3]):
        np.testing.assert_array_equal(a, b)


# --- the straight-scan tokenizer (issue 23) -----------------------------------------------

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
from hypothesis import given, settings, strategies as st  # noqa: E402

_PIECES = st.sampled_from(["ab", "é", "x\u0301", "😀", "日本", "_", "1", " ", ".", "\t", "İ", "ǅ", "\x00"])


def _kernel_tokens(buf, offsets):
    from conduit_kernels import tfidf

    table = word_table()
    counts = tfidf._count_tokens_serial(buf, offsets, table)
    tok_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    starts, stops = np.empty(tok_off[-1], np.int64), np.empty(tok_off[-1], np.int64)
    hashes = np.empty(tok_off[-1], np.uint64)
    tfidf._fill_tokens_serial(buf, offsets, table, tok_off, starts, stops, hashes)
    return tok_off, starts, stops, hashes


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=30).map("".join), min_size=1, max_size=5))
def test_scan_tokens_equal_the_token_regex(docs):
    """Counting and filling scan word-character runs; their tokens are exactly the spans of
    scikit-learn's ``(?u)\\b\\w\\w+\\b`` and their hashes the FNV-1a the lookup table uses."""
    import re

    from conduit_kernels import tfidf

    buf, offsets = encode_documents(docs, lowercase=False)
    tok_off, starts, stops, hashes = _kernel_tokens(buf, offsets)
    raw = buf.tobytes()
    for d, doc in enumerate(docs):
        got = [raw[s:e].decode("utf-8") for s, e in zip(starts[tok_off[d]:tok_off[d + 1]], stops[tok_off[d]:tok_off[d + 1]])]
        assert got == re.findall(r"(?u)\b\w\w+\b", doc)
    for s, e, h in zip(starts, stops, hashes):
        assert h == tfidf._fnv1a(buf, s, e)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=4))
def test_scan_tokens_on_malformed_utf8_match_the_transform_tokenizer(chunks):
    """On arbitrary bytes (truncated and stray UTF-8 sequences) the fit's scan finds the same
    tokens as ``_next_token``, which transform's lookup walks: fit and transform never disagree."""
    from conduit_kernels import tfidf

    buf = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
    tok_off, starts, stops, _ = _kernel_tokens(buf, offsets)
    table = word_table()
    for d in range(len(chunks)):
        want, p, end = [], offsets[d], offsets[d + 1]
        while True:
            s, p = tfidf._next_token(buf, p, end, table)
            if s < 0:
                break
            want.append((s, p))
        assert list(zip(starts[tok_off[d]:tok_off[d + 1]], stops[tok_off[d]:tok_off[d + 1]])) == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.just(-1), st.integers(0, 300), st.integers(0, 2**31 - 1)), max_size=60),
                min_size=1, max_size=6))
def test_radix_sorted_rows_count_distinct_terms(rows):
    """``_count_terms`` sorts every row's columns (radix, as many bytes as the largest needs)
    and counts the distinct known ones; unknown terms (-1) never count, wherever they land."""
    from conduit_kernels import tfidf

    tok_off = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    for count_terms in (tfidf._count_terms_serial, tfidf._count_terms):
        cols = np.array([c for r in rows for c in r], dtype=np.int32)
        nnz = count_terms(tok_off, cols)
        for d, row in enumerate(rows):
            known = sorted(c for c in row if c >= 0)
            seg = cols[tok_off[d]:tok_off[d + 1]]
            assert [c for c in seg.tolist() if c >= 0] == known
            assert nnz[d] == len(set(known))
