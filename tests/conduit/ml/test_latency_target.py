"""Batching to a latency target: the policy learns the cost of a batch, sizes batches and waits
from it, and a request that cannot be answered in time is shed (503 + Retry-After) while the
server keeps serving. Behaviour only: the figures (p99, throughput) are in asv_bench."""

import threading
import time

import httpx
import numpy as np
import pytest
import trio

from conduit import Conduit, LiveServer
from conduit.ml import DynamicBatcher
from conduit.ml.serve.latency import LatencyPolicy


class Sleepy:
    """A model whose batch costs ``overhead + per_row * rows`` seconds (run in a worker thread)."""

    path = "fallback"
    kind = "estimator"
    reason = "test model"
    classes_ = None
    n_features_in_ = 2
    allow_nan = allow_inf = False

    def __init__(self, overhead, per_row):
        self.overhead, self.per_row = overhead, per_row
        self.batches = []
        self._lock = threading.Lock()

    def predict_unchecked(self, X):
        with self._lock:
            self.batches.append(X.shape[0])
        time.sleep(self.overhead + self.per_row * X.shape[0])
        return X[:, 0].copy()

    def validate(self, X):
        from conduit.ml.validation import as_features

        return as_features(X, 2)

    def has(self, method):
        return method == "predict"

    def warm_up(self):
        pass

    def describe(self):
        return {"estimator": "Sleepy", "path": self.path, "kind": self.kind, "reason": self.reason,
                "n_features": 2, "classes": None, "methods": ["predict"], "accepts_nan": False}


def test_policy_learns_the_cost_and_sizes_batches_to_fit_the_target():
    policy = LatencyPolicy(0.010, max_rows=4096)
    assert policy.cost(100) == 0.0 and policy.flush_after(1) == 0.0  # nothing measured: no wait
    for rows in (1, 10, 50, 100, 200, 400):
        policy.observe(rows, 0.001 + 0.00001 * rows)
    assert policy.cost(100) == pytest.approx(0.002, rel=1e-6)
    assert policy.max_rows() in (149, 150)  # (10 ms / 2 / 2 - 1 ms) / 10 us, in floating point
    # no company expected (no arrivals): flush at once
    assert policy.flush_after(1) == 0.0
    # 10 requests per millisecond: wait for company, but never past the budget
    for i in range(50):
        policy.arrived(1, now=i * 0.0001)
    wait = policy.flush_after(1)
    assert 0.0 < wait <= 0.005 - policy.cost(policy.max_rows()) + 1e-12
    assert wait == pytest.approx(0.0025, rel=0.02)  # the wait budget: 5 ms allowance - a full batch's cost
    assert policy.admits(0.009) and not policy.admits(0.011)
    with pytest.raises(ValueError, match="latency_target"):
        LatencyPolicy(0.0)


def test_batches_never_exceed_the_rows_the_policy_allows():
    model = Sleepy(0.005, 0.0005)  # 5 ms + 0.5 ms per row: 40 rows fit a quarter of a 100 ms target

    async def main():
        batcher = DynamicBatcher(model, max_batch_size=1024, latency_target=0.100, max_queue=100_000)
        for size in (1, 5, 9, 13, 17, 21):  # learn the cost (on a busy machine some may be shed)
            try:
                await batcher.predict(np.ones((size, 2)))
            except Exception as exc:  # noqa: BLE001
                assert getattr(exc, "status_code", None) == 503, exc
        cap = batcher.policy.max_rows()
        learnt = len(model.batches)
        answered = shed = 0

        async def one():
            nonlocal answered, shed
            try:
                out, _ = await batcher.predict(np.ones((3, 2)))
                assert out.shape == (3,)
                answered += 1
            except Exception as exc:  # noqa: BLE001
                assert getattr(exc, "status_code", None) == 503, exc
                shed += 1

        async with trio.open_nursery() as nursery:
            for _ in range(60):
                nursery.start_soon(one)
        return cap, learnt, answered, shed, batcher.statistics()

    cap, learnt, answered, shed, stats = trio.run(main)
    # 60 concurrent requests of 3 rows (180 rows) never run as one batch: the policy caps a batch
    # at about 40 rows (5 ms + 0.5 ms per row within 25 ms; fewer when the sleeps vary)
    assert cap <= 60, (model.batches, stats)
    assert len(model.batches) - learnt >= 2 and max(model.batches[learnt:]) <= 60, model.batches
    assert answered + shed == 60 and answered > 0
    assert stats.shed >= shed


def test_a_target_that_cannot_be_met_is_shed_with_retry_after_and_the_server_keeps_serving():
    model = Sleepy(0.030, 0.0)  # every batch takes 30 ms: a 20 ms target can never be met
    app = Conduit()
    app.predict("/predict", model, name="slow", latency_target=0.020)
    with LiveServer(app) as server:
        statuses = []
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for _ in range(12):
                r = client.post("/predict", json={"row": [1.0, 2.0]})
                statuses.append(r.status_code)
                if r.status_code == 503:
                    assert r.headers["retry-after"] == "1"
                    assert "latency target (20.0 ms)" in r.json()["error"]["detail"]
            assert client.get("/models").status_code == 200
    # the first batches run (that is how the cost is learnt); then requests are shed
    assert statuses[0] == 200 and statuses[-1] == 503


def test_a_busy_loop_counts_against_the_target_and_is_forgotten_when_it_is_over():
    policy = LatencyPolicy(0.010)
    for rows in (1, 2, 3, 4):
        policy.observe(rows, 0.0001 * rows, lag=0.009)  # batches start 9 ms late: the loop is saturated
    assert policy.lag == pytest.approx(0.009)
    assert policy.flush_after(1) == 0.0  # no budget left to wait for company
    assert not policy.admits(policy.lag + policy.cost(1) + 0.002)
    policy._lag_at -= 2.0  # two seconds without a batch (everything was shed)
    assert policy.lag == 0.0
