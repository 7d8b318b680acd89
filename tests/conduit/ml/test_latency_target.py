"""Batching to a latency target: the policy learns the cost of a batch (robustly), runs a batch
at once when waiting cannot help, waits for company only while the target allows, and sheds
(503 + Retry-After) only a request whose predicted completion behind the queue is over the
target, while the server keeps serving.

The policy is tested with a fake clock, the batcher in trio's virtual time (``MockClock``) with a
model whose batches cost ``a + b * rows`` virtual seconds: deterministic, no timing on the real
machine. The figures (p99, throughput) are in asv_bench/benchmarks/ml_latency.py."""

import threading
import time

import httpx
import numpy as np
import pytest
import trio
import trio.testing

from conduit import Conduit, LiveServer
from conduit.exceptions import ServiceUnavailable
from conduit.ml import DynamicBatcher
from conduit.ml.serve.latency import LatencyPolicy, theil_sen


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


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class VirtualModel:
    """A model whose batch of ``n`` rows costs ``a + b * n`` seconds of trio's clock, one batch at a
    time (a CPU runs one batch): under ``MockClock`` the batcher's timing is exact."""

    path = "compiled"

    def __init__(self, a=0.001, b=0.0001):
        self.a, self.b = a, b
        self.batches = []
        self._lock = trio.Lock()

    async def apredict(self, X):
        async with self._lock:
            self.batches.append(X.shape[0])
            await trio.sleep(self.a + self.b * X.shape[0])
        return X[:, 0].copy()


def _learnt(target=0.010, a=0.001, b=0.0001, clock=None):
    policy = LatencyPolicy(target, max_rows=4096, clock=clock or FakeClock())
    for rows in (1, 2, 4, 8, 16, 32, 3, 5):
        policy.observe(rows, a + b * rows)
    return policy


def test_theil_sen_fits_the_batch_cost_and_ignores_a_batch_slowed_by_a_busy_machine():
    rows = np.array([1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32], dtype=float)
    seconds = 0.001 + 0.0001 * rows
    seconds[3] += 0.050  # one batch descheduled for 50 ms
    a, b = theil_sen(rows, seconds)
    assert a == pytest.approx(0.001, rel=1e-6) and b == pytest.approx(0.0001, rel=1e-6)
    # every batch of one size: the cost is taken as proportional (cautious for larger batches)
    assert theil_sen(np.ones(5), np.full(5, 0.002)) == (0.0, pytest.approx(0.002))


def test_policy_is_optimistic_until_it_has_measured_and_then_sizes_batches_to_half_the_target():
    policy = LatencyPolicy(0.010, max_rows=4096, clock=FakeClock())
    assert policy.cost(100) == 0.0 and policy.wait_for_company(0.0, 1) == 0.0
    assert policy.admits(policy.completion(0.0, [], 1000))
    policy = _learnt()
    assert policy.cost(10) == pytest.approx(0.002)
    assert policy.max_rows() == 40  # (5 ms - 1 ms) / 0.1 ms
    assert LatencyPolicy(0.010, max_rows=16, clock=FakeClock()).max_rows() == 16  # the ceiling
    with pytest.raises(ValueError, match="latency_target"):
        LatencyPolicy(0.0)
    with pytest.raises(ValueError, match="latency_target"):
        LatencyPolicy(float("inf"))


def test_a_batch_runs_at_once_when_no_company_is_expected_within_one_batch_overhead():
    clock = FakeClock()
    policy = _learnt(clock=clock)
    assert policy.wait_for_company(0.0, 1) == 0.0  # no arrivals measured
    for _ in range(20):  # one row every 5 ms: 200 rows/s, 0.2 expected within the 1 ms overhead
        clock.now += 0.005
        policy.arrived(1)
    assert policy.wait_for_company(0.0, 1) == 0.0
    for _ in range(100):  # a burst of 10,000 rows/s ...
        clock.now += 0.0001
        policy.arrived(1)
    assert policy.wait_for_company(0.0, 1) > 0
    clock.now += 0.1  # ... is forgotten once it is over
    assert policy.arrival_rate() < 100 and policy.wait_for_company(0.0, 1) == 0.0


def test_a_batch_waits_for_company_only_while_the_oldest_request_stays_inside_the_target():
    clock = FakeClock()
    policy = _learnt(clock=clock)
    for _ in range(1000):  # one row every 0.1 ms: 10,000 rows/s, 10 expected within the overhead
        clock.now += 0.0001
        policy.arrived(1)
    assert policy.arrival_rate() == pytest.approx(10_000, rel=0.01)
    assert policy.wait_for_company(0.0, 1) == pytest.approx(0.001, rel=1e-3)  # at most one overhead
    assert policy.wait_for_company(0.0, 39) == pytest.approx(1 / policy.arrival_rate())  # one row to fill up
    assert policy.wait_for_company(0.0, 40) == 0.0  # full
    # the oldest waited 4.5 ms behind the running batch: 10 - 4.5 - cost(40) = 0.5 ms left
    assert policy.wait_for_company(0.0045, 1) == pytest.approx(0.0005, rel=1e-3)
    assert policy.wait_for_company(0.006, 1) == 0.0  # no slack left: run now


def test_shed_only_when_the_queue_predicts_completion_over_the_target():
    clock = FakeClock()
    policy = _learnt(clock=clock)
    # 2 ms left of the running batch, a queued batch of 20 rows (3 ms), own batch of 10 (2 ms)
    assert policy.completion(0.002, [20], 10) == pytest.approx(0.007)
    assert policy.admits(policy.completion(0.002, [20], 10))
    assert not policy.admits(policy.completion(0.002, [40, 20], 10))  # 2 + 5 + 3 + 2 = 12 ms
    # a model slower than the target on its own is shed, but an idle batcher lets one request a
    # second through to re-measure it (the machine may only have been busy)
    slow = _learnt(a=0.020, clock=clock)
    assert slow.admits(slow.completion(0.0, [], 1), idle=True)
    assert not slow.admits(slow.completion(0.0, [], 1), idle=True)
    clock.now += 0.5
    assert not slow.admits(slow.completion(0.0, [], 1), idle=True)
    assert not slow.admits(slow.completion(0.0, [], 1), idle=False)
    clock.now += 0.6
    assert slow.admits(slow.completion(0.0, [], 1), idle=True)


def test_a_request_joins_unless_it_is_the_one_that_makes_the_oldest_of_its_batch_late():
    policy = _learnt()
    assert policy.may_join(0.008, 0.0081)  # the oldest stays inside 10 ms
    assert not policy.may_join(0.0099, 0.0101)  # this row would make it late: shed
    # the batch waited 50 ms for a busy event loop: its oldest is late whatever happens, and a
    # refusal costs the server as much as an answer, so the row rides along
    assert policy.may_join(0.050, 0.0501)


async def _open_loop(batcher, gap, seconds, rows=1):
    """One request of ``rows`` rows every ``gap`` virtual seconds for ``seconds``; per request its
    time in the batcher (answered) or None (shed)."""
    outcomes = []

    async def one(X):
        began = trio.current_time()
        try:
            out, _ = await batcher.predict(X)
        except ServiceUnavailable as exc:
            assert exc.headers["retry-after"] == "1"
            outcomes.append(None)
            return
        assert np.array_equal(out, X[:, 0])
        outcomes.append(trio.current_time() - began)

    async with trio.open_nursery() as nursery:
        for i in range(int(seconds / gap)):
            nursery.start_soon(one, np.full((rows, 2), float(i)))
            await trio.sleep(gap)
    return outcomes


def _simulate(gap, seconds, **options):
    model = VirtualModel()

    async def main():
        batcher = DynamicBatcher(model, max_batch_size=options.pop("max_batch_size", 1024), max_queue=100_000,
                                 clock=trio.current_time, **options)
        for size in (1, 2, 4, 8, 16, 32):  # learn the cost, one batch at a time
            await batcher.predict(np.ones((size, 2)))
        learnt = len(model.batches)
        outcomes = await _open_loop(batcher, gap, seconds)
        return outcomes, model.batches[learnt:], batcher

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_at_low_load_a_request_never_waits_for_company_that_will_not_come():
    target, _, _ = _simulate(0.020, 0.5, latency_target=0.010)
    fixed, _, _ = _simulate(0.020, 0.5, max_wait=0.0015, max_batch_size=64)
    # one row: 1 ms + 0.1 ms, no wait (once the burst of learning batches is out of the arrival rate)
    assert all(t == pytest.approx(0.0011) for t in target[3:])
    assert all(t == pytest.approx(0.0026) for t in fixed)  # the fixed batcher waits its 1.5 ms


def test_under_heavy_load_within_capacity_batches_grow_and_every_request_meets_the_target():
    # 5,000 rows/s against a model that does 8,000 rows/s in batches of 40 (its cap at 10 ms)
    outcomes, batches, batcher = _simulate(0.0002, 1.0, latency_target=0.010)
    assert None not in outcomes and len(outcomes) == 5000  # nothing shed
    assert max(outcomes) <= 0.010
    assert max(batches) <= batcher.policy.max_rows() <= 40
    assert np.mean(batches) > 4  # batches formed while the previous one ran
    assert batcher.statistics().latency_p99_s <= 0.010


def test_under_overload_the_target_holds_for_every_answered_request_where_the_fixed_batcher_misses_it():
    # 20,000 rows/s: beyond what the model can do at any batch size allowed
    target, batches, batcher = _simulate(0.00005, 0.5, latency_target=0.010)
    fixed, _, _ = _simulate(0.00005, 0.5, max_wait=0.0015, max_batch_size=64)
    answered = [t for t in target if t is not None]
    assert len(answered) > 0 and None in target
    assert max(answered) <= 0.010 + 1e-9
    assert batcher.statistics().shed == target.count(None)
    assert max(batches) <= 40
    assert None not in fixed and np.percentile(fixed, 99) > 0.100  # its queue grows without bound
    # it still answers at close to the model's capacity (8,000 rows/s in batches of 40)
    assert len(answered) >= 0.8 * 8000 * 0.5


def test_concurrent_clients_over_a_socket_get_their_own_rows_equal_to_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    model = LogisticRegression().fit(X, X[:, 0] + X[:, 1] > 0)
    app = Conduit()
    app.predict("/predict", model, name="lr", latency_target=0.010)
    answers = {}

    def client(url, worker):
        with httpx.Client(base_url=url, timeout=10) as http:
            for i in range(worker, 120, 6):
                r = http.post("/predict", json={"rows": X[i:i + 2].tolist()})
                answers[i] = (r.status_code, r.json())

    with LiveServer(app) as server:
        threads = [threading.Thread(target=client, args=(server.url, w)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert httpx.get(server.url + "/models", timeout=10).status_code == 200
    assert len(answers) == 120
    for i, (status, body) in answers.items():
        assert status == 200, body
        assert body["predictions"] == model.predict(X[i:i + 2]).tolist()


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
