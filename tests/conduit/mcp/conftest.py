"""Shared fixtures for the MCP tests: the everything example, schema validators."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "tests" / "data" / "mcp"  # the official schemas, vendored (tests/data/README.md)


def load_example(name: str) -> Any:
    """Import examples/mcp/<name>.py as a fresh module (examples are not a package)."""
    path = ROOT / "examples" / "mcp" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mcp_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def everything() -> Any:
    return load_example("everything")


class SchemaChecker:
    """Validates server messages against the official JSON schema of a revision."""

    def __init__(self, version: str) -> None:
        import jsonschema

        path = SCHEMAS / f"schema-{version}.json"
        self.schema = json.loads(path.read_text())
        self._jsonschema = jsonschema
        self._validators: dict[str, Any] = {}

    def check(self, definition: str, instance: Any) -> None:
        validator = self._validators.get(definition)
        if validator is None:
            sub = {"$ref": f"#/$defs/{definition}", "$defs": self.schema["$defs"]}
            validator = self._validators[definition] = self._jsonschema.Draft202012Validator(sub)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{definition}: {errors[0].message} at {list(errors[0].path)}"


@pytest.fixture(scope="session")
def schema_2025() -> SchemaChecker:
    return SchemaChecker("2025-11-25")


@pytest.fixture(scope="session")
def schema_2026() -> SchemaChecker:
    return SchemaChecker("2026-07-28")


@pytest.fixture
def load_mcp_example():
    """``load_mcp_example("filesystem")`` imports an example afresh (after env changes)."""
    return load_example


@pytest.fixture(scope="module")
def two_servers(redis_client):
    """Two ``conduit mcp examples.mcp.everything:mcp --http`` processes sharing one redis-server.

    Yields their base URLs; each process runs with ``--session-store redis://...``.
    """
    import os
    import socket
    import subprocess
    import time

    import httpx

    redis_port = redis_client.connection_pool.connection_kwargs["port"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    procs, urls = [], []
    try:
        for _ in range(2):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "conduit.mcp.cli", "examples.mcp.everything:mcp", "--http", "--port", str(port),
                 "--session-store", f"redis://127.0.0.1:{redis_port}/0"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}")
        for proc, url in zip(procs, urls):
            for _ in range(1200):
                try:
                    httpx.get(url + "/none", timeout=1)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, "server process exited during startup"
                    time.sleep(0.05)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _load_peers() -> Any:
    path = ROOT / "tests" / "conduit" / "mcp" / "peers" / "launch.py"
    spec = importlib.util.spec_from_file_location("mcp_peer_launch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def peers() -> Any:
    """tests/conduit/mcp/peers/launch.py: ``stdio_command(kind)``, ``http_server(kind)``, ``env()``."""
    return _load_peers()
