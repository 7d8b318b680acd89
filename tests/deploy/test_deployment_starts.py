"""Issue 26, item 6: the Kubernetes Deployment starts with ``readOnlyRootFilesystem: true``.

Before: the manifests were checked against the schema only, and the pod could not start: with
the image's ``NUMBA_CACHE_DIR`` read-only every ``cache=True`` kernel failed to import. This
test runs what the pod runs, as a process: the image's cache built by the Dockerfile's own
``conduit build`` line, made read-only (the root filesystem), the container's ``args`` and
``env``, its ``emptyDir`` volume mounted at ``/tmp`` (a scratch folder here, as ``TMPDIR``),
and the startup probe's path. Only the listen address and port change (127.0.0.1, a free
port). It asserts the start succeeds, the probes answer, nothing compiles, and not one file of
the cache changes.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # a build and a start of the demo (two workers): minutes on a busy machine


def _container() -> dict:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "deployment.yaml").read_text()))
    deployment = next(d for d in documents if d and d.get("kind") == "Deployment")
    return deployment["spec"]["template"]["spec"], deployment["spec"]["template"]["spec"]["containers"][0]


def _dockerfile() -> tuple[str, list[str]]:
    text = (ROOT / "Dockerfile").read_text()
    cache_dir = re.search(r"NUMBA_CACHE_DIR=(\S+)", text).group(1)
    build = next(line for line in text.splitlines() if line.startswith("RUN conduit build "))
    return cache_dir, shlex.split(build[len("RUN "):])


def _tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(folder.rglob("*"))}


def _chmod_tree(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_the_manifest_is_what_this_test_runs():
    pod, container = _container()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "the scratch volume the cache copy lives in"
    cache_dir, build = _dockerfile()
    assert build[:3] == ["conduit", "build", container["args"][2]]
    assert build[build.index("--cache") + 1] == cache_dir


def _tbb_library_folder() -> str:
    """Where pip put TBB's shared libraries (the image: /usr/local/lib, on the loader's default path)."""
    try:
        from importlib.metadata import files

        paths = [p for p in files("tbb") or () if p.name.startswith("libtbb.so")]
    except Exception:  # noqa: BLE001 - not installed
        paths = []
    if not paths:
        pytest.skip("the Deployment runs --workers 2 with preloaded parallel kernels, which needs Numba's TBB "
                    "layer as the image has it (conduit[workers]); pip install tbb")
    return str(Path(paths[0].locate()).resolve().parent)


def test_the_deployment_starts_with_a_read_only_cache(tmp_path):
    tbb_lib = _tbb_library_folder()
    pod, container = _container()
    cache_dir, build = _dockerfile()
    cache = tmp_path / "image" / cache_dir.lstrip("/")
    scratch = tmp_path / "scratch"  # the emptyDir mounted at /tmp
    scratch.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]),
               PYTHONDONTWRITEBYTECODE="1",
               LD_LIBRARY_PATH=os.pathsep.join(filter(None, [tbb_lib, os.environ.get("LD_LIBRARY_PATH")])))
    build[build.index("--cache") + 1] = str(cache)
    built = subprocess.run([sys.executable, "-m", "conduit.cli", *build[1:]], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=1500)
    assert built.returncode == 0, built.stderr
    _chmod_tree(cache, writable=False)
    try:
        before = _tree(cache)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        args = list(container["args"])
        args[args.index("--host") + 1] = "127.0.0.1"
        args[args.index("--port") + 1] = str(port)
        pod_env = {e["name"]: e["value"].replace("/tmp", str(scratch)) for e in container.get("env", [])}
        run_env = {**env, **pod_env, "NUMBA_CACHE_DIR": str(cache), "TMPDIR": str(scratch)}
        server = subprocess.Popen([sys.executable, "-m", "conduit.cli", *args[1:]], cwd=ROOT, env=run_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        probe = container["startupProbe"]["httpGet"]["path"]
        try:
            deadline = time.monotonic() + 900
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the pod never became ready"
                time.sleep(1)
            assert httpx.get(f"http://127.0.0.1:{port}{container['livenessProbe']['httpGet']['path']}").status_code == 200
            answer = httpx.post(f"http://127.0.0.1:{port}/models/iris", json={"rows": [[5.1, 3.5, 1.4, 0.2]]})
            assert answer.json()["predictions"] == [0]
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=120)
        assert server.returncode == 0, stderr
        assert _tree(cache) == before, "the read-only cache changed"
        said = [line for line in stderr.splitlines() if "kernel cache" in line]
        assert said and all("covers the app: nothing compiled, nothing written" in line for line in said), stderr
    finally:
        _chmod_tree(cache, writable=True)
