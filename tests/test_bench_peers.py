"""Issue 26, item 11: the Flask-on-gunicorn peer of the asv HTTP benchmarks serves the same endpoints.

The asv suite (asv_bench/benchmarks/http_server.py) measures every server of
``_servers.SERVERS`` on ``_servers.ENDPOINTS``; this runs the Flask row's own command line
and checks each endpoint answers as the Conduit row does, so the comparison is like for like.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("flask", reason="the WSGI peer needs the bench extra (flask, gunicorn)")
pytest.importorskip("gunicorn", reason="the WSGI peer needs the bench extra (flask, gunicorn)")


def _servers():
    spec = importlib.util.spec_from_file_location("asv_servers", ROOT / "asv_bench" / "benchmarks" / "_servers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["asv_servers"] = module
    spec.loader.exec_module(module)
    return module


def test_flask_gunicorn_sync_row_serves_every_endpoint():
    servers = _servers()
    assert "--worker-class" in servers.SERVERS["flask-gunicorn-sync"][0]
    server = servers.Server("flask-gunicorn-sync")
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(base + servers.ENDPOINTS["hello"]).text == "Hello, world!"
        assert httpx.get(base + servers.ENDPOINTS["json"]).json() == {"id": 42, "name": "user-42"}
        assert httpx.get(base + servers.ENDPOINTS["sync"]).text == "Hello, world!"
        assert httpx.post(base + "/upload", content=b"x" * 1000).json() == {"size": 1000}
    finally:
        server.stop()
