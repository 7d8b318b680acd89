"""TF-IDF over array-encoded text: tokenize, count, weight, normalise, all in kernels.

Owns: the text encoding (one UTF-8 byte buffer + document offsets), tokenization,
the vocabulary (an open-addressing hash table over term bytes), document
frequencies, idf, tf weighting, normalisation and the CSR arrays out. Knows
nothing of scipy: results are ``(data, indices, indptr, shape)``, which
``scipy.sparse.csr_matrix`` accepts as is.

Compatibility: with default options the output equals scikit-learn's
``TfidfVectorizer()``: text is lowercased with Python's ``str.lower`` in the
encoding step, tokens are the maximal runs of *two or more* word characters (the
regex ``(?u)\\b\\w\\w+\\b``), where "word character" is decided per code point by
a table built from Python's own ``re`` ``\\w`` (so Unicode letters, digits and
``_`` count, combining marks do not, exactly as in Python). Columns are the terms
in code-point order (UTF-8 byte order is the same), ``min_df``/``max_df``/
``max_features`` prune as scikit-learn does, idf is ``ln((1+n)/(1+df)) + 1``
(smooth) or ``ln(n/df) + 1``, sublinear tf is ``1 + ln(tf)``, rows are L2 (or L1)
normalised. Values are float64, indices sorted within each row.

Layout of a fitted :class:`TfidfModel`::

    terms      list[str]      column -> term (sorted)
    term_bytes uint8[:]       the terms' UTF-8 bytes, concatenated in column order
    term_off   int64[v + 1]   term j is term_bytes[term_off[j]:term_off[j+1]]
    slots      int32[cap]     hash table: column of the term hashed there, -1 empty
    idf        float64[v]     (ones when use_idf is false)
    ngram_range (min_n, max_n) and stop (a lookup table of stop words, or None): the analyzer

Beyond single tokens (scikit-learn's ``_word_ngrams``): tokens equal to a stop
word are dropped, then the n-grams of the remaining tokens, ``min_n`` to ``max_n``
long, are written joined by one space into a new byte buffer, so counting,
vocabulary and lookup run unchanged over spans of that buffer. The default
analyzer never builds it.
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple, Sequence

import numpy as np
from numba import prange

from ._jit import inline, kernel, serial_and_parallel

__all__ = ["TfidfModel", "encode_documents", "tfidf_fit", "tfidf_transform", "word_table"]

_NORMS = {None: 0, "l2": 2, "l1": 1}
#: below this many bytes, ``tfidf_transform`` runs one serial kernel (no thread pool)
SERIAL_MAX_BYTES = 1 << 15
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)

_WORD_TABLE: "np.ndarray | None" = None


def word_table() -> np.ndarray:
    """``uint8[0x110000]``: 1 where Python's ``re`` ``\\w`` matches the code point.

    Built once per process from ``re`` itself (about 0.1 s), passed to the kernels
    as an argument.
    """
    global _WORD_TABLE
    if _WORD_TABLE is None:
        every = "".join(map(chr, range(0x110000)))
        marked = re.sub(r"\W", "\x00", every)
        codes = np.frombuffer(marked.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        table = (codes != 0).astype(np.uint8)
        _WORD_TABLE = table
    return _WORD_TABLE


def encode_documents(docs: Sequence[str], lowercase: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Encode documents as ``(buffer uint8[:], offsets int64[n + 1])``, lowercased by ``str.lower``.

    Example: ``["Hi", "ÉTÉ"]`` -> ``(b"hi\\xc3\\xa9t\\xc3\\xa9", [0, 2, 7])``.
    """
    if isinstance(docs, (str, bytes)):
        raise ValueError("documents must be a sequence of strings, not a single string")
    parts = []
    for i, doc in enumerate(docs):
        if isinstance(doc, bytes):
            doc = doc.decode("utf-8")
        elif not isinstance(doc, str):
            raise ValueError(f"document {i} is {type(doc).__name__}, expected str")
        parts.append((doc.lower() if lowercase else doc).encode("utf-8", "surrogatepass"))
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    buf = np.frombuffer(b"".join(parts), dtype=np.uint8)
    return buf, offsets


# --- tokenizer ---


@inline
def _next_char(buf, p, end):
    """Code point at ``p`` and the position after it (malformed bytes count as one non-word)."""
    b = np.int64(buf[p])
    if b < 0x80:
        return b, p + 1
    if b >= 0xF0:
        if p + 4 <= end:
            return ((b & 0x07) << 18) | ((np.int64(buf[p + 1]) & 0x3F) << 12) | (
                (np.int64(buf[p + 2]) & 0x3F) << 6) | (np.int64(buf[p + 3]) & 0x3F), p + 4
    elif b >= 0xE0:
        if p + 3 <= end:
            return ((b & 0x0F) << 12) | ((np.int64(buf[p + 1]) & 0x3F) << 6) | (
                np.int64(buf[p + 2]) & 0x3F), p + 3
    elif b >= 0xC0:
        if p + 2 <= end:
            return ((b & 0x1F) << 6) | (np.int64(buf[p + 1]) & 0x3F), p + 2
    return np.int64(0), p + 1


@inline
def _next_token(buf, p, end, table):
    """Next token in ``[p, end)``: ``(start, stop)``, or ``(-1, end)`` when none is left."""
    while p < end:
        cp, q = _next_char(buf, p, end)
        if table[cp] == 0:
            p = q
            continue
        start = p
        n_chars = 0
        while p < end:
            cp, q = _next_char(buf, p, end)
            if table[cp] == 0:
                break
            n_chars += 1
            p = q
        if n_chars >= 2:
            return start, p
    return np.int64(-1), end


@inline
def _fnv1a(buf, start, stop):
    h = np.uint64(14695981039346656037)
    for p in range(start, stop):
        h = (h ^ np.uint64(buf[p])) * np.uint64(1099511628211)
    return h


def _count_tokens_impl(buf, offsets, table):
    """Tokens per document, by one straight scan of runs of word characters.

    The same tokens as :func:`_next_token` (sequential decoding, runs of two or more
    word characters), without its per-token call: a third of the CPU it took through
    ``_next_token`` on the benchmark corpus.
    """
    n = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.int64)
    for d in prange(n):
        p, end = offsets[d], offsets[d + 1]
        c = 0
        run = 0
        while p < end:
            b = buf[p]
            if b < 0x80:
                word = table[b]
                p += 1
            else:
                cp, p = _next_char(buf, p, end)
                word = table[cp]
            if word:
                run += 1
            else:
                if run >= 2:
                    c += 1
                run = 0
        if run >= 2:
            c += 1
        out[d] = c
    return out


_count_tokens_serial, _count_tokens = serial_and_parallel(_count_tokens_impl)


def _fill_tokens_impl(buf, offsets, table, tok_off, starts, stops, hashes):
    """Spans and FNV-1a hashes (equal to :func:`_fnv1a`) of every token, by the straight
    scan of :func:`_count_tokens_impl`, hashing each byte as it is read."""
    n = offsets.shape[0] - 1
    for d in prange(n):
        p, end = offsets[d], offsets[d + 1]
        t = tok_off[d]
        run = 0
        start = p
        h = np.uint64(14695981039346656037)
        while p < end:
            b = buf[p]
            if b < 0x80:
                word = table[b]
                q = p + 1
            else:
                cp, q = _next_char(buf, p, end)
                word = table[cp]
            if word:
                if run == 0:
                    start = p
                    h = np.uint64(14695981039346656037)
                run += 1
                for i in range(p, q):
                    h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
            else:
                if run >= 2:
                    starts[t] = start
                    stops[t] = p
                    hashes[t] = h
                    t += 1
                run = 0
            p = q
        if run >= 2:
            starts[t] = start
            stops[t] = p
            hashes[t] = h


_fill_tokens_serial, _fill_tokens = serial_and_parallel(_fill_tokens_impl)


@inline
def _same_bytes(a, a0, a1, b, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for i in range(a1 - a0):
        if a[a0 + i] != b[b0 + i]:
            return False
    return True


@inline
def _grown(arr, size):
    out = np.empty(size, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


@kernel
def _build_vocabulary(buf, starts, stops, hashes, cap):
    """Assign term ids in first-seen order, comparing bytes at every probe (the exact
    fallback of :func:`_hash_vocabulary`); returns (term of token, first start, first stop)."""
    slots = np.full(cap, -1, dtype=np.int32)
    mask = np.uint64(cap - 1)
    n_tok = starts.shape[0]
    term_of = np.empty(n_tok, dtype=np.int32)
    first_start = np.empty(n_tok, dtype=np.int64)
    first_stop = np.empty(n_tok, dtype=np.int64)
    n_terms = 0
    for t in range(n_tok):
        pos = np.int64(hashes[t] & mask)
        while True:
            term = slots[pos]
            if term < 0:
                slots[pos] = n_terms
                first_start[n_terms] = starts[t]
                first_stop[n_terms] = stops[t]
                term_of[t] = n_terms
                n_terms += 1
                break
            if _same_bytes(buf, first_start[term], first_stop[term], buf, starts[t], stops[t]):
                term_of[t] = term
                break
            pos = (pos + 1) & np.int64(cap - 1)
    return term_of, first_start[:n_terms].copy(), first_stop[:n_terms].copy()


@kernel
def _hash_vocabulary(hashes, cap):
    """Term ids by 64-bit hash alone, first-seen order: ``(term of token, first token of term)``.

    Ten times cheaper than :func:`_build_vocabulary` (no byte reads: the table and the
    hashes stay in cache); :func:`_hash_mismatches` then proves no two terms shared a hash.
    """
    slots = np.full(cap, -1, dtype=np.int32)
    mask = np.uint64(cap - 1)
    n_tok = hashes.shape[0]
    term_of = np.empty(n_tok, dtype=np.int32)
    room = cap // 2
    term_hash = np.empty(room, dtype=np.uint64)
    first = np.empty(room, dtype=np.int64)
    n_terms = 0
    for t in range(n_tok):
        h = hashes[t]
        pos = np.int64(h & mask)
        while True:
            term = slots[pos]
            if term < 0:
                slots[pos] = n_terms
                term_hash[n_terms] = h
                first[n_terms] = t
                term_of[t] = n_terms
                n_terms += 1
                break
            if term_hash[term] == h:
                term_of[t] = term
                break
            pos = np.int64((pos + 1) & np.int64(mask))
        if n_terms == room:
            cap *= 2
            room = cap // 2
            mask = np.uint64(cap - 1)
            term_hash = _grown(term_hash, room)
            first = _grown(first, room)
            slots = np.full(cap, -1, dtype=np.int32)
            for j in range(n_terms):
                pos = np.int64(term_hash[j] & mask)
                while slots[pos] >= 0:
                    pos = np.int64((pos + 1) & np.int64(mask))
                slots[pos] = j
    return term_of, first[:n_terms].copy()


def _hash_mismatches_impl(buf, starts, stops, term_of, term_bytes, term_off):
    """How many tokens differ from the bytes of the term their hash chose (0 unless a
    64-bit collision merged two terms). Reads a compact copy of the terms, in cache."""
    bad = 0
    for t in prange(starts.shape[0]):
        j = term_of[t]
        if not _same_bytes(term_bytes, term_off[j], term_off[j + 1], buf, starts[t], stops[t]):
            bad += 1
    return bad


_hash_mismatches_serial, _hash_mismatches = serial_and_parallel(_hash_mismatches_impl)


@inline
def _radix_pass(src, s0, dst, d0, m, shift, buckets):
    """One stable counting pass over byte ``shift // 8``: ``src[s0:s0+m]`` -> ``dst[d0:d0+m]``."""
    buckets[:] = 0
    for i in range(s0, s0 + m):
        buckets[(src[i] >> shift) & 255] += 1
    at = d0
    for k in range(256):
        c = buckets[k]
        buckets[k] = at
        at += c
    for i in range(s0, s0 + m):
        k = (src[i] >> shift) & 255
        dst[buckets[k]] = src[i]
        buckets[k] += 1


@inline
def _radix_sort(cols, lo, hi, scratch, buckets):
    """Sort ``cols[lo:hi]`` in place, least significant byte first, as many bytes as the
    largest column needs (two for a vocabulary under 65,536 terms). Four times faster than
    ``ndarray.sort`` on the ~200-token rows of a corpus. -1 (an unknown term) has every
    byte 255, so it sorts last; the callers skip it wherever it lands."""
    m = hi - lo
    if m < 2:
        return
    top = 0
    for i in range(lo, hi):
        top = max(top, cols[i])
    passes = 1
    while passes < 4 and (top >> (8 * passes)) > 0:
        passes += 1
    for p in range(passes):
        if p % 2 == 0:
            _radix_pass(cols, lo, scratch, 0, m, 8 * p, buckets)
        else:
            _radix_pass(scratch, 0, cols, lo, m, 8 * p, buckets)
    if passes % 2 == 1:
        cols[lo:hi] = scratch[:m]


def _count_terms_impl(tok_off, cols):
    """Per document: sort its token columns in place, return unique counts per document.

    Documents go in up to 64 chunks so each chunk's radix scratch is allocated once.
    """
    n = tok_off.shape[0] - 1
    nnz = np.zeros(n, dtype=np.int64)
    n_chunks = min(n, 64)
    for c in prange(n_chunks):
        first, last = c * n // n_chunks, (c + 1) * n // n_chunks
        longest = 0
        for d in range(first, last):
            longest = max(longest, tok_off[d + 1] - tok_off[d])
        scratch = np.empty(longest, dtype=cols.dtype)
        buckets = np.empty(256, dtype=np.int64)
        for d in range(first, last):
            _radix_sort(cols, tok_off[d], tok_off[d + 1], scratch, buckets)
            u = 0
            prev = -1
            for t in range(tok_off[d], tok_off[d + 1]):
                col = cols[t]
                if col != prev and col >= 0:
                    u += 1
                    prev = col
            nnz[d] = u
    return nnz


_count_terms_serial, _count_terms = serial_and_parallel(_count_terms_impl)


@inline
def _weigh_row(data, lo, hi, indices, idf, sublinear, norm):
    total = 0.0
    for i in range(lo, hi):
        v = data[i]
        if sublinear:
            v = np.log(v) + 1.0
        v *= idf[indices[i]]
        data[i] = v
        total += v * v if norm == 2 else abs(v)
    if norm != 0 and total > 0:
        scale = np.sqrt(total) if norm == 2 else total
        for i in range(lo, hi):
            data[i] /= scale


def _fill_csr_impl(tok_off, cols, indptr, idf, sublinear, norm):
    n = tok_off.shape[0] - 1
    nnz = indptr[n]
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float64)
    for d in prange(n):
        out = indptr[d] - 1
        prev = -1
        for t in range(tok_off[d], tok_off[d + 1]):
            c = cols[t]
            if c < 0:
                continue
            if c != prev:
                out += 1
                indices[out] = c
                data[out] = 0.0
                prev = c
            data[out] += 1.0
        if idf.shape[0] > 0:
            _weigh_row(data, indptr[d], indptr[d + 1], indices, idf, sublinear, norm)
    return indices, data


_fill_csr_serial, _fill_csr = serial_and_parallel(_fill_csr_impl)


def _weigh_rows_impl(indptr, indices, data, idf, sublinear, norm):
    """Weigh and normalise counts already in CSR form, in place: a fit that prunes no term
    reuses its counting pass instead of walking the tokens again."""
    for d in prange(indptr.shape[0] - 1):
        _weigh_row(data, indptr[d], indptr[d + 1], indices, idf, sublinear, norm)


_weigh_rows_serial, _weigh_rows = serial_and_parallel(_weigh_rows_impl)


@kernel
def _build_lookup(term_bytes, term_off, cap):
    slots = np.full(cap, -1, dtype=np.int32)
    for j in range(term_off.shape[0] - 1):
        pos = np.int64(_fnv1a(term_bytes, term_off[j], term_off[j + 1]) & np.uint64(cap - 1))
        while slots[pos] >= 0:
            pos = (pos + 1) & np.int64(cap - 1)
        slots[pos] = j
    return slots


@inline
def _lookup(buf, s, e, slots, term_bytes, term_off):
    cap = slots.shape[0]
    pos = np.int64(_fnv1a(buf, s, e) & np.uint64(cap - 1))
    while True:
        j = slots[pos]
        if j < 0:
            return -1
        if _same_bytes(term_bytes, term_off[j], term_off[j + 1], buf, s, e):
            return j
        pos = (pos + 1) & np.int64(cap - 1)


def _lookup_tokens_impl(buf, offsets, table, tok_off, slots, term_bytes, term_off):
    n = offsets.shape[0] - 1
    cols = np.empty(tok_off[n], dtype=np.int32)
    for d in prange(n):
        p, end = offsets[d], offsets[d + 1]
        t = tok_off[d]
        while True:
            s, p = _next_token(buf, p, end, table)
            if s < 0:
                break
            cols[t] = _lookup(buf, s, p, slots, term_bytes, term_off)
            t += 1
    return cols


_lookup_tokens_serial, _lookup_tokens = serial_and_parallel(_lookup_tokens_impl)


@kernel
def _transform_serial(buf, offsets, table, slots, term_bytes, term_off, idf, sublinear, norm):
    """Tokenize + look up + count + weigh in one serial call: a query or one document is
    too small to pay for waking the thread pool (on a loaded machine that costs more
    than the work)."""
    n = offsets.shape[0] - 1
    counts = _count_tokens_serial(buf, offsets, table)
    tok_off = np.zeros(n + 1, dtype=np.int64)
    for d in range(n):
        tok_off[d + 1] = tok_off[d] + counts[d]
    cols = _lookup_tokens_serial(buf, offsets, table, tok_off, slots, term_bytes, term_off)
    nnz = _count_terms_serial(tok_off, cols)
    indptr = np.zeros(n + 1, dtype=np.int64)
    for d in range(n):
        indptr[d + 1] = indptr[d] + nnz[d]
    indices, data = _fill_csr_serial(tok_off, cols, indptr, idf, sublinear, norm)
    return data, indices, indptr


# --- the analyzer beyond single tokens: stop words and word n-grams ---


def _hash_spans_impl(buf, starts, stops):
    out = np.empty(starts.shape[0], dtype=np.uint64)
    for t in prange(starts.shape[0]):
        out[t] = _fnv1a(buf, starts[t], stops[t])
    return out


_hash_spans_serial, _hash_spans = serial_and_parallel(_hash_spans_impl)


def _lookup_spans_impl(buf, starts, stops, slots, term_bytes, term_off):
    """Column of each ``buf[starts[t]:stops[t]]`` in a lookup table, -1 when absent."""
    cols = np.empty(starts.shape[0], dtype=np.int32)
    for t in prange(starts.shape[0]):
        cols[t] = _lookup(buf, starts[t], stops[t], slots, term_bytes, term_off)
    return cols


_lookup_spans_serial, _lookup_spans = serial_and_parallel(_lookup_spans_impl)


def _gram_sizes_impl(starts, stops, tok_off, min_n, max_n):
    """Per document: how many n-grams, and how many bytes they take joined by single spaces."""
    n_docs = tok_off.shape[0] - 1
    grams = np.zeros(n_docs, dtype=np.int64)
    size = np.zeros(n_docs, dtype=np.int64)
    for d in prange(n_docs):
        lo, hi = tok_off[d], tok_off[d + 1]
        for n in range(min_n, max_n + 1):
            for i in range(lo, hi - n + 1):
                grams[d] += 1
                size[d] += n - 1
                for j in range(i, i + n):
                    size[d] += stops[j] - starts[j]
    return grams, size


_gram_sizes_serial, _gram_sizes = serial_and_parallel(_gram_sizes_impl)


def _fill_grams_impl(buf, starts, stops, tok_off, min_n, max_n, gram_off, byte_off, out, gstarts, gstops):
    """Write every n-gram's bytes ("tok tok ...", scikit-learn's join) to ``out``, spans to g*."""
    n_docs = tok_off.shape[0] - 1
    for d in prange(n_docs):
        lo, hi = tok_off[d], tok_off[d + 1]
        g, p = gram_off[d], byte_off[d]
        for n in range(min_n, max_n + 1):
            for i in range(lo, hi - n + 1):
                gstarts[g] = p
                for j in range(i, i + n):
                    if j > i:
                        out[p] = 32
                        p += 1
                    for q in range(starts[j], stops[j]):
                        out[p] = buf[q]
                        p += 1
                gstops[g] = p
                g += 1


_fill_grams_serial, _fill_grams = serial_and_parallel(_fill_grams_impl)


class _Pass(NamedTuple):
    """One variant of every kernel a fit or a transform runs (see :func:`_kernels_for`)."""

    count_tokens: Callable
    fill_tokens: Callable
    hash_mismatches: Callable
    hash_spans: Callable
    lookup_spans: Callable
    gram_sizes: Callable
    fill_grams: Callable
    count_terms: Callable
    fill_csr: Callable
    weigh_rows: Callable
    lookup_tokens: Callable


_SERIAL = _Pass(_count_tokens_serial, _fill_tokens_serial, _hash_mismatches_serial, _hash_spans_serial, _lookup_spans_serial, _gram_sizes_serial, _fill_grams_serial, _count_terms_serial, _fill_csr_serial, _weigh_rows_serial, _lookup_tokens_serial)
_PARALLEL = _Pass(_count_tokens, _fill_tokens, _hash_mismatches, _hash_spans, _lookup_spans, _gram_sizes, _fill_grams, _count_terms, _fill_csr, _weigh_rows, _lookup_tokens)


def _kernels_for(n_bytes: int) -> _Pass:
    """The serial kernels for less than :data:`SERIAL_MAX_BYTES` of text, else the parallel ones.

    A request's query or document is small: waking the thread pool costs more than the
    work, and on a busy machine far more (issue 23), so no small input reaches a
    ``parallel=True`` kernel, whatever analyzer the model uses.
    """
    return _SERIAL if n_bytes < SERIAL_MAX_BYTES else _PARALLEL


def _analyze(buf, tok_off, starts, stops, stop, ngram_range, k):
    """Tokens -> terms: drop stop words, then form n-grams (as new spans over a new buffer).

    Returns ``(buf, tok_off, starts, stops)`` of the terms; the default analyzer
    (no stop words, unigrams) returns its input unchanged. ``k``: the kernels to run.
    """
    n_docs = tok_off.shape[0] - 1
    if stop is not None and starts.shape[0]:
        keep = k.lookup_spans(buf, starts, stops, *stop) < 0
        doc_of = np.repeat(np.arange(n_docs), np.diff(tok_off))
        tok_off = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc_of[keep], minlength=n_docs), out=tok_off[1:])
        starts, stops = starts[keep], stops[keep]
    min_n, max_n = ngram_range
    if (min_n, max_n) == (1, 1):
        return buf, tok_off, starts, stops
    grams, size = k.gram_sizes(starts, stops, tok_off, min_n, max_n)
    gram_off = np.zeros(n_docs + 1, dtype=np.int64)
    byte_off = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(grams, out=gram_off[1:])
    np.cumsum(size, out=byte_off[1:])
    out = np.empty(byte_off[-1], dtype=np.uint8)
    gstarts = np.empty(gram_off[-1], dtype=np.int64)
    gstops = np.empty(gram_off[-1], dtype=np.int64)
    k.fill_grams(buf, starts, stops, tok_off, min_n, max_n, gram_off, byte_off, out, gstarts, gstops)
    return out, gram_off, gstarts, gstops


# --- the Python layer ---


class TfidfModel(NamedTuple):
    """A fitted vocabulary + idf (see the module docstring for the arrays)."""

    terms: list
    term_bytes: np.ndarray
    term_off: np.ndarray
    slots: np.ndarray
    idf: np.ndarray
    norm: int
    sublinear_tf: bool
    ngram_range: tuple = (1, 1)
    stop: "tuple | None" = None  # lookup table (slots, term_bytes, term_off) of the stop words


CSR = tuple  # (data float64[nnz], indices int32[nnz], indptr int64[n + 1], shape (n, v))


def _capacity(n):
    cap = 16
    while cap < 2 * n:
        cap *= 2
    return cap


def _lookup_table(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(slots, term_bytes, term_off)`` for :func:`_lookup` over ``words`` (column = position)."""
    encoded = [w.encode("utf-8", "surrogatepass") for w in words]
    term_off = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=term_off[1:])
    term_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return _build_lookup(term_bytes, term_off, _capacity(len(encoded))), term_bytes, term_off


def _check_analyzer(ngram_range, stop_words):
    if (not isinstance(ngram_range, (tuple, list)) or len(ngram_range) != 2
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in ngram_range)
            or not 1 <= ngram_range[0] <= ngram_range[1]):
        raise ValueError(f"ngram_range must be (min_n, max_n) with 1 <= min_n <= max_n, got {ngram_range!r}")
    if stop_words is None:
        return (int(ngram_range[0]), int(ngram_range[1])), None
    if isinstance(stop_words, str) or not all(isinstance(w, str) for w in stop_words):
        raise ValueError("stop_words must be a collection of strings (or None)")
    words = sorted(set(stop_words))
    return (int(ngram_range[0]), int(ngram_range[1])), (_lookup_table(words) if words else None)


def _doc_count(value, n_docs, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be an int or a float, got {value!r}")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} as a float must lie in [0.0, 1.0], got {value}")
        return value * n_docs
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def tfidf_fit(buf, offsets, *, min_df=1, max_df=1.0, max_features=None, norm="l2",
              use_idf=True, smooth_idf=True, sublinear_tf=False, ngram_range=(1, 1),
              stop_words=None) -> tuple[TfidfModel, CSR]:
    """Learn the vocabulary and idf of encoded documents and return their TF-IDF rows.

    Parameters
    ----------
    buf, offsets : from :func:`encode_documents`
    min_df, max_df : int (document count) or float in [0, 1] (proportion)
    max_features : int, optional; keep the most frequent terms (corpus-wide counts)
    norm : "l2" | "l1" | None
    use_idf, smooth_idf, sublinear_tf : bool, as scikit-learn's ``TfidfVectorizer``
    ngram_range : (min_n, max_n), word n-grams joined by one space, as scikit-learn's
    stop_words : collection of str or None; tokens equal to one are dropped before n-grams

    Returns
    -------
    model : :class:`TfidfModel`
    csr : (data float64[nnz], indices int32[nnz], indptr int64[n + 1], (n, n_terms))
    """
    if norm not in _NORMS:
        raise ValueError(f"norm must be 'l2', 'l1' or None, got {norm!r}")
    if max_features is not None and (isinstance(max_features, bool) or not isinstance(
            max_features, (int, np.integer)) or max_features <= 0):
        raise ValueError(f"max_features must be a positive int or None, got {max_features!r}")
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    n_docs = offsets.shape[0] - 1
    high = _doc_count(max_df, n_docs, "max_df")
    low = _doc_count(min_df, n_docs, "min_df")
    if high < low:
        raise ValueError("max_df corresponds to < documents than min_df")
    ngram_range, stop = _check_analyzer(ngram_range, stop_words)
    table = word_table()
    k = _kernels_for(buf.shape[0])
    n_tok = k.count_tokens(buf, offsets, table)
    tok_off = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(n_tok, out=tok_off[1:])
    total = int(tok_off[-1])
    starts = np.empty(total, np.int64)
    stops = np.empty(total, np.int64)
    hashes = np.empty(total, np.uint64)
    k.fill_tokens(buf, offsets, table, tok_off, starts, stops, hashes)
    if stop is not None or ngram_range != (1, 1):
        buf, tok_off, starts, stops = _analyze(buf, tok_off, starts, stops, stop, ngram_range, k)
        hashes = k.hash_spans(buf, starts, stops)
    term_of, first = _hash_vocabulary(hashes, 1 << 12)
    raw = buf.tobytes()
    spans = [raw[s:e] for s, e in zip(starts[first].tolist(), stops[first].tolist())]
    span_off = np.zeros(len(spans) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in spans], out=span_off[1:])
    span_bytes = np.frombuffer(b"".join(spans), dtype=np.uint8)
    if k.hash_mismatches(buf, starts, stops, term_of, span_bytes, span_off):
        # two terms shared a 64-bit hash: redo it exactly, comparing bytes at every probe
        term_of, first_start, first_stop = _build_vocabulary(
            buf, starts, stops, hashes, _capacity(max(starts.shape[0], 1)))
        spans = [raw[s:e] for s, e in zip(first_start.tolist(), first_stop.tolist())]
    terms = [b.decode("utf-8", "surrogatepass") for b in spans]
    order = sorted(range(len(terms)), key=terms.__getitem__)
    rank = np.empty(len(terms), dtype=np.int32)
    rank[order] = np.arange(len(terms), dtype=np.int32)
    cols = rank[term_of]
    nnz = k.count_terms(tok_off, cols)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(nnz, out=indptr[1:])
    indices, counts = k.fill_csr(tok_off, cols, indptr, np.zeros(0), False, 0)
    sorted_terms = [terms[i] for i in order]
    # prune exactly as scikit-learn's CountVectorizer._limit_features
    df = np.bincount(indices, minlength=len(terms))
    keep = np.ones(len(terms), dtype=bool)
    keep &= df <= high
    keep &= df >= low
    if max_features is not None and keep.sum() > max_features:
        tfs = np.bincount(indices, weights=counts, minlength=len(terms)).astype(np.int64)
        chosen = (-tfs[keep]).argsort()[:max_features]
        new_keep = np.zeros(len(terms), dtype=bool)
        new_keep[np.where(keep)[0][chosen]] = True
        keep = new_keep
    if not keep.any():
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    pruned = not keep.all()
    if pruned:
        new_col = np.where(keep, np.cumsum(keep) - 1, -1).astype(np.int32)
        cols = new_col[rank][term_of]
        sorted_terms = [t for t, k in zip(sorted_terms, keep) if k]
        df = df[keep]
        nnz = k.count_terms(tok_off, cols)
        np.cumsum(nnz, out=indptr[1:])
    n_terms = len(sorted_terms)
    if use_idf:
        n, dfs = (n_docs + 1, df + 1) if smooth_idf else (n_docs, df)
        idf = np.log(n / dfs) + 1.0
    else:
        idf = np.ones(n_terms)
    slots, term_bytes, term_off = _lookup_table(sorted_terms)
    model = TfidfModel(sorted_terms, term_bytes, term_off, slots, idf.astype(np.float64),
                       _NORMS[norm], bool(sublinear_tf), ngram_range, stop)
    if pruned:
        indices, data = k.fill_csr(tok_off, cols, indptr, model.idf, model.sublinear_tf, model.norm)
    else:
        data = counts
        k.weigh_rows(indptr, indices, data, model.idf, model.sublinear_tf, model.norm)
    return model, (data, indices, indptr, (n_docs, n_terms))


def tfidf_transform(model: TfidfModel, buf, offsets) -> CSR:
    """TF-IDF rows of new encoded documents over a fitted vocabulary (unknown terms dropped)."""
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    n = offsets.shape[0] - 1
    table = word_table()
    if model.stop is None and model.ngram_range == (1, 1) and buf.shape[0] < SERIAL_MAX_BYTES:
        data, indices, indptr = _transform_serial(buf, offsets, table, model.slots, model.term_bytes,
                                                  model.term_off, model.idf, model.sublinear_tf,
                                                  model.norm)
        return data, indices, indptr, (n, len(model.terms))
    k = _kernels_for(buf.shape[0])
    tok_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k.count_tokens(buf, offsets, table), out=tok_off[1:])
    if model.stop is None and model.ngram_range == (1, 1):
        cols = k.lookup_tokens(buf, offsets, table, tok_off, model.slots, model.term_bytes, model.term_off)
    else:
        starts, stops = np.empty(tok_off[-1], np.int64), np.empty(tok_off[-1], np.int64)
        k.fill_tokens(buf, offsets, table, tok_off, starts, stops, np.empty(tok_off[-1], np.uint64))
        buf, tok_off, starts, stops = _analyze(buf, tok_off, starts, stops, model.stop, model.ngram_range, k)
        cols = k.lookup_spans(buf, starts, stops, model.slots, model.term_bytes, model.term_off)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k.count_terms(tok_off, cols), out=indptr[1:])
    indices, data = k.fill_csr(tok_off, cols, indptr, model.idf, model.sublinear_tf, model.norm)
    return data, indices, indptr, (n, len(model.terms))
