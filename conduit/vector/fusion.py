"""Fusing ranked lists from several retrievers (vector, BM25) into one ranking.

Owns the two rules, so hybrid search is stated once:

- reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009):
  ``score(d) = sum over lists of 1 / (rrf_k + rank(d))``, ranks from 1,
  ``rrf_k = 60`` by default; needs no score calibration between retrievers.
- weighted sum: each list's scores min-max normalised to [0, 1] over its own
  candidates (distances flipped, so 1 is always best), then
  ``weight_0 * s_0 + weight_1 * s_1 + ...``; a document absent from a list gets 0 there.

Ties break by first appearance (list order, then rank), so results are deterministic.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["reciprocal_rank_fusion", "weighted_fusion"]

Ranking = Sequence[tuple[Any, float]]  # (id, score), best first


def _ordered(scores: dict, first_seen: dict) -> list[tuple[Any, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], first_seen[item[0]]))


def reciprocal_rank_fusion(rankings: Sequence[Ranking], rrf_k: int = 60) -> list[tuple[Any, float]]:
    """``[(id, fused score)]`` best first, from rankings of ``(id, score)`` best first."""
    scores: dict = {}
    first: dict = {}
    for ranking in rankings:
        for rank, (id, _) in enumerate(ranking, start=1):
            first.setdefault(id, len(first))
            scores[id] = scores.get(id, 0.0) + 1.0 / (rrf_k + rank)
    return _ordered(scores, first)


def weighted_fusion(rankings: Sequence[Ranking], weights: Sequence[float],
                    higher_is_better: Sequence[bool] | None = None) -> list[tuple[Any, float]]:
    """``[(id, fused score)]`` best first: a weighted sum of min-max normalised scores."""
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    higher = list(higher_is_better) if higher_is_better is not None else [True] * len(rankings)
    scores: dict = {}
    first: dict = {}
    for ranking, weight, up in zip(rankings, weights, higher):
        values = [s for _, s in ranking]
        if not values:
            continue
        lo, hi = min(values), max(values)
        for id, s in ranking:
            first.setdefault(id, len(first))
            unit = 1.0 if hi == lo else ((s - lo) / (hi - lo) if up else (hi - s) / (hi - lo))
            scores[id] = scores.get(id, 0.0) + weight * unit
    return _ordered(scores, first)
