"""Each admission guard driven past its threshold over real sockets (LiveServer + httpx).

The memory guard is pushed over its limit by a handler that really allocates
(and the test then really frees it); the concurrency cap by handlers held open
until the test releases them. Each test checks the answers (503 + Retry-After,
/ready), the Prometheus families, and the recovery.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from conduit import Conduit, LiveServer
from conduit.admission import process_rss
from conduit.observability import install

MB = 1_000_000


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise KeyError(name)


def wait_until(predicate, timeout: float = 15.0) -> bool:
    """Poll ``predicate`` for at most ``timeout`` s (a bound on the wait, not an assertion on speed)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def held_app() -> Conduit:
    """An app whose /held requests wait until the test sets ``app.state.release``."""
    app = Conduit(openapi_url=None, docs_url=None)
    install(app)
    app.state.release = threading.Event()
    app.state.ballast = None

    @app.get("/held")
    async def held():
        while not app.state.release.is_set():
            await trio.sleep(0.005)
        return {"held": "done"}

    @app.get("/ok")
    async def ok():
        return {"ok": True}

    @app.post("/grow/{mb:int}")
    async def grow(mb: int):
        app.state.ballast = bytearray(b"\x01") * (mb * MB)  # touched, so it is resident
        return {"grew": mb}

    return app


def test_memory_guard_sheds_new_requests_finishes_in_flight_and_recovers():
    app = held_app()
    app.warmup()  # numba and the route kernel are loaded before the baseline is taken
    base = process_rss()
    limit = base + 150 * MB
    with LiveServer(app, max_memory=limit, memory_low_water=base + 60 * MB,
                    memory_check_interval=0.005) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/ok").status_code == 200
        assert client.get("/ready").status_code == 200
        in_flight: list[httpx.Response] = []
        waiter = threading.Thread(target=lambda: in_flight.append(httpx.get(server.url + "/held", timeout=30)))
        waiter.start()
        assert wait_until(lambda: app.admission.admitted >= 2)  # /ok and /held admitted

        assert client.post("/grow/250").status_code == 200  # RSS now ~250 MB over the base
        assert wait_until(lambda: client.get("/ok").status_code == 503)
        refused = client.get("/ok")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "memory limit" in refused.json()["error"]["detail"]
        ready = client.get("/ready")
        assert ready.status_code == 503 and "over the" in ready.json()["status"]
        text = client.get("/metrics").text
        assert metric(text, "conduit_memory_shedding") == 1.0
        assert metric(text, "conduit_shed_requests_total", reason="memory") >= 2
        assert metric(text, "conduit_memory_rss_bytes") > limit

        app.state.release.set()  # the request admitted before the limit still finishes
        waiter.join(30)
        assert in_flight[0].status_code == 200 and in_flight[0].json() == {"held": "done"}

        app.state.ballast = None  # free it: RSS falls under the low-water mark
        assert wait_until(lambda: client.get("/ok").status_code == 200)
        assert client.get("/ready").status_code == 200
        text = client.get("/metrics").text
        assert metric(text, "conduit_memory_shedding") == 0.0
        assert metric(text, "conduit_memory_shed_transitions_total") >= 1


def test_concurrency_cap_queues_a_few_then_refuses_at_once_and_recovers():
    app = held_app()
    with LiveServer(app, max_concurrency=2, concurrency_queue=1, queue_timeout=30) as server, \
            httpx.Client(base_url=server.url) as client:
        results: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda: results.append(httpx.get(server.url + "/held", timeout=60)))
                   for _ in range(3)]
        for t in threads:
            t.start()
        limiter = app.admission.limiter
        assert wait_until(lambda: limiter.in_flight == 2 and limiter.queued == 1)
        refused = client.get("/ok")  # two in flight, one queued: the queue is full
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "concurrency limit" in refused.json()["error"]["detail"]
        text = client.get("/metrics").text  # exempt: answers while the cap is reached
        assert metric(text, "conduit_requests_queued") == 1.0
        assert metric(text, "conduit_concurrency_limit") == 2.0
        assert metric(text, "conduit_shed_requests_total", reason="concurrency") >= 1

        app.state.release.set()
        for t in threads:
            t.join(60)
        assert [r.status_code for r in results] == [200, 200, 200]  # the queued one got a slot
        assert limiter.in_flight == 0 and limiter.queued == 0
        assert client.get("/ok").status_code == 200


def test_a_queued_request_gets_503_when_no_slot_frees_in_time():
    app = held_app()
    with LiveServer(app, max_concurrency=1, concurrency_queue=4, queue_timeout=0.2) as server, \
            httpx.Client(base_url=server.url) as client:
        holder = threading.Thread(target=lambda: httpx.get(server.url + "/held", timeout=60))
        holder.start()
        assert wait_until(lambda: app.admission.limiter.in_flight == 1)
        late = client.get("/ok")
        assert late.status_code == 503
        assert "no slot freed in time" in late.json()["error"]["detail"]
        assert metric(client.get("/metrics").text, "conduit_shed_requests_total", reason="queue_timeout") >= 1
        app.state.release.set()
        holder.join(60)
        assert client.get("/ok").status_code == 200


@pytest.mark.slow
def test_adaptive_limit_falls_under_overload_and_sheds_the_excess():
    """Latency grows with the number in flight; AIMD brings the cap down to what meets the target."""
    app = Conduit(openapi_url=None, docs_url=None)
    install(app)

    @app.get("/work")
    async def work():
        # 10 ms per request in flight: a service whose latency grows with its load.
        await trio.sleep(0.010 * app.admission.limiter.in_flight)
        return "done"

    statuses: list[int] = []
    with LiveServer(app, max_concurrency=32, concurrency_queue=0, latency_target=0.05) as server:
        def client_loop():
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for _ in range(40):
                    statuses.append(client.get("/work").status_code)

        threads = [threading.Thread(target=client_loop) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        limit = app.admission.limiter.current_limit
        text = httpx.get(server.url + "/metrics").text
    assert set(statuses) <= {200, 503}
    assert statuses.count(503) > 0  # the excess was refused at once, not queued
    assert 1 <= limit < 32          # the cap came down from its maximum
    assert metric(text, "conduit_concurrency_limit") == limit
