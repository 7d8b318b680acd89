"""Incremental HNSW saves (issue 23): bytes written and time, beside a full save and hnswlib.

20,000 x 128 clustered float32 rows (seed 23, as ``hnsw_quick.py``), euclidean, M=16,
ef_construction=100. Each round, alternating: save the index whole (a new base), load it
(memory-mapped), add 1% (200 rows) and save again (hard links + one log record), load
that (base + log); hnswlib 0.8 loads its saved file, adds the same 200 rows and saves
(it writes the whole file). Bytes written count the files a save created, not the hard
links; the medians over the rounds are reported, with the 1-minute load average. Saves
fsync, so their times depend on the disk; loads read from the page cache.

Run ``python asv_bench/benchmarks/hnsw_persistence.py`` for the markdown rows.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

N, ADDED, DIM, ROUNDS = 20_000, 200, 128, 3


def _rows():
    rng = np.random.default_rng(23)
    centres = rng.standard_normal((100, DIM)).astype(np.float32) * 3
    return (centres[rng.integers(0, 100, N + ADDED)]
            + rng.standard_normal((N + ADDED, DIM))).astype(np.float32)


def _new_bytes(path: Path, before: set[int]) -> int:
    return sum(f.stat().st_size for f in path.rglob("*")
               if f.is_file() and f.stat().st_ino not in before)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(rounds: int = ROUNDS) -> dict:
    import hnswlib

    from conduit_kernels.hnsw import HnswIndex

    rows = _rows()
    ours = HnswIndex(DIM, "euclidean", M=16, ef_construction=100)
    ours.add(rows[:N])
    peer = hnswlib.Index("l2", DIM)
    peer.init_index(N, M=16, ef_construction=100, random_seed=0)
    peer.add_items(rows[:N])
    got: dict[str, list] = {}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        base_file = Path(tmp) / "peer.bin"
        peer.save_index(str(base_file))
        for r in range(rounds):
            d = Path(tmp) / f"r{r}"
            ours._saved = None  # a whole save every round
            t, _ = _timed(lambda: ours.save(d))
            got.setdefault("full_save_s", []).append(t)
            got.setdefault("full_bytes", []).append(_new_bytes(d, set()))
            t, loaded = _timed(lambda: HnswIndex.load(d))
            got.setdefault("load_base_s", []).append(t)
            loaded.add(rows[N:])
            before = {f.stat().st_ino for f in d.rglob("*") if f.is_file()}
            t, _ = _timed(lambda: loaded.save(d))
            got.setdefault("inc_save_s", []).append(t)
            got.setdefault("inc_bytes", []).append(_new_bytes(d, before))
            t, _ = _timed(lambda: HnswIndex.load(d))
            got.setdefault("load_log_s", []).append(t)
            other = hnswlib.Index("l2", DIM)
            t, _ = _timed(lambda: other.load_index(str(base_file), max_elements=N + ADDED))
            got.setdefault("peer_load_s", []).append(t)
            other.add_items(rows[N:])
            out = Path(tmp) / f"peer{r}.bin"
            t, _ = _timed(lambda: other.save_index(str(out)))
            got.setdefault("peer_save_s", []).append(t)
            got.setdefault("peer_bytes", []).append(out.stat().st_size)
            loads.append(os.getloadavg()[0])
    result = {k: statistics.median(v) for k, v in got.items()}
    result["load_average"] = max(loads)
    return result


class HnswPersistence:
    timeout = 600

    def setup_cache(self):
        return measure()

    def track_full_save_bytes(self, m):
        return m["full_bytes"]

    def track_incremental_save_bytes(self, m):
        return m["inc_bytes"]

    def track_hnswlib_save_bytes(self, m):
        return m["peer_bytes"]

    def track_full_save_seconds(self, m):
        return m["full_save_s"]

    def track_incremental_save_seconds(self, m):
        return m["inc_save_s"]

    def track_load_base_seconds(self, m):
        return m["load_base_s"]

    def track_load_base_and_log_seconds(self, m):
        return m["load_log_s"]

    def track_load_average(self, m):
        return m["load_average"]


def _rows_markdown(m: dict) -> str:
    load = m["load_average"]
    mark = f"{load:.1f}" + (" (>= 2)" if load >= 2 else "")
    mib = 1 << 20
    return "\n".join([
        "| 20k x 128, +1% | conduit whole save | conduit incremental save | hnswlib save | load |",
        "|---|---|---|---|---|",
        f"| bytes written | {m['full_bytes'] / mib:.2f} MiB | {m['inc_bytes'] / mib:.3f} MiB "
        f"| {m['peer_bytes'] / mib:.2f} MiB | {mark} |",
        f"| save time | {m['full_save_s'] * 1e3:.1f} ms | {m['inc_save_s'] * 1e3:.1f} ms "
        f"| {m['peer_save_s'] * 1e3:.1f} ms | {mark} |",
        f"| load time | {m['load_base_s'] * 1e3:.1f} ms (base, mmap) | {m['load_log_s'] * 1e3:.1f} ms "
        f"(base + log) | {m['peer_load_s'] * 1e3:.1f} ms | {mark} |",
    ])


if __name__ == "__main__":
    print(_rows_markdown(measure()))
