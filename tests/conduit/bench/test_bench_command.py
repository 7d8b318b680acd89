"""Issue 26, item "tuning with asv on your own app": ``conduit bench MODULE:APP``.

Before: nothing showed how to benchmark one's own routes. After: the command writes an
asv suite (a sample request per route from its types, or an examples file), asv runs it
(in-process through the server's connection; over a socket under wrk, beside a peer),
and the routes print costliest first with the route checks; bad input is one line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from typing import Annotated

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit import Conduit, TestClient
from conduit.binding import Form, Header, Query
from conduit.binding import Path as Path_
from conduit.bench.samples import Sample, load_examples, plan_samples
from conduit.bench.sockets import wrk_script
from conduit.bench.suite import write_suite
from conduit.cli import main

ROOT = Path(__file__).resolve().parents[3]

SMALL_APP = '''
from typing import Annotated
from conduit import Conduit
from conduit.binding import Query

app = Conduit()


@app.get("/items")
async def items(limit: int = 10) -> dict:
    return {"items": list(range(min(limit, 50)))}


@app.get("/items/{item_id:int}")
async def item(item_id: int, verbose: Annotated[bool, Query()] = False) -> dict:
    return {"id": item_id}
'''

PEER_APP = '''
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def items(request):
    return JSONResponse({"items": list(range(10))})

app = Starlette(routes=[Route("/items", items)])
'''


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))


def _bench(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conduit.cli", "bench", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "small_app.py").write_text(SMALL_APP)
    (tmp_path / "peer_app.py").write_text(PEER_APP)
    return tmp_path


def _rows(output: str) -> dict[str, list[str]]:
    """Table rows by route label: the cells after the label."""
    rows = {}
    for line in output.splitlines():
        found = re.match(r"^((?:GET|POST|PUT|DELETE|PATCH) \S+)\s+(.*)$", line)
        if found:
            rows[found.group(1)] = found.group(2).split()
    return rows


def test_samples_from_the_route_types_pass_the_routes_own_validation():
    """Every sample built from examples/rest_api.py's types is accepted by its binder (no 422, no 400)."""
    from examples.rest_api import app

    plan = plan_samples(app)
    assert set(plan.samples) == {"GET /books", "POST /books", "GET /books/{book_id:int}",
                                 "PUT /books/{book_id:int}", "DELETE /books/{book_id:int}", "POST /score"}
    assert plan.skipped == {}
    assert json.loads(plan.samples["POST /books"].body) == {"title": "x", "author": "x", "year": 0}
    assert plan.samples["GET /books/{book_id:int}"].target == "/books/1"
    with TestClient(app) as client:
        for label in ("POST /books", "GET /books", "POST /score", "PUT /books/{book_id:int}",
                      "GET /books/{book_id:int}", "DELETE /books/{book_id:int}"):
            sample = plan.samples[label]
            response = client.request(sample.method, sample.target, headers=dict(sample.headers),
                                       content=sample.body)
            assert response.status_code < 400, (label, response.text)


@pytest.mark.parametrize("module", ["examples.hello", "examples.demo", "examples.rag_app", "examples.rest_api"])
def test_every_shipped_example_gets_samples_its_routes_accept(module):
    """No route of a shipped example is skipped, and every sample reaches its handler (no 400, no 422):
    ``Any`` bodies, catch-all paths, enum and pattern-constrained strings included."""
    app = importlib.import_module(module).app
    plan = plan_samples(app)
    assert plan.skipped == {}
    with TestClient(app) as client:
        for label, sample in plan.samples.items():
            if label == "GET /ticks":  # an endless-enough SSE stream: the TestClient would collect 1 s of it
                continue
            response = client.request(sample.method, sample.target, headers=dict(sample.headers),
                                      content=sample.body)
            assert response.status_code not in (400, 415, 422), (label, sample, response.text)


@pytest.mark.parametrize("pattern, low, high", [(r"\S", 0, None), (r"^[A-Z]{3}-\d{2}$", 6, 6),
                                                (r"^[a-z0-9_-]+$", 3, 8), (r"^\w+@\w+\.com$", 0, 40)])
def test_pattern_constrained_strings_get_a_matching_sample(pattern, low, high):
    app = Conduit()

    async def find(code, body):
        return {"code": code}

    find.__annotations__ = {"code": Annotated[str, Query(pattern=pattern, min_length=low, max_length=high)],
                            "body": dict, "return": dict}
    app.post("/find")(find)
    sample = plan_samples(app).samples["POST /find"]
    with TestClient(app) as client:
        response = client.post(sample.target, headers=dict(sample.headers), content=sample.body)
    assert response.status_code == 200, (sample, response.text)
    assert re.search(pattern, response.json()["code"])


def test_required_query_header_and_bounded_values_come_from_the_schema():
    app = Conduit()

    @app.get("/search")
    async def search(q: str, size: Annotated[int, Query(ge=5, le=9)], x_key: Annotated[str, Header()]) -> dict:
        return {"q": q, "size": size, "key": x_key}

    sample = plan_samples(app).samples["GET /search"]
    assert sample.target.startswith("/search?") and "q=x" in sample.target and "size=5" in sample.target
    assert ("x-key", "x") in sample.headers
    with TestClient(app) as client:
        assert client.get(sample.target, headers=dict(sample.headers)).json() == {"q": "x", "size": 5,
                                                                                  "key": "x"}


@settings(max_examples=40, deadline=None)
@given(low=st.integers(-10**6, 10**6), start=st.integers(0, 10**6), span=st.integers(0, 1000),
       min_length=st.integers(0, 50), extra=st.integers(0, 50))
def test_samples_from_any_bounds_pass_validation(low, start, span, min_length, extra):
    """Whatever bounds a route declares, the sample built from them is accepted (never a 422)."""
    app = Conduit()

    async def things(n, q, x, body):
        return {"n": n}

    things.__annotations__ = {  # built here: the bounds are this example's values
        "n": Annotated[int, Path_(ge=start, le=start + span)],
        "q": Annotated[str, Query(min_length=min_length, max_length=min_length + extra)],
        "x": Annotated[float, Query(gt=low, le=low + span + 1)], "body": dict, "return": dict}
    app.post("/things/{n:int}")(things)
    sample = plan_samples(app).samples["POST /things/{n:int}"]
    with TestClient(app) as client:
        response = client.post(sample.target, headers=dict(sample.headers), content=sample.body)
    assert response.status_code == 200, (sample, response.text)


def test_a_form_route_is_skipped_with_the_reason_unless_the_examples_file_gives_it(tmp_path):
    app = Conduit()

    @app.post("/login")
    async def login(user: Annotated[str, Form()]) -> dict:
        return {"user": user}

    plan = plan_samples(app)
    assert "POST /login" in plan.skipped and "examples file" in plan.skipped["POST /login"]
    examples = tmp_path / "examples.json"
    examples.write_text(json.dumps({"POST /login": {"path": "/login", "body": "user=ana",
                                                    "headers": {"content-type": "application/x-www-form-urlencoded"}}}))
    plan = plan_samples(app, load_examples(examples))
    sample = plan.samples["POST /login"]
    with TestClient(app) as client:
        assert client.post(sample.target, headers=dict(sample.headers), content=sample.body).json() == {"user": "ana"}


def test_examples_file_mistakes_and_request_injection_are_one_clear_error(tmp_path):
    from examples.rest_api import app

    bad = tmp_path / "bad.json"
    for text, phrase in [("{", "is not JSON"), ("[1]", "JSON object"), ('{"GET /books": {}}', "'path'"),
                         ('{"GET /books": {"path": "/books", "jsn": 1}}', "unknown keys ['jsn']"),
                         ('{"GET /books": {"path": "/books HTTP/1.1\\r\\nX: y"}}', "no spaces or control"),
                         ('{"GET /books": {"path": "books"}}', "must start with '/'"),
                         ('{"GET /books": {"path": "/b", "headers": {"x-a": "1\\r\\nInjected: 1"}}}', "not a valid HTTP"),
                         ('{"GET /books": {"path": "/b", "headers": {"bad name": "1"}}}', "not a valid HTTP"),
                         ('{"GET /books": {"path": "/b", "headers": ["x"]}}', "'headers' must be an object")]:
        bad.write_text(text)
        with pytest.raises(ValueError, match=re.escape(phrase)):
            load_examples(bad)
    bad.write_text('{"GET /nope": {"path": "/nope"}}')
    with pytest.raises(ValueError, match="does not have: GET /nope"):
        plan_samples(app, load_examples(bad))
    with pytest.raises(ValueError, match="cannot read"):
        load_examples(tmp_path / "missing.json")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk runs the script (scripts/install-system-deps.sh)")
def test_wrk_script_sends_any_body_bytes_intact(tmp_path):
    """Quotes, backslashes, ``]]``, NUL, high bytes, and digits right after an escaped byte (``[1`` read as
    Lua's ``\\911`` was the bug) reach the server byte for byte, through wrk itself."""
    import socket
    import threading

    from conduit.bench.sockets import wrk

    body = b'[[1.0, 2]] {"a": "\\"]]\\n\'x\x00\xff9"} \r\n'
    sample = Sample("POST", "/x", (("content-type", "application/json"), ("x-odd", 'a"b\\c')), body)
    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    def serve_one() -> None:
        while not received:  # wrk first connects once to test the address, sending nothing
            connection, _ = server.accept()
            with connection:
                connection.settimeout(10)
                data = chunk = connection.recv(65536)
                while chunk and (b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < len(body)):
                    data += (chunk := connection.recv(65536))
                if data:
                    received.append(data)
                    connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    wrk(f"http://127.0.0.1:{server.getsockname()[1]}/x", 1, connections=1, script=wrk_script(sample))
    thread.join(15)
    server.close()
    head, _, sent = received[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /x HTTP/1.1") and b'x-odd: a"b\\c' in head
    assert sent[:len(body)] == body


def _load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.parent.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_written_suite_is_an_asv_suite_whose_benchmarks_measure_every_route(project, monkeypatch):
    """The generated module imports on its own (as asv's discovery does), its track benchmarks return
    a cost per route, and asv's own discovery (``asv check``) finds them."""
    monkeypatch.syspath_prepend(str(project))
    app = importlib.import_module("small_app").app
    plan = plan_samples(app)
    conf = write_suite(project / "b", target="small_app:app", project=project, samples=plan.samples,
                       seconds=0.2, rounds=1, sockets=False, peer=None)
    module = _load_module(project / "b" / "benchmarks" / "routes.py")
    suite = module.InProcess()
    assert suite.params == ["GET /items", "GET /items/{item_id:int}"]
    results = suite.setup_cache()
    for route in suite.params:
        assert suite.track_cpu_us_per_request(results, route) > 0
        assert results[route]["statuses"] == {"200": results[route]["requests"]}
    from asv_runner.discovery import disc_benchmarks  # asv's own discovery, as `asv run` calls it

    monkeypatch.syspath_prepend(str(project / "b"))
    found = {b.name: b for b in disc_benchmarks(str(project / "b" / "benchmarks"))}
    assert set(found) == {"routes.InProcess.track_cpu_us_per_request"}
    assert found["routes.InProcess.track_cpu_us_per_request"].params == [["'GET /items'", "'GET /items/{item_id:int}'"]]
    asv = [str(Path(sys.executable).with_name("asv"))]
    check = subprocess.run(asv + ["check", "--config", str(conf), "--python=same"], cwd=conf.parent, env=_env(),
                           capture_output=True, text=True, timeout=180)
    assert check.returncode == 0 and "No problems found" in check.stdout, check.stdout + check.stderr


@pytest.mark.slow  # an end-to-end tool run: asv in a subprocess
def test_bench_prints_every_route_with_a_cost_statuses_and_hints(project):
    done = _bench(project, "small_app:app", "--duration", "0.3", "--no-socket", "--dir", str(project / "b"))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(done.stdout)
    assert set(rows) == {"GET /items", "GET /items/{item_id:int}"}
    for cells in rows.values():
        assert float(cells[0].replace(",", "")) > 0 and cells[1] == "200"
    lines = done.stdout.splitlines()
    hint = lines.index(next(line for line in lines if line.startswith("GET /items ")))
    assert "query 'limit' is unbounded" in lines[hint + 1]  # the conduit routes --check finding, under its row
    costs = [float(cells[0].replace(",", "")) for cells in rows.values()]
    assert costs == sorted(costs, reverse=True)
    assert (project / "b" / ".asv" / "results").is_dir()  # asv ran and kept its results


@pytest.mark.slow  # an end-to-end tool run: asv, two servers, wrk
@pytest.mark.skipif(shutil.which("wrk") is None, reason="the socket rows need wrk (scripts/install-system-deps.sh)")
def test_peer_row_beside_each_route_over_real_sockets(project):
    done = _bench(project, "small_app:app", "--duration", "1", "--route", "GET /items", "--peer", "peer_app:app",
                  "--dir", str(project / "b"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PEER_REQ_S" in done.stdout and "PEER_CPU_US" in done.stdout
    cells = _rows(done.stdout)["GET /items"]
    # CPU_US STATUS REQ_S SERVER_CPU_US PEER_REQ_S PEER_CPU_US LOAD
    assert all(float(c.replace(",", "")) > 0 for c in (cells[2], cells[3], cells[4], cells[5]))
    saved = json.loads((project / "b" / ".asv" / "conduit-bench-sockets.json").read_text())
    assert saved["GET /items"]["peer"]["errors"] == 0 and saved["GET /items"]["conduit"]["errors"] == 0


@pytest.mark.parametrize("args, phrase", [
    (["nocolon"], "expected MODULE:ATTRIBUTE"),
    (["no_such_module_xyz:app"], "cannot import module 'no_such_module_xyz'"),
    (["small_app:nope"], "has no attribute 'nope'"),
    (["peer_app:app"], "not a Conduit app"),
    (["empty_app:app"], "has no routes to measure"),
    (["small_app:app", "--route", "/nowhere"], "no route matches --route '/nowhere'"),
    (["small_app:app", "--peer", "justaname"], "--peer takes MODULE:APP"),
    (["small_app:app", "--duration", "0"], "--duration must be more than 0"),
    (["small_app:app", "--examples", "missing.json"], "cannot read the examples file"),
])
def test_bad_input_is_one_error_line(project, monkeypatch, capsys, args, phrase):
    (project / "empty_app.py").write_text("from conduit import Conduit\napp = Conduit()\n")
    monkeypatch.chdir(project)
    assert main(["bench", *args, "--write-only", "--dir", str(project / "b")]) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith("error: ") and phrase in out and len(out.splitlines()) == 1, out


def test_a_dir_that_cannot_hold_the_suite_is_one_error_line(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / "afile").write_text("not a folder")
    assert main(["bench", "small_app:app", "--write-only", "--dir", str(project / "afile")]) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith("error: cannot write the suite into") and len(out.splitlines()) == 1, out


def test_missing_asv_is_one_error_line(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    monkeypatch.setattr("conduit.bench.suite.asv_command", lambda: None)
    assert main(["bench", "small_app:app", "--dir", str(project / "b")]) == 1
    out = capsys.readouterr().out.strip()
    assert out == "error: asv is not installed: pip install asv (Conduit's bench extra), or use --write-only"


def test_in_process_counts_failing_and_closing_routes_instead_of_hanging():
    """A handler that raises (500, logged) and a body over the route's limit (413, and the connection
    closes) are measured like any route: their statuses are reported, the run ends on time."""
    from conduit.bench.inprocess import measure_in_process

    app = Conduit(max_body_size=8)

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("a bug")

    @app.post("/small")
    async def small(body: dict) -> dict:
        return body

    @app.get("/stream")
    async def stream():
        from conduit import StreamingResponse

        async def chunks():
            for i in range(3):
                yield f"{i}\n"

        return StreamingResponse(chunks(), media_type="text/plain")

    samples = {"GET /boom": Sample("GET", "/boom"),
               "POST /small": Sample("POST", "/small", (("content-type", "application/json"),),
                                     b'{"far": "more than eight bytes"}'),
               "GET /stream": Sample("GET", "/stream")}
    results = measure_in_process(app, samples, 0.3, rounds=1)
    assert set(results["GET /boom"]["statuses"]) == {"500"}
    assert set(results["POST /small"]["statuses"]) == {"413"}
    assert set(results["GET /stream"]["statuses"]) == {"200"}
    for entry in results.values():
        assert entry["requests"] > 0 and entry["cpu_us"] > 0


@pytest.mark.slow  # an end-to-end tool run: asv, two servers, wrk
def test_peer_given_as_a_url_of_a_running_server(project):
    """``--peer http://...``: a server the user runs; its req/s is measured, its CPU is not ours to read."""
    from conduit.bench.sockets import free_port, wait_for_http

    if shutil.which("wrk") is None:
        pytest.skip("the socket rows need wrk (scripts/install-system-deps.sh)")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "small_app:app", "--port", str(port),
                               "--log-level", "warning"], cwd=project, env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(port, server)
        done = _bench(project, "small_app:app", "--duration", "1", "--route", "GET /items",
                      "--peer", f"http://127.0.0.1:{port}", "--dir", str(project / "b"))
    finally:
        server.terminate()
        server.wait(30)
    assert done.returncode == 0, done.stdout + done.stderr
    cells = _rows(done.stdout)["GET /items"]
    assert float(cells[4].replace(",", "")) > 0 and cells[5] == "-"
