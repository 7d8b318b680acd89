"""Approximate top-10 search: Conduit's HNSW kernels beside hnswlib, usearch and faiss.

One process, the same data, the same run, for every library:

* data: "embedding-like" float32 rows (a 32-dimensional Gaussian latent mixed up to
  ``dim`` by a fixed random matrix, 64 clusters, plus noise), L2-normalised, so
  cosine = inner product for every library; 1,000 held-out queries from the same
  distribution. (Pure Gaussian noise in 384 dimensions has no neighbourhood
  structure: every index, and every user, would see recall collapse.)
* index: HNSW with ``M = 16``, ``ef_construction = 100`` everywhere (hnswlib
  ``space="ip"``, usearch ``metric="ip"``, faiss ``IndexHNSWFlat`` inner product;
  Conduit ``HnswIndex(metric="dot")``), all threads the machine has;
* build time (wall), index size (serialised bytes, as each library saves it);
* for ``ef`` in a sweep: recall@10 against the exact answer
  (:func:`conduit_kernels.topk.topk_batch`), single-query latency (200 queries one
  call each, mean) and batched throughput (1,000 queries in one call).

Writes ``docs/hnsw_results.json`` (after each size) and the recall/QPS plot
``docs/hnsw_recall_qps.png`` and prints a Markdown table; ``--plot-only`` redraws both
from the JSON. Run (tens of minutes on 2 cores)::

    PYTHONPATH=$PWD:$PWD/kernels python asv_bench/benchmarks/hnsw_curve.py \
        --sizes 100000x384,300000x128

``hnsw.py`` beside this file runs the same measurement under asv.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

K = 10
M = 16
EF_CONSTRUCTION = 100
EF_SWEEP = (16, 32, 64, 128, 256)
N_SINGLE = 200
N_BATCH = 1000
DOCS = Path(__file__).resolve().parents[2] / "docs"


def make_data(n: int, dim: int, n_queries: int = N_BATCH, seed: int = 7):
    """Clustered low-rank rows and queries, normalised (see the module docstring)."""
    rng = np.random.default_rng(seed)
    latent_dim = 32
    mix = rng.standard_normal((latent_dim, dim)).astype(np.float32)
    centres = rng.standard_normal((64, latent_dim)).astype(np.float32) * 2

    def draw(count):
        z = centres[rng.integers(0, 64, count)] + rng.standard_normal((count, latent_dim),
                                                                      dtype=np.float32)
        x = z @ mix + 0.5 * rng.standard_normal((count, dim), dtype=np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 100_000):
        out[s:s + 100_000] = draw(min(100_000, n - s))
    return out, draw(n_queries)


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Conduit:
    name = "conduit"

    def build(self, data):
        from conduit_kernels.hnsw import HnswIndex

        self.index = HnswIndex(data.shape[1], "dot", M=M, ef_construction=EF_CONSTRUCTION)
        self.index.add(data)

    def size(self, tmp):
        self.index.save(tmp / "conduit")
        return _dir_bytes(tmp / "conduit")

    def set_ef(self, ef):
        self.ef = ef

    def one(self, q):
        return self.index.search(q, K, ef=self.ef)[0]

    def batch(self, qs):
        return self.index.search_batch(qs, K, ef=self.ef)[0]


class Hnswlib:
    name = "hnswlib"

    def build(self, data):
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=data.shape[1])
        self.index.init_index(max_elements=data.shape[0], M=M, ef_construction=EF_CONSTRUCTION,
                              random_seed=1)
        self.index.add_items(data, np.arange(data.shape[0]))

    def size(self, tmp):
        self.index.save_index(str(tmp / "hnswlib.bin"))
        return (tmp / "hnswlib.bin").stat().st_size

    def set_ef(self, ef):
        self.index.set_ef(ef)

    def one(self, q):
        return self.index.knn_query(q, k=K)[0][0]

    def batch(self, qs):
        return self.index.knn_query(qs, k=K)[0]


class Usearch:
    name = "usearch"

    def build(self, data):
        from usearch.index import Index

        self.index = Index(ndim=data.shape[1], metric="ip", dtype="f32", connectivity=M,
                           expansion_add=EF_CONSTRUCTION)
        self.index.add(np.arange(data.shape[0]), data)

    def size(self, tmp):
        self.index.save(str(tmp / "usearch.bin"))
        return (tmp / "usearch.bin").stat().st_size

    def set_ef(self, ef):
        self.index.expansion_search = ef

    def one(self, q):
        return self.index.search(q, K).keys

    def batch(self, qs):
        return self.index.search(qs, K).keys


class Faiss:
    name = "faiss HNSW-Flat"

    def build(self, data):
        import faiss

        self.index = faiss.IndexHNSWFlat(data.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.index.add(data)

    def size(self, tmp):
        import faiss

        faiss.write_index(self.index, str(tmp / "faiss.bin"))
        return (tmp / "faiss.bin").stat().st_size

    def set_ef(self, ef):
        self.index.hnsw.efSearch = ef

    def one(self, q):
        return self.index.search(q[None, :], K)[1][0]

    def batch(self, qs):
        return self.index.search(qs, K)[1]


LIBRARIES = (Conduit, Hnswlib, Usearch, Faiss)


def _recall(got, want):
    got = np.asarray(got, dtype=np.int64)
    return float(np.mean([len(set(g.tolist()) & set(w.tolist())) / K for g, w in zip(got, want)]))


def measure(n: int, dim: int, ef_sweep=EF_SWEEP, log=print) -> dict:
    """Every figure for one data size: ``{library: {build_s, bytes, curve: [...]}}``."""
    from conduit_kernels.topk import topk_batch

    data, queries = make_data(n, dim)
    want = topk_batch(data, queries, K, "dot")[0]
    # warm the kernels (compile or load Numba's cache) outside the timings
    warm = Conduit()
    warm.build(data[:2000])
    warm.set_ef(16)
    warm.one(queries[0])
    warm.batch(queries[:4])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cls in LIBRARIES:
            lib = cls()
            t = time.perf_counter()
            lib.build(data)
            build = time.perf_counter() - t
            row = {"build_s": build, "bytes": lib.size(Path(tmp)), "curve": []}
            log(f"{n}x{dim} {lib.name}: build {build:.1f} s, {row['bytes'] / 2**20:.0f} MiB")
            for ef in ef_sweep:
                lib.set_ef(ef)
                lib.one(queries[0])
                t = time.perf_counter()
                single = [lib.one(q) for q in queries[:N_SINGLE]]
                latency = (time.perf_counter() - t) / N_SINGLE
                t = time.perf_counter()
                batched = lib.batch(queries)
                batch_s = time.perf_counter() - t
                point = {"ef": ef, "recall": _recall(batched, want),
                         "recall_single": _recall(single, want[:N_SINGLE]),  # same answers as batched
                         "latency_ms": latency * 1e3, "qps_single": 1 / latency,
                         "qps_batch": len(queries) / batch_s}
                row["curve"].append(point)
                log(f"  ef={ef}: recall {point['recall']:.3f}, {point['latency_ms']:.3f} ms, "
                    f"batch {point['qps_batch']:.0f} q/s")
            results[lib.name] = row
            del lib
    return results


def plot(all_results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(all_results)
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for name, row in all_results[size].items():
            xs = [p["recall"] for p in row["curve"]]
            ys = [p["qps_single"] for p in row["curve"]]
            ax.plot(xs, ys, marker="o", label=name)
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries/s, one query per call")
        ax.set_title(f"HNSW M={M}, ef_construction={EF_CONSTRUCTION}, {size}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def table(all_results: dict) -> str:
    lines = ["| data | library | build s | size MiB | ef | recall@10 | ms/query | q/s single | q/s batch |",
             "|---|---|---|---|---|---|---|---|---|"]
    for size, libs in all_results.items():
        for name, row in libs.items():
            for p in row["curve"]:
                lines.append(f"| {size} | {name} | {row['build_s']:.1f} | {row['bytes'] / 2**20:.0f} | "
                             f"{p['ef']} | {p['recall']:.3f} | {p['latency_ms']:.3f} | "
                             f"{p['qps_single']:,.0f} | {p['qps_batch']:,.0f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000x384,1000000x128",
                        help="comma-separated NxDIM data sizes")
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw the plot and table from OUT/hnsw_results.json")
    args = parser.parse_args(argv)
    results_file = args.out / "hnsw_results.json"
    if args.plot_only:
        all_results = json.loads(results_file.read_text())["results"]
    else:
        all_results = {}
        for spec in args.sizes.split(","):
            n, dim = (int(v) for v in spec.lower().split("x"))
            all_results[f"{n:,} x {dim}"] = measure(n, dim, log=lambda s: print(s, flush=True))
            meta = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "M": M,
                    "ef_construction": EF_CONSTRUCTION, "results": all_results}
            results_file.write_text(json.dumps(meta, indent=1))  # each size as it completes
    plot(all_results, args.out / "hnsw_recall_qps.png")
    print(table(all_results))


if __name__ == "__main__":
    main()
