"""Rollouts and shadows: which version answers a request, and a candidate tried on the side.

Owns :class:`Rollout` -- a weighted split of a model's traffic between versions
(``registry.rollout("churn", {"1": 0.9, "2": 0.1}, key="header:x-user-id")``). With a
``key`` the choice is sticky: the key's value (a request header, ``header:NAME``, or a
field of the JSON body, ``body:FIELD``) is hashed (BLAKE2b, the same in every process and
on every restart) onto [0, 1), so one user always meets the same version while the
weights stay the same; a request without the key, or a rollout without one, is split at
random. And :class:`Shadow` -- a candidate version that sees a sample of the requests
*after* their answer is computed (off the response path: a shadow never delays nor fails
a request), its answers compared with the served ones: agreement (classifiers: the share
of equal labels) or error (regressors: mean absolute error), in ``describe()`` and in
``/metrics``::

    conduit_model_shadow_rows_total{model, version, candidate}
    conduit_model_shadow_agreeing_rows_total{model, version, candidate}     classifiers
    conduit_model_shadow_absolute_error_total{model, version, candidate}    regressors (sum)
    conduit_model_shadow_failures_total{model, candidate}

Knows nothing of HTTP beyond the two places a key can come from.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

__all__ = ["Rollout", "Shadow", "ShadowStatistics"]

_KEY_SOURCES = ("header", "body")


def _fraction(key: str) -> float:
    """A stable point of [0, 1) for ``key``."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class Rollout:
    """Weights per version (normalised), and where the sticky key is read (None: random)."""

    name: str
    weights: tuple[tuple[str, float], ...]
    key: str | None = None

    @classmethod
    def build(cls, name: str, weights: Mapping[Any, float], key: str | None, known: set[str]) -> Rollout:
        """Check a rollout before it takes effect; raises ``ValueError`` naming the problem."""
        if not weights:
            raise ValueError(f"rollout of {name!r}: give at least one version and its weight")
        pairs = []
        for version, weight in weights.items():
            version = str(version)
            if version not in known:
                raise ValueError(f"rollout of {name!r}: no version {version!r} (registered: {sorted(known)})")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0 \
                    or weight == float("inf"):
                raise ValueError(f"rollout of {name!r}: the weight of version {version!r} must be a "
                                 f"non-negative number, got {weight!r}")
            pairs.append((version, float(weight)))
        total = sum(w for _, w in pairs)
        if total <= 0:
            raise ValueError(f"rollout of {name!r}: the weights add up to 0")
        if key is not None:
            source, _, field_name = key.partition(":")
            if source not in _KEY_SOURCES or not field_name:
                raise ValueError(f"rollout of {name!r}: key must be 'header:NAME' or 'body:FIELD', got {key!r}")
            if source == "header":
                key = f"header:{field_name.lower()}"
        return cls(name, tuple((v, w / total) for v, w in pairs), key)

    def key_value(self, headers: Any, body: Mapping[str, Any] | None) -> str | None:
        """The request's sticky key (None when it has none)."""
        if self.key is None:
            return None
        source, _, name = self.key.partition(":")
        if source == "header":
            return headers.get(name) if headers is not None else None
        value = body.get(name) if isinstance(body, Mapping) else None
        return None if value is None or isinstance(value, (dict, list)) else str(value)

    def choose(self, key_value: str | None) -> str:
        """The version for one request: by the hashed key, else at random."""
        point = _fraction(key_value) if key_value is not None else random.random()
        upto = 0.0
        for version, weight in self.weights:
            upto += weight
            if point < upto:
                return version
        return self.weights[-1][0]  # rounding: the last one

    def describe(self) -> dict[str, Any]:
        return {"weights": dict(self.weights), "key": self.key}


@dataclass(frozen=True)
class ShadowStatistics:
    """A snapshot of a shadow's comparisons (see :meth:`Shadow.statistics`)."""

    candidate: str
    sample: float
    requests: int
    rows: int
    agreeing_rows: int
    absolute_error_sum: float
    failures: int
    skipped: int

    @property
    def agreement(self) -> float | None:
        return self.agreeing_rows / self.rows if self.rows else None

    @property
    def mean_absolute_error(self) -> float | None:
        return self.absolute_error_sum / self.rows if self.rows else None


@dataclass
class Shadow:
    """A candidate version mirroring a ``sample`` of a model's requests."""

    name: str
    candidate: str
    sample: float = 1.0
    max_pending: int = 64  # shadow runs in flight beyond which requests are not mirrored
    pending: int = 0
    _counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("requests", "rows", "agreeing", "error", "failures", "skipped"), 0))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wants(self, served_version: str) -> bool:
        """Whether to mirror this request (sampled; never the candidate's own; bounded)."""
        if served_version == self.candidate or random.random() >= self.sample:
            return False
        if self.pending >= self.max_pending:
            self._counts["skipped"] += 1
            return False
        return True

    def record(self, served_version: str, served: np.ndarray, candidate: np.ndarray, classifier: bool) -> None:
        """Compare the candidate's answers with the served ones (same rows, same order)."""
        served, candidate = np.asarray(served), np.asarray(candidate)
        rows = int(served.shape[0])
        from conduit.observability.model_metrics import record_shadow

        with self._lock:
            self._counts["requests"] += 1
            self._counts["rows"] += rows
            if classifier:
                # a row agrees when every output of it is equal
                agreeing = int(np.all(served.reshape(rows, -1) == candidate.reshape(rows, -1), axis=1).sum())
                self._counts["agreeing"] += agreeing
                record_shadow(self.name, served_version, self.candidate, rows, agreeing=agreeing)
            else:
                error = float(np.abs(served.astype(np.float64) - candidate.astype(np.float64)).reshape(
                    rows, -1).mean(axis=1).sum())
                self._counts["error"] += error
                record_shadow(self.name, served_version, self.candidate, rows, absolute_error=error)

    def failed(self) -> None:
        from conduit.observability.model_metrics import record_shadow_failure

        with self._lock:
            self._counts["failures"] += 1
        record_shadow_failure(self.name, self.candidate)

    def statistics(self) -> ShadowStatistics:
        c = self._counts
        return ShadowStatistics(self.candidate, self.sample, int(c["requests"]), int(c["rows"]),
                                int(c["agreeing"]), float(c["error"]), int(c["failures"]), int(c["skipped"]))

    def describe(self) -> dict[str, Any]:
        s = self.statistics()
        return {"candidate": s.candidate, "sample": s.sample, "requests": s.requests, "rows": s.rows,
                "agreement": s.agreement, "mean_absolute_error": s.mean_absolute_error,
                "failures": s.failures, "skipped": s.skipped}
