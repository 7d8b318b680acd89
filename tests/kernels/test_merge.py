"""merge_topk: merging per-shard top-k lists equals one top-k over everything."""

from __future__ import annotations

import numpy as np
import pytest

from conduit_kernels import merge_topk
from conduit_kernels.topk import topk_batch


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_merging_shard_results_equals_one_search(rng, metric):
    data = rng.standard_normal((900, 8)).astype(np.float32)
    queries = rng.standard_normal((6, 8)).astype(np.float32)
    want_ids, want_scores = topk_batch(data, queries, 10, metric)
    parts = np.array_split(np.arange(900), 3)
    ids, scores = zip(*(topk_batch(data[p], queries, 10, metric) for p in parts))
    ids = np.concatenate([p[i] for p, i in zip(parts, ids)], axis=1)
    positions, best = merge_topk(np.concatenate(scores, axis=1), 10,
                                 higher_is_better=metric == "cosine")
    assert np.take_along_axis(ids, positions, 1).tolist() == want_ids.tolist()
    np.testing.assert_allclose(best, want_scores, rtol=1e-6)


def test_sentinels_nan_and_short_rows():
    scores = np.array([[0.5, -np.inf, np.nan, 0.9], [-np.inf, -np.inf, -np.inf, -np.inf]],
                      dtype=np.float32)
    positions, best = merge_topk(scores, 3)
    assert positions.tolist() == [[3, 0, -1], [-1, -1, -1]]
    assert best[0, :2].tolist() == pytest.approx([0.9, 0.5]) and np.isneginf(best[0, 2])
    positions, best = merge_topk(np.array([[2.0, 1.0, 1.0, np.inf]], np.float32), 4, False)
    assert positions.tolist() == [[1, 2, 0, -1]]  # ties: the lower position first
    assert np.isposinf(best[0, 3])


@pytest.mark.parametrize("args, message", [
    ((np.zeros((2, 3)), 0), "k"), ((np.zeros(3), 2), "2-D"), ((np.zeros((1, 3)), 1.5), "k"),
])
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        merge_topk(*args)
