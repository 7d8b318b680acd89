"""The dynamic batcher: ordering, isolation, batching, timeouts, full queue, versions."""

import threading

import numpy as np
import pytest
import trio

from conduit.exceptions import GatewayTimeout, InferenceError, ServiceUnavailable
from conduit.ml import DynamicBatcher


class Echo:
    """A model that returns each row's first feature, and records its batch sizes."""

    path = "compiled"
    classes_ = None

    def __init__(self, delay: float = 0.0):
        self.batches = []
        self.delay = delay

    def predict_unchecked(self, X):
        self.batches.append(X.shape[0])
        if self.delay:
            threading.Event().wait(self.delay)
        if np.any(X[:, 0] < 0):
            raise RuntimeError("negative input")
        return X[:, 0].copy()

    def predict_proba_unchecked(self, X):
        return np.column_stack([X[:, 0], -X[:, 0]])


def _run(fn):
    return trio.run(fn)


def test_concurrent_requests_are_batched_and_get_their_own_rows():
    model = Echo()
    batcher = DynamicBatcher(model, max_batch_size=32, max_wait=0.01)
    results = {}

    async def client(i):
        X = np.full((1 + i % 3, 2), float(i))
        results[i] = await batcher.predict(X, proba=i % 2 == 0)

    async def main():
        async with trio.open_nursery() as nursery:
            for i in range(40):
                nursery.start_soon(client, i)

    _run(main)
    for i, (labels, probs) in results.items():
        assert labels.tolist() == [float(i)] * (1 + i % 3)
        if i % 2 == 0:
            assert probs[:, 1].tolist() == [-float(i)] * (1 + i % 3)
        else:
            assert probs is None
    assert max(model.batches) > 1 and max(model.batches) <= 32
    assert sum(model.batches) == sum(1 + i % 3 for i in range(40))
    stats = batcher.statistics()
    assert stats.requests == 40 and stats.batches == len(model.batches)
    assert sum(k * v for k, v in stats.batch_sizes.items()) == 40
    assert stats.mean_batch_size > 1 and stats.pending_rows == 0


def test_a_lone_request_waits_at_most_max_wait():
    model = Echo()
    batcher = DynamicBatcher(model, max_wait=0.002)

    async def main():
        with trio.fail_after(2):
            labels, _ = await batcher.predict(np.ones((1, 2)))
        return labels

    assert _run(main).tolist() == [1.0]
    assert model.batches == [1]


def test_oversized_request_runs_alone():
    model = Echo()
    batcher = DynamicBatcher(model, max_batch_size=4, max_wait=0.05)

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(batcher.predict, np.ones((2, 2)))
            await trio.sleep(0.001)
            nursery.start_soon(batcher.predict, np.ones((10, 2)))

    _run(main)
    assert sorted(model.batches) == [2, 10]


def test_full_queue_answers_503_and_recovers():
    model = Echo()
    batcher = DynamicBatcher(model, max_batch_size=100, max_wait=0.05, max_queue=5)
    outcomes = []

    async def client(n):
        try:
            await batcher.predict(np.ones((n, 2)))
            outcomes.append("ok")
        except ServiceUnavailable as exc:
            assert exc.status_code == 503
            outcomes.append("503")

    async def main():
        async with trio.open_nursery() as nursery:
            for n in (3, 2, 1, 4):
                nursery.start_soon(client, n)
        await client(5)  # the queue drained: accepted again

    _run(main)
    assert sorted(outcomes[:4]) == ["503", "503", "ok", "ok"]
    assert outcomes[4] == "ok"
    assert batcher.statistics().rejected == 2


def test_timeout_answers_504_and_leaves_the_batch():
    model = Echo()
    batcher = DynamicBatcher(model, max_wait=0.5, timeout=0.01)

    async def main():
        with pytest.raises(GatewayTimeout):
            await batcher.predict(np.ones((1, 2)))
        await trio.sleep(0.6)

    _run(main)
    assert model.batches == []  # the abandoned request never ran
    assert batcher.statistics().timed_out == 1


def test_a_failing_batch_fails_its_requests_with_inference_error_only():
    model = Echo()
    batcher = DynamicBatcher(model, max_wait=0.01)
    outcomes = {}

    async def client(i, value):
        try:
            await batcher.predict(np.full((1, 2), value))
            outcomes[i] = "ok"
        except InferenceError:
            outcomes[i] = "500"

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client, 0, -1.0)
            nursery.start_soon(client, 1, 1.0)
        await client(2, 1.0)  # a later batch is unaffected

    _run(main)
    assert outcomes == {0: "500", 1: "500", 2: "ok"}


def test_cancelled_waiter_leaves_and_the_batch_still_runs():
    model = Echo()
    batcher = DynamicBatcher(model, max_wait=0.02)
    got = []

    async def main():
        async def doomed():
            with trio.move_on_after(0.001):
                await batcher.predict(np.ones((3, 2)))

        async def other():
            got.append((await batcher.predict(np.full((1, 2), 7.0)))[0].tolist())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(doomed)
            nursery.start_soon(other)

    _run(main)
    assert got == [[7.0]]
    assert model.batches == [1]  # the cancelled request's rows left the batch
