"""Dynamic batching: concurrent requests for one model run as one kernel call.

Owns :class:`DynamicBatcher`. The first request to arrive opens a batch and starts
a flush task (a trio *system* task, so no caller's cancellation can strand the
batch); later requests join it until ``max_batch_size`` rows are pending or
``max_wait`` seconds have passed. The batch's rows are concatenated, the model runs
once, and each request gets back exactly its own rows, in order. A batcher serves
one model object, so batches never mix models or versions (the registry gives each
version its own batcher). Back-pressure: more than ``max_queue`` pending rows
answers 503 at once, and one request larger than ``max_queue`` rows, which could
never be queued, answers 413 naming the limit; a request not answered within ``timeout`` gets 504 and, if its
batch has not started, leaves it. With a ``latency_target`` one batch runs at a time (the next
one fills while it runs, as BentoML's dispatcher does), batch sizes and waits come from a
:class:`~conduit.ml.serve.latency.LatencyPolicy` (measured cost of a batch, arrival rate), and a
request whose predicted completion behind the queued batches is over the target is shed with
503 and ``Retry-After``.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import trio

from conduit.exceptions import GatewayTimeout, InferenceError, PayloadTooLarge, ServiceUnavailable
from conduit.observability import tracing

__all__ = ["BatcherPool", "BatcherStatistics", "DynamicBatcher"]

logger = logging.getLogger("conduit.ml")


@dataclass(frozen=True)
class BatcherStatistics:
    """A snapshot of a batcher's counters (see :meth:`DynamicBatcher.statistics`)."""

    requests: int
    rows: int
    batches: int
    rejected: int
    timed_out: int
    failed: int
    pending_rows: int
    batch_sizes: dict[int, int]  # requests per batch -> number of batches
    queue_wait_mean_s: float
    queue_wait_p50_s: float
    queue_wait_p99_s: float
    max_queue_wait_s: float
    shed: int = 0  # refused because the latency target could not be met (counted in rejected too)
    latency_p50_s: float = 0.0  # time in the batcher (queue wait and inference) of answered requests
    latency_p99_s: float = 0.0

    @property
    def mean_batch_size(self) -> float:
        return self.requests / self.batches if self.batches else 0.0


class _Request:
    __slots__ = ("X", "proba", "event", "result", "error", "enqueued", "enqueued_ns", "abandoned")

    def __init__(self, X: np.ndarray, proba: bool, now: float) -> None:
        self.X = X
        self.proba = proba
        self.event = trio.Event()
        self.result: tuple[np.ndarray, np.ndarray | None] | None = None
        self.error: BaseException | None = None
        self.enqueued = now
        self.enqueued_ns = time.time_ns()
        self.abandoned = False


class _Batch:
    __slots__ = ("requests", "rows", "full", "started", "span_ns")

    def __init__(self) -> None:
        self.requests: list[_Request] = []
        self.rows = 0
        self.full = trio.Event()
        self.started = False
        self.span_ns = (0, 0)  # wall-clock start and end of the model call (for trace spans)


class DynamicBatcher:
    """Batch concurrent predictions for one model.

    Parameters
    ----------
    model : a servable model (``predict_unchecked``, optional ``predict_proba_unchecked``)
    max_batch_size : rows per batch (a single larger request runs alone)
    max_wait : seconds the first request of a batch waits for company (default 1.5 ms)
    max_queue : pending rows beyond which requests are refused with 503
    timeout : seconds a request may wait for its answer before 504
    run_in_thread : run the model in a worker thread (default: for models whose path
        is not ``"compiled"``, i.e. scikit-learn fallbacks and ONNX Runtime)
    on_batch : ``on_batch(rows, queue_waits)`` after each batch starts (metrics hook)
    latency_target : seconds a request may spend in the batcher (queue wait and inference);
        when set, batch sizes and waits follow a :class:`~conduit.ml.serve.latency.LatencyPolicy`
        (``max_batch_size`` is then a ceiling and ``max_wait`` is not used), one batch runs at a
        time, and a request predicted to miss the target is refused at once (503, ``Retry-After``)
    clock : the time source of the policy (``time.perf_counter``; tests pass a fake one)
    """

    def __init__(self, model: Any, *, max_batch_size: int = 64, max_wait: float = 0.0015,
                 max_queue: int = 4096, timeout: float = 5.0,
                 run_in_thread: bool | None = None,
                 on_batch: Callable[[int, list[float]], None] | None = None,
                 latency_target: float | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if max_batch_size < 1 or max_queue < 1:
            raise ValueError("max_batch_size and max_queue must be at least 1")
        self.policy = None
        if latency_target is not None:
            from .latency import LatencyPolicy

            self.policy = LatencyPolicy(latency_target, max_rows=max_batch_size, clock=clock)
        self._turn = trio.Lock()  # with a policy, one batch runs at a time, in arrival order (FIFO)
        self._queued: list[_Batch] = []  # with a policy: batches made and not started, oldest first
        self._running: tuple[int, float] | None = None  # rows and start time of the running batch
        self._clock = clock
        self.model = model
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.timeout = timeout
        self.run_in_thread = (getattr(model, "path", None) != "compiled"
                              if run_in_thread is None else run_in_thread)
        self.on_batch = on_batch
        self._open: _Batch | None = None
        self._pending_rows = 0
        self._counts = Counter()
        self._sizes: Counter[int] = Counter()
        self._waits: list[float] = []  # a bounded reservoir of recent queue waits
        self._latencies: list[float] = []  # ... and of recent times in the batcher

    # -- public ------------------------------------------------------------------------

    async def predict(self, X: np.ndarray, *, proba: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions (and probabilities when ``proba``) for the validated rows ``X``.

        Raises :class:`PayloadTooLarge` (413) for more rows than the queue can ever hold,
        :class:`ServiceUnavailable` (503) when the queue is full, :class:`GatewayTimeout`
        (504) after ``timeout``, :class:`InferenceError` (500) when the model fails.
        """
        n = X.shape[0]
        if n > self.max_queue:
            self._counts["rejected"] += 1
            raise PayloadTooLarge(detail=f"{n} rows is more than this model's queue can ever hold "
                                         f"(max_queue={self.max_queue} rows): send at most {self.max_queue} "
                                         f"rows per request")
        if self._pending_rows + n > self.max_queue:
            self._counts["rejected"] += 1
            raise ServiceUnavailable(detail=f"model queue is full ({self._pending_rows} rows pending)",
                                     headers={"retry-after": "1"})
        request = _Request(X, proba, self._clock())
        batch = self._open
        cap = self.max_batch_size if self.policy is None else self.policy.max_rows()
        if batch is not None and batch.rows + n > cap and batch.rows:
            batch.full.set()  # flush what is there; this request starts the next batch
            batch = None
        if self.policy is not None:
            batch = self._admit(batch, n)
        if batch is None:
            batch = self._open = _Batch()
            if self.policy is None:
                trio.lowlevel.spawn_system_task(self._flush, batch, name="conduit-batch-flush")
            else:
                self._queued.append(batch)
                trio.lowlevel.spawn_system_task(self._flush_in_turn, batch, name="conduit-batch-flush")
        batch.requests.append(request)
        batch.rows += n
        self._pending_rows += n
        self._counts["requests"] += 1
        self._counts["rows"] += n
        if batch.rows >= cap:
            batch.full.set()
        with trio.move_on_after(self.timeout) as scope:
            try:
                await request.event.wait()
            except BaseException:
                self._abandon(batch, request)
                raise
        if scope.cancelled_caught:
            self._abandon(batch, request)
            self._counts["timed_out"] += 1
            raise GatewayTimeout(detail=f"inference did not finish within {self.timeout} s")
        if tracing.tracing_enabled() and batch.started:
            began, ended = batch.span_ns
            tracing.record_span("batch wait", request.enqueued_ns, began, rows=n)
            tracing.record_span("inference", began, ended, batch_rows=batch.rows,
                                batch_requests=len(batch.requests))
        if request.error is not None:
            raise request.error
        return request.result

    def _admit(self, batch: _Batch | None, n: int) -> _Batch | None:
        """The batch a request of ``n`` rows joins (None: a new one), or 503 when it cannot be
        answered within the latency target.

        It joins the open batch unless that would make the batch's oldest request late (a batch's
        cost grows with every row; an oldest request late already -- its batch waited for a busy
        event loop, which no refusal makes faster -- is late anyway); a request that would is shed, not put
        in a batch behind it: a queue of small batches pays the batch overhead again and again
        and the queue only grows (BentoML's dispatcher refuses at the head for the same reason).
        A new batch is opened when none is open or the open one is full (``max_rows()``), if its
        predicted completion behind the queue is within the target."""
        policy = self.policy
        policy.arrived(n)
        running_left = 0.0
        if self._running is not None:
            rows, since = self._running
            running_left = max(policy.cost(rows) - (self._clock() - since), 0.0)
        if batch is not None and batch.requests:
            ahead = [b.rows for b in self._queued if b is not batch]
            oldest_wait = self._clock() - batch.requests[0].enqueued
            without = oldest_wait + policy.completion(running_left, ahead, batch.rows)
            predicted = oldest_wait + policy.completion(running_left, ahead, batch.rows + n)
            if policy.may_join(without, predicted):
                return batch
        else:  # a new batch (or an open one every request has left, as good as new)
            ahead = [b.rows for b in self._queued if b is not batch]
            predicted = policy.completion(running_left, ahead, n)
            if policy.admits(predicted, idle=self._running is None and not ahead):
                return batch
        self._counts["shed"] += 1
        self._counts["rejected"] += 1
        raise ServiceUnavailable(
            detail=f"this model cannot answer within its latency target ({policy.target * 1000:.1f} ms) "
                   f"now: about {predicted * 1000:.1f} ms predicted", headers={"retry-after": "1"})

    def reset_statistics(self) -> None:
        """Start the counters and percentiles of :meth:`statistics` afresh (a measurement window:
        a benchmark round, an operator's before/after); the policy's learning is kept."""
        self._counts.clear()
        self._sizes.clear()
        self._waits.clear()
        self._latencies.clear()

    def statistics(self) -> BatcherStatistics:
        waits = np.array(self._waits) if self._waits else np.zeros(1)
        latencies = np.array(self._latencies) if self._latencies else np.zeros(1)
        c = self._counts
        return BatcherStatistics(
            requests=c["requests"], rows=c["rows"], batches=c["batches"], rejected=c["rejected"],
            timed_out=c["timed_out"], failed=c["failed"], pending_rows=self._pending_rows,
            batch_sizes=dict(sorted(self._sizes.items())),
            queue_wait_mean_s=float(waits.mean()), queue_wait_p50_s=float(np.percentile(waits, 50)),
            queue_wait_p99_s=float(np.percentile(waits, 99)), max_queue_wait_s=float(waits.max()),
            shed=c["shed"], latency_p50_s=float(np.percentile(latencies, 50)),
            latency_p99_s=float(np.percentile(latencies, 99)),
        )

    # -- internals -----------------------------------------------------------------------

    def _abandon(self, batch: _Batch, request: _Request) -> None:
        if not batch.started and not request.abandoned and request in batch.requests:
            request.abandoned = True
            batch.requests.remove(request)
            batch.rows -= request.X.shape[0]
            self._pending_rows -= request.X.shape[0]

    async def _flush(self, batch: _Batch) -> None:
        """The fixed batcher: run after ``max_wait`` or when full, whatever else runs."""
        with trio.move_on_after(self.max_wait):
            await batch.full.wait()
        await self._run_batch(batch)

    async def _flush_in_turn(self, batch: _Batch) -> None:
        """The latency-target batcher: wait for the model (the batch fills meanwhile), then wait
        for company only as long as the policy says it pays, then run."""
        policy = self.policy
        try:
            async with self._turn:
                wait = 0.0
                if batch.requests:
                    oldest = self._clock() - batch.requests[0].enqueued
                    wait = policy.wait_for_company(oldest, batch.rows)
                if wait > 0:
                    with trio.move_on_after(wait):
                        await batch.full.wait()
                self._queued.remove(batch)
                await self._run_batch(batch)
        finally:
            if batch in self._queued:  # cancelled while waiting: nothing runs it any more
                self._queued.remove(batch)

    async def _run_batch(self, batch: _Batch) -> None:
        if self._open is batch:
            self._open = None
        batch.started = True
        requests = batch.requests
        if not requests:
            return
        started = self._clock()
        began_ns = time.time_ns()
        waits = [started - r.enqueued for r in requests]
        for seconds in waits:
            self._record(self._waits, seconds)
        if self.on_batch is not None:
            self.on_batch(batch.rows, waits)
        self._pending_rows -= batch.rows
        self._counts["batches"] += 1
        self._sizes[len(requests)] += 1
        X = requests[0].X if len(requests) == 1 else np.concatenate([r.X for r in requests])
        proba = any(r.proba for r in requests)
        if self.policy is not None:
            self._running = (X.shape[0], started)
        try:
            if hasattr(self.model, "apredict"):  # a Pipeline: branches run concurrently
                labels, probabilities = await self.model.apredict(X), None
            elif self.run_in_thread:
                labels, probabilities = await trio.to_thread.run_sync(self._run, X, proba)
            else:
                labels, probabilities = self._run(X, proba)
        except Exception as exc:  # noqa: BLE001 - delivered to every waiter, logged once
            batch.span_ns = (began_ns, time.time_ns())
            self._counts["failed"] += 1
            logger.error("model %r failed on a batch of %d rows", self.model, X.shape[0], exc_info=exc)
            error = InferenceError(detail="the model failed to predict")
            for r in requests:
                r.error = error
                r.event.set()
            return
        finally:
            self._running = None
        batch.span_ns = (began_ns, time.time_ns())
        if self.policy is not None:
            self.policy.observe(X.shape[0], self._clock() - started)
        start = 0
        answered = self._clock()
        for r in requests:
            end = start + r.X.shape[0]
            r.result = (labels[start:end], probabilities[start:end] if r.proba else None)
            r.event.set()
            self._record(self._latencies, answered - r.enqueued)
            start = end

    def _run(self, X: np.ndarray, proba: bool):
        labels = self.model.predict_unchecked(X)
        return labels, self.model.predict_proba_unchecked(X) if proba else None

    @staticmethod
    def _record(reservoir: list[float], seconds: float) -> None:
        if len(reservoir) >= 100_000:
            del reservoir[:50_000]
        reservoir.append(seconds)


class BatcherPool:
    """One :class:`DynamicBatcher` per model version, made on first use with the same options.

    Batches never mix models or versions. Keyed weakly by the registry's ``ModelVersion``: a
    version the registry has dropped disappears once no request holds it; a version whose model
    was reloaded (``max_loaded``) gets a new batcher for the new model object.
    ``observe(name, version)`` gives each new batcher its ``on_batch`` hook (metrics).
    """

    def __init__(self, *, observe: Callable[[str, str], Callable[[int, list[float]], None]] | None = None,
                 **options: Any) -> None:
        self.options = options
        self.observe = observe
        self._batchers: weakref.WeakKeyDictionary[Any, DynamicBatcher] = weakref.WeakKeyDictionary()

    def get(self, entry: Any, model: Any = None) -> DynamicBatcher | None:
        """The batcher of ``entry`` (a ``ModelVersion``) running ``model``, made when needed.

        Without ``model``, a plain mapping look-up: the batcher if there is one, else None
        (the pool is also a mapping ``ModelVersion -> DynamicBatcher``, which other faces of
        the same route, such as MCP model tools, read and fill)."""
        batcher = self._batchers.get(entry)
        if model is None:
            return batcher
        if batcher is None or batcher.model is not model:
            on_batch = self.observe(entry.name, entry.version) if self.observe is not None else None
            batcher = self._batchers[entry] = DynamicBatcher(model, on_batch=on_batch, **self.options)
        return batcher

    def items(self) -> list[tuple[Any, DynamicBatcher]]:
        return list(self._batchers.items())

    def values(self) -> list[DynamicBatcher]:
        return list(self._batchers.values())

    def __getitem__(self, entry: Any) -> DynamicBatcher:
        return self._batchers[entry]

    def __setitem__(self, entry: Any, batcher: DynamicBatcher) -> None:
        self._batchers[entry] = batcher

    def __contains__(self, entry: Any) -> bool:
        return entry in self._batchers

    def __len__(self) -> int:
        return len(self._batchers)
