"""``app.statistics()``, the route hints and ``conduit routes --stats/--check --json`` on real traffic."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from conduit import LiveServer
from conduit.cli import main
from conduit.observability.hints import route_hints
from conduit.observability.statistics import AppStatistics, quantile

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def served():
    import sys

    sys.path.insert(0, str(HERE))
    try:
        import _stats_app
    finally:
        sys.path.remove(str(HERE))
    with LiveServer(_stats_app.app) as server, httpx.Client(base_url=server.url) as client:
        for i in range(40):
            assert client.get(f"/stats-items/{i}").status_code == 200
            assert client.get("/stats-colors/" + ("red", "green")[i % 2]).status_code == 200
        for _ in range(10):
            assert client.post("/stats-echo", json={"pad": "x" * 90}).status_code == 200
        for _ in range(5):
            assert client.get("/stats-fail").status_code == 500
        assert client.head("/stats-items/1").status_code == 200
        assert client.get("/stats-nowhere").status_code == 404
        yield _stats_app.app, server


def test_statistics_per_route_count_errors_percentiles_bytes_and_share(served):
    app, _ = served
    stats = app.statistics()
    items = stats.route("GET", "/stats-items/{item_id}")
    assert items.count == 40 and items.errors == 0
    assert 0 < items.p50 <= items.p90 <= items.p99
    assert stats.routes[0].count >= stats.routes[-1].count  # hottest first
    assert stats.route("HEAD", "/stats-items/{item_id}").count == 1
    echo = stats.route("POST", "/stats-echo")
    assert echo.count == 10 and echo.bytes_in == 10 * len(json.dumps({"pad": "x" * 90}, separators=(",", ":")))
    assert echo.bytes_out == echo.bytes_in  # echoed back
    fail = stats.route("GET", "/stats-fail")
    assert fail.count == 5 and fail.errors == 5 and fail.error_rate == 1.0
    assert stats.route("GET", "/stats-never").count == 0
    # The registry is process-wide: other tests' /health or /metrics requests may be in the total too.
    assert sum(r.count for r in stats.routes if r.route.startswith("/stats-")) == 40 + 40 + 10 + 5 + 1
    assert stats.total >= 96
    assert stats.unmatched >= 1
    assert items.share == pytest.approx(40 / stats.total)
    assert items.params["item_id"].all_int and len(items.params["item_id"].values) == 32  # capped sample
    assert items.params["item_id"].overflow


def test_hints_name_static_candidates_int_params_and_dead_routes(served):
    app, _ = served
    hints = [str(h) for h in route_hints(app, app.statistics())]
    assert any("'color' took only 2 value(s)" in h and "'/stats-colors/green', '/stats-colors/red'" in h
               for h in hints), hints
    assert any("'item_id' parsed as an int" in h and "'/stats-items/{item_id:int}'" in h for h in hints)
    assert any("/stats-never" in h and "never hit" in h for h in hints)
    assert not any("/metrics" in h or "/docs" in h for h in hints)  # framework routes are left out


def test_statistics_json_round_trips_and_bad_documents_are_named(served):
    app, server = served
    data = httpx.get(server.url + "/metrics/routes").json()
    assert AppStatistics.from_json(data).route("GET", "/stats-items/{item_id}").count >= 40
    with pytest.raises(ValueError, match="not a Conduit statistics document"):
        AppStatistics.from_json({"routes": [{"nope": 1}]})


def test_cli_stats_prints_hot_routes_first_then_hints(served, capsys, monkeypatch):
    _, server = served
    monkeypatch.chdir(HERE)
    assert main(["routes", "_stats_app:app", "--stats", server.url + "/metrics/routes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["METHOD", "PATTERN", "COUNT", "SHARE"]
    first = out[1].split()
    assert first[0] == "GET" and first[1] in ("/stats-items/{item_id}", "/stats-colors/{color}")
    assert any(line.startswith("hint:") and "never hit" in line for line in out)
    assert main(["routes", "_stats_app:app", "--stats", server.url + "/metrics/routes", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["routes"][0]["count"] >= 40 and data["hints"]


def test_cli_stats_against_a_missing_endpoint_is_a_clear_error(served, capsys, monkeypatch):
    _, server = served
    monkeypatch.chdir(HERE)
    assert main(["routes", "_stats_app:app", "--stats", server.url + "/not-there"]) == 1
    assert "answered 404" in capsys.readouterr().out
    assert main(["routes", "_stats_app:app", "--stats", "ftp://x"]) == 1
    assert "needs an http(s) URL" in capsys.readouterr().out


def test_check_json_and_the_table_shows_automatic_head_and_options(capsys, monkeypatch):
    monkeypatch.chdir(HERE)
    assert main(["routes", "_stats_app:app", "--check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == 0
    rows = {(r["methods"], r["pattern"]): r["handler"] for r in data["routes"]}
    assert rows[("HEAD", "/stats-items/{item_id}")].startswith("(automatic")
    assert rows[("OPTIONS", "/stats-echo")].startswith("(automatic")
    assert ("HEAD", "/health") not in rows or not rows[("HEAD", "/health")].startswith("(automatic")


@pytest.mark.parametrize("q, expected", [(0.75, 0.015), (0.5, 0.01), (0.0, 0.0), (1.0, 0.02), (0.25, 0.005)])
def test_quantile_interpolates_within_buckets_like_prometheus(q, expected):
    buckets = [(0.01, 10.0), (0.02, 20.0), (float("inf"), 20.0)]
    assert quantile(q, buckets) == pytest.approx(expected)


def test_quantile_without_observations_is_none():
    assert quantile(0.5, [(0.01, 0.0), (float("inf"), 0.0)]) is None
