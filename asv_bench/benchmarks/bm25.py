"""BM25: Conduit's BM25Index (CSR counts + one scoring kernel) beside bm25s, same corpus, same run.

Corpus: the TF-IDF suite's 20,000 Zipf documents of 200 words; queries: the first
five words of 100 held-out documents. Both use Lucene's idf and k1=1.5, b=0.75.
``add_one`` is the incremental path (one new document into the built index), which
bm25s does not have: its peer is a rebuild.
"""

from __future__ import annotations

import functools

from .tfidf import corpus

K = 10


@functools.lru_cache(maxsize=1)
def data():
    docs, new = corpus()
    return docs, [" ".join(d.split()[:5]) for d in new[:100]]


class BM25:
    timeout = 600
    number = 1
    repeat = (2, 5, 30.0)
    warmup_time = 0

    def setup(self):
        import bm25s

        from conduit.vector import BM25Index

        self.docs, self.queries = data()
        self.ours = BM25Index(k1=1.5, b=0.75)
        self.ours.add(list(range(len(self.docs))), self.docs)
        self.ours.search(self.queries[0], K)
        self.theirs = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
        self.theirs.index(bm25s.tokenize(self.docs, stopwords=None, show_progress=False),
                          show_progress=False)
        self.query_tokens = bm25s.tokenize(self.queries, stopwords=None, show_progress=False)
        self.n = len(self.docs)

    def time_conduit_build(self):
        from conduit.vector import BM25Index

        BM25Index(k1=1.5, b=0.75).add(list(range(len(self.docs))), self.docs)

    def time_bm25s_build(self):
        import bm25s

        bm25s.BM25(k1=1.5, b=0.75, method="lucene").index(
            bm25s.tokenize(self.docs, stopwords=None, show_progress=False), show_progress=False)

    def time_conduit_100_queries(self):
        for q in self.queries:
            self.ours.search(q, K)

    def time_bm25s_100_queries(self):
        self.theirs.retrieve(self.query_tokens, k=K, show_progress=False, n_threads=1)

    def time_conduit_add_one(self):
        self.n += 1
        self.ours.add([self.n], [self.queries[self.n % 100]])
