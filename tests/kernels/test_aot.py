"""Issue 22, memory: the HTTP path's kernels compiled ahead of time, loaded without Numba.

A hello server whose kernel cache holds the ``conduit build`` extension answers real
requests without importing Numba or llvmlite; an extension that does not match this
Python, machine, NumPy, Numba or the kernel sources, or that is damaged, is refused with a
line saying why and the server falls back to the JIT kernels and still answers. The AOT and
JIT kernels agree on arbitrary input (the per-kernel suites run through both as well:
conftest ``kernel_impl`` and ``http_kernels``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit_kernels import aot
from conduit_kernels.chunked import decode_chunked, new_state
from conduit_kernels.http1 import HEAD_FIELDS, scan_request_head
from conduit_kernels.route_table import build_route_table
from conduit_kernels.routing import match_route, parse_pattern

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("aot_serve_probe.py")
HELLO_ANSWERS = [[200, "Hello, world!"], [200, {"id": 42, "name": "user-42"}], [404], [200, {"received": {"a": 1}}]]


@pytest.fixture(scope="module")
def aot_folder(aot_kernels, tmp_path_factory):
    """A private copy of the built folder, so a test may damage it."""
    def copy():
        target = tmp_path_factory.mktemp("aot-copy")
        shutil.copytree(os.path.dirname(aot_kernels.__file__), target, dirs_exist_ok=True)
        return target
    return copy


def _serve_hello(cache: Path | str, **env: str) -> dict:
    environ = dict(os.environ, NUMBA_CACHE_DIR=str(cache), **env,
                   PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    environ.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run([sys.executable, str(PROBE)], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_hello_server_with_aot_kernels_never_imports_numba(aot_folder):
    report = _serve_hello(aot_folder())
    assert report["answers"] == HELLO_ANSWERS
    assert report["aot"] is True, report["reason"]
    assert report["numba"] is False and report["llvmlite"] is False


def test_stale_kernel_sources_fall_back_to_the_jit_and_still_serve(aot_folder):
    folder = aot_folder()
    manifest = json.loads((folder / aot.MANIFEST).read_text())
    manifest["fingerprint"]["sources"] = "0" * 64
    (folder / aot.MANIFEST).write_text(json.dumps(manifest))
    module, reason = aot.load(str(folder))
    assert module is None and "sources" in reason and "rebuild" in reason
    report = _serve_hello(folder)
    assert report["answers"] == HELLO_ANSWERS
    assert report["aot"] is False and report["numba"] is True


@pytest.mark.parametrize("key", ["python", "machine", "numpy", "numba"])
def test_extension_built_for_another_platform_is_refused(aot_folder, key):
    folder = aot_folder()
    manifest = json.loads((folder / aot.MANIFEST).read_text())
    manifest["fingerprint"][key] = "other"
    (folder / aot.MANIFEST).write_text(json.dumps(manifest))
    module, reason = aot.load(str(folder))
    assert module is None and key in reason


def test_damaged_extension_is_refused_with_its_error(aot_folder):
    folder = aot_folder()
    extension = next(folder.glob(aot.MODULE + "*.so"))
    extension.write_bytes(b"\x7fELF not really")
    module, reason = aot.load(str(folder))
    assert module is None and "failed to load" in reason
    report = _serve_hello(folder)
    assert report["answers"] == HELLO_ANSWERS and report["aot"] is False


@pytest.mark.parametrize("text, expected", [
    (None, "no ahead-of-time kernels"),
    ("{not json", "unreadable"),
    ('{"fingerprint": {}}', "built for another"),
])
def test_missing_or_garbled_manifest_is_refused(tmp_path, text, expected):
    if text is not None:
        (tmp_path / aot.MANIFEST).write_text(text)
    module, reason = aot.load(str(tmp_path))
    assert module is None and expected in reason


def test_manifest_naming_a_missing_extension_is_refused(aot_folder):
    folder = aot_folder()
    for extension in folder.glob(aot.MODULE + "*.so"):
        extension.unlink()
    module, reason = aot.load(str(folder))
    assert module is None and "no extension file" in reason


def test_conduit_aot_0_turns_the_extension_off(aot_folder):
    report = _serve_hello(aot_folder(), CONDUIT_AOT="0")
    assert report["answers"] == HELLO_ANSWERS
    assert report["aot"] is False and "CONDUIT_AOT=0" in report["reason"] and report["numba"] is True


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.builds(lambda body: b"GET /" + body + b" HTTP/1.1\r\nHost: a\r\n\r\n",
                                           st.binary(max_size=60)))
def test_aot_head_scanner_agrees_with_the_jit_on_any_bytes(aot_kernels, data):
    jit_out, aot_out = np.zeros(HEAD_FIELDS + 16, np.int64), np.zeros(HEAD_FIELDS + 16, np.int64)
    jit = scan_request_head(data, len(data), jit_out)
    assert aot_kernels.scan_request_head(bytearray(data), len(data), aot_out) == jit
    if jit > 0:
        assert (aot_out == jit_out).all()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=6), st.integers(0, 64))
def test_aot_chunk_decoder_agrees_with_the_jit_on_any_reads(aot_kernels, pieces, limit):
    results = []
    for decode in (decode_chunked, aot_kernels.decode_chunked):
        state, pending, data = new_state(limit, 256), bytearray(), bytearray()
        for piece in pieces:
            pending += piece
            out = np.empty(len(pending), np.uint8)
            stop = decode(pending, 0, len(pending), out, state)
            data += out[:state[2]].tobytes()
            del pending[:stop]
            if state[3]:
                break
        results.append((bytes(data), state.tolist()))
    assert results[0] == results[1]


ROUTES = ["/", "/users/{id:int}", "/users/{id:int}/posts/{slug}", "/files/*path", "/a/b/c", "/é/{x:float}"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=50).map(lambda tail: b"/" + tail) | st.sampled_from(
    [b"/", b"/users/42", b"/users/-1/posts/x%20y", b"/files/a/b", b"/a/b/c/", b"/%C3%A9/1.5", b"/users/99999999999999999999"]),
    st.integers(-1, 3))
def test_aot_route_matcher_agrees_with_the_jit_on_any_path(aot_kernels, path, method):
    table = build_route_table([(["GET", "POST"], parse_pattern(p)) for p in ROUTES])
    jit_work, aot_work = table.new_work(), table.new_work()
    expected = match_route(table.table, path, method, jit_work)
    assert aot_kernels.match_route(table.table, path, method, aot_work) == expected
    if expected[0] >= 0:
        assert (aot_work == jit_work).all()
