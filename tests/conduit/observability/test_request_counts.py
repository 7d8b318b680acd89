"""Request metrics counted in lists and folded at scrape give exactly what prometheus_client would.

Every figure is checked against the requests sent: counts per (method, route, status),
errors, histogram buckets (``le`` is inclusive), sums, body bytes, in-flight; the
series stay bounded under random methods and paths; a scrape that folds while
requests are recorded loses none; multiprocess mode still writes the shared files.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from conduit import Conduit
from conduit.observability import install
from conduit.observability.request_counts import FOLD_EVERY, MAX_RAW_KEYS, RouteCounts, collector
from conduit.testing import TestClient

ROOT = Path(__file__).resolve().parents[3]
BOUNDS = (0.001, 0.01, 0.1)


class _Route:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_counts_buckets_and_bytes_are_exact_over_a_fold_boundary():
    counts = RouteCounts(BOUNDS)
    record = counts.recorder()
    route = _Route("/items/{id}")
    durations = [0.0005, 0.001, 0.002, 0.05, 0.1, 3.0] * (FOLD_EVERY // 3)  # crosses a fold
    for seconds in durations:
        record("GET", route, 200, seconds, 3, 5)
    record("POST", route, 422, 0.0, 0, 7)
    rows = {labels: rest for labels, *rest in counts.snapshot()}
    count, seconds, size_in, size_out, buckets = rows[("GET", "/items/{id}", 200)]
    assert count == len(durations)
    assert seconds == pytest.approx(sum(durations))
    assert (size_in, size_out) == (3 * len(durations), 5 * len(durations))
    per_round = len(durations) // 6
    # le=0.001 takes 0.0005 and 0.001 (inclusive); le=0.01 takes 0.002; le=0.1 takes 0.05 and 0.1; +Inf 3.0
    assert buckets.tolist() == [2 * per_round, per_round, 2 * per_round, per_round]
    assert rows[("POST", "/items/{id}", 422)][0] == 1


def test_unknown_methods_and_unmatched_paths_share_bounded_series():
    counts = RouteCounts(BOUNDS)
    record = counts.recorder()
    for i in range(MAX_RAW_KEYS + 500):
        record(f"M{i}", None, 404, 0.0, 0, 0)
    assert counts.series == [("OTHER", "<unmatched>", 404)]
    assert len(counts._ids) <= MAX_RAW_KEYS + 1
    assert counts.snapshot()[0][1] == MAX_RAW_KEYS + 500


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["GET", "POST", "BREW", ""]), st.sampled_from([None, "/a", "/b/{x}"]),
                          st.sampled_from([200, 404, 500]), st.floats(0, 100), st.integers(0, 1 << 40),
                          st.integers(0, 1 << 40)), max_size=300))
def test_any_sequence_of_requests_is_counted_exactly(requests):
    counts = RouteCounts(BOUNDS)
    record = counts.recorder()
    routes = {p: _Route(p) for p in ("/a", "/b/{x}")}
    expected: dict[tuple, list] = {}
    for method, pattern, status, seconds, size_in, size_out in requests:
        record(method, routes.get(pattern), status, seconds, size_in, size_out)
        labels = (method if method in ("GET", "POST") else "OTHER", pattern or "<unmatched>", status)
        row = expected.setdefault(labels, [0, 0.0, 0, 0])
        row[0] += 1
        row[1] += seconds
        row[2] += size_in
        row[3] += size_out
    got = {labels: rest for labels, *rest in counts.snapshot()}
    assert set(got) == set(expected)
    for labels, (count, seconds, size_in, size_out) in expected.items():
        assert got[labels][0] == count and sum(got[labels][4]) == count
        assert got[labels][1] == pytest.approx(seconds)
        assert (got[labels][2], got[labels][3]) == (size_in, size_out)


def test_a_scrape_folding_while_requests_are_recorded_loses_none():
    counts = RouteCounts(BOUNDS)
    record = counts.recorder()
    route = _Route("/x")
    done = threading.Event()

    def scrape() -> None:
        while not done.is_set():
            list(collector().collect())

    scraper = threading.Thread(target=scrape)
    scraper.start()
    try:
        for _ in range(3 * FOLD_EVERY + 17):
            record("GET", route, 200, 0.0001, 1, 1)
    finally:
        done.set()
        scraper.join()
    count, _, size_in, size_out, buckets = counts.snapshot()[0][1:]
    assert count == size_in == size_out == sum(buckets) == 3 * FOLD_EVERY + 17


def test_the_exposition_matches_the_requests_served():
    app = Conduit()
    install(app)

    @app.get("/users/{id:int}")
    async def user(id: int):
        return {"id": id}

    @app.post("/echo")
    async def echo(body: dict):
        return body

    with TestClient(app) as client:
        for i in range(5):
            assert client.get(f"/users/{i}").status_code == 200
        assert client.get("/users/nope").status_code == 404
        assert client.post("/echo", content=b'{"a": 1}', headers={"content-type": "application/json"}).status_code == 200
        samples = _samples(client.get("/metrics").text)
    get_user = (("method", "GET"), ("route", "/users/{id:int}"))
    assert samples[("conduit_requests_total", (*get_user, ("status", "200")))] >= 5
    assert samples[("conduit_request_duration_seconds_count", get_user)] >= 5
    assert samples[("conduit_request_duration_seconds_bucket", (("le", "+Inf"), *get_user))] >= 5
    assert samples[("conduit_request_errors_total", (("method", "GET"), ("route", "<unmatched>"),
                                                    ("status", "404")))] >= 1
    assert samples[("conduit_request_body_bytes_total", (("method", "POST"), ("route", "/echo")))] >= 8
    assert samples[("conduit_requests_in_flight", ())] == 0


def test_multiprocess_mode_still_writes_the_shared_files(tmp_path):
    """Several workers: each request goes to prometheus_client's files, read by any worker."""
    script = """
import sys
from conduit import Conduit
from conduit.observability import install
from conduit.observability.metrics import render_metrics
from conduit.testing import TestClient
app = Conduit()
install(app)
@app.get("/x")
async def x():
    return "x"
with TestClient(app) as client:
    for _ in range(3):
        client.get("/x")
sys.stdout.write(render_metrics()[0].decode())
"""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": f"{ROOT}:{ROOT / 'kernels'}",
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    samples = _samples(out.stdout)
    assert samples[("conduit_requests_total", (("method", "GET"), ("route", "/x"), ("status", "200")))] == 3
    assert any(p.name.startswith("counter_") for p in tmp_path.iterdir())


def test_two_apps_in_one_process_expose_one_summed_sample_per_label_set():
    """Two apps with the same route: the exposition holds each label set once, the sum of both."""
    apps = []
    for _ in range(2):
        app = Conduit()
        install(app)

        @app.get("/same/{id:int}")
        async def same(id: int):
            return {"id": id}

        apps.append(app)
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        for count, client in zip((2, 3), (first, second)):
            for i in range(count):
                assert client.get(f"/same/{i}").status_code == 200
        text = first.get("/metrics").text
    labels = 'method="GET",route="/same/{id:int}",status="200"'
    lines = [line for line in text.splitlines() if line.startswith("conduit_requests_total{") and labels in line]
    assert len(lines) == 1, lines
    assert float(lines[0].rsplit(" ", 1)[1]) >= 5
