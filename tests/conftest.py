"""Shared fixtures and the CI rule for tool-dependent tests.

``-m 'not slow'`` skips the load/soak/tool-suite tests locally. Tests that need an
external tool (wrk, chromium, redis-server, the MCP conformance suite) skip where
it is missing on a developer's machine, but under CI (``CI`` set) such a skip is a
failure: CI installs every tool, so a missing one is a broken setup, not a reason.
"""

import os
import shutil
import socket
import subprocess
import time
from types import SimpleNamespace

import numpy as np
import pytest

_MISSING_TOOL = ("not installed", "not available")


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


@pytest.fixture
def entries_of():
    """``entries_of(response)``: the 422's ``{"loc", "msg", "type"}`` entries (each loc a list)."""
    def entries(response):
        assert response.status_code == 422, response.text
        detail = response.json()["error"]["detail"]
        assert all(isinstance(e["loc"], list) for e in detail), detail
        return detail
    return entries


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and any(t in str(report.longrepr) for t in _MISSING_TOOL):
        report.outcome = "failed"
        report.longrepr = f"CI must provide every tool the tests use: {report.longrepr}"


@pytest.fixture(scope="session")
def redis_client(tmp_path_factory):
    """A real redis-server on 127.0.0.1 (ephemeral port, no persistence) and a client for it.

    Shared by the Redis tests (rate limits, MCP sessions); ``redis_client.connection_pool``
    carries the port for tests that start server processes against it.
    """
    redis = pytest.importorskip("redis", reason="redis is in the test extra (./dev test installs it)")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (scripts/install-system-deps.sh installs it; under CI=true this skip fails the run)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.hookimpl(hookwrapper=True)
def pytest_collect_file(file_path, parent):
    """pytest-markdown-docs runs the code blocks of README.md and docs/ (``--markdown-docs``
    in pyproject.toml); it would also import every .py file here to read code blocks in
    docstrings, which this suite does not use: keep it to Markdown."""
    outcome = yield
    if file_path.suffix == ".py":
        outcome.force_result([item for item in outcome.get_result()
                              if type(item).__name__ != "MarkdownDocstringCodeModule"])


@pytest.fixture(scope="session")
def aot_kernels(tmp_path_factory):
    """The HTTP path's kernels compiled ahead of time (``conduit_kernels.aot_build``, as
    ``conduit build`` does), loaded the way the server loads them."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler here: numba.pycc cannot build the ahead-of-time kernels")
    from conduit_kernels import aot, aot_build

    folder = str(tmp_path_factory.mktemp("aot"))
    aot_build.build(folder)
    module, reason = aot.load(folder)
    assert module is not None, reason
    return module


@pytest.fixture(scope="module", params=["jit", "aot"])
def kernel_impl(request):
    """The head scanner, chunk decoder and route matcher, JIT and ahead-of-time: one table of
    test cases runs through both. The AOT exports take exactly the server's types
    (bytearray buffers, a bytes path), so inputs are converted to those here."""
    if request.param == "jit":
        from conduit_kernels.chunked import decode_chunked
        from conduit_kernels.http1 import scan_request_head
        from conduit_kernels.routing import match_route

        return SimpleNamespace(name="jit", scan_request_head=scan_request_head, decode_chunked=decode_chunked,
                               match_route=match_route)
    module = request.getfixturevalue("aot_kernels")
    return SimpleNamespace(
        name="aot",
        scan_request_head=lambda buf, n, out: module.scan_request_head(bytearray(buf), n, out),
        decode_chunked=lambda buf, start, n, out, state: module.decode_chunked(bytearray(buf), start, n, out, state),
        match_route=lambda table, path, method, work: module.match_route(table, bytes(path), method, work))


@pytest.fixture(scope="module", params=["jit", "aot"])
def http_kernels(request):
    """Run a module's tests with the server's HTTP kernels JIT-compiled, then ahead-of-time
    compiled (as a server with ``conduit build`` output runs), selected the way the server selects."""
    from conduit.http import h1
    from conduit_kernels import aot

    module = request.getfixturevalue("aot_kernels") if request.param == "aot" else None
    patch = pytest.MonkeyPatch()
    patch.setattr(aot, "kernels", lambda: module)
    h1.warmup()
    yield request.param
    patch.undo()
    h1.warmup()
