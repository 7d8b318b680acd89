"""Issue 26, item 4: ``--proxy-headers`` with ``--forwarded-allow-ips``, and ``conduit run --reload``.

Before: neither flag existed (X-Forwarded-* ignored; no reloader). After: the forwarding headers
are honoured only from the allowed addresses, as uvicorn does, and ``--reload`` restarts the
server when a watched .py file changes (watchfiles).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conduit import Conduit, ProxyHeaders, Request, TestClient

ROOT = Path(__file__).resolve().parents[3]


def _app() -> Conduit:
    app = Conduit()

    @app.get("/who")
    async def who(request: Request) -> dict:
        return {"client": request.client[0] if request.client else None, "scheme": request.scheme,
                "url": request.url}

    return app


def _request(proxy: ProxyHeaders, peer: str, headers: dict[str, str]) -> Request:
    from conduit.http.datastructures import Headers

    request = Request("GET", b"/who", headers=Headers.from_pairs([("host", "internal:8000"), *headers.items()]),
                      client=(peer, 5555))
    proxy.apply(request)
    return request


FORWARDED = {"x-forwarded-for": "203.0.113.7, 10.0.0.2", "x-forwarded-proto": "https",
             "x-forwarded-host": "api.example.com"}


def test_forwarding_headers_are_honoured_from_an_allowed_proxy():
    request = _request(ProxyHeaders("10.0.0.0/8"), "10.0.0.1", FORWARDED)
    assert request.client == ("203.0.113.7", 0)  # 10.0.0.2 is a trusted hop: skipped
    assert request.url == "https://api.example.com/who"


def test_forwarding_headers_are_ignored_from_anyone_else():
    request = _request(ProxyHeaders("127.0.0.1"), "198.51.100.9", FORWARDED)
    assert request.client == ("198.51.100.9", 5555)
    assert request.url == "http://internal:8000/who"


@pytest.mark.parametrize("headers,client,url", [
    ({"x-forwarded-for": "1.2.3.4, 5.6.7.8"}, "5.6.7.8", "http://internal:8000/who"),  # rightmost untrusted
    ({"x-forwarded-proto": "gopher"}, "127.0.0.1", "http://internal:8000/who"),       # not a scheme: ignored
    ({"x-forwarded-host": "evil.com/path?x"}, "127.0.0.1", "http://internal:8000/who"),  # not a host: ignored
    ({"x-forwarded-host": "a.com, b.com:8443"}, "127.0.0.1", "http://b.com:8443/who"),   # the nearest proxy's
    ({"x-forwarded-for": ""}, "127.0.0.1", "http://internal:8000/who"),
], ids=["spoofed-left-hop", "bad-proto", "bad-host", "host-list", "empty-for"])
def test_attacks_on_forwarding_headers(headers, client, url):
    request = _request(ProxyHeaders("127.0.0.1"), "127.0.0.1", headers)
    assert request.client[0] == client and request.url == url


def test_bad_allow_list_is_refused_by_name():
    with pytest.raises(ValueError, match="'10.0.0.300' is not an IP address or network"):
        ProxyHeaders("127.0.0.1, 10.0.0.300")


def test_proxy_headers_flag_over_a_real_socket(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT), str(ROOT / "kernels")]))
    (tmp_path / "proxied_app.py").write_text(
        "from conduit import Conduit, Request\napp = Conduit()\n"
        "@app.get('/who')\nasync def who(request: Request) -> dict:\n"
        "    return {'client': request.client[0], 'url': request.url}\n")
    server = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "proxied_app:app", "--port", str(port),
                               "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1,10.0.0.0/8"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        body = _wait_json(server, f"http://127.0.0.1:{port}/who", FORWARDED)
        assert body == {"client": "203.0.113.7", "url": "https://api.example.com/who"}
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def _wait_json(server: subprocess.Popen, url: str, headers: dict | None = None, deadline: float = 300) -> dict:
    end = time.monotonic() + deadline
    while True:
        try:
            return httpx.get(url, headers=headers, timeout=5).json()
        except httpx.TransportError:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < end
            time.sleep(0.2)


def test_reload_restarts_the_server_when_a_file_changes(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    module = tmp_path / "reloaded_app.py"
    module.write_text("from conduit import Conduit\napp = Conduit()\n"
                      "@app.get('/v')\nasync def v() -> dict:\n    return {'v': 1}\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT), str(ROOT / "kernels")]))
    server = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "reloaded_app:app", "--port", str(port),
                               "--reload", "--reload-dir", str(tmp_path)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert _wait_json(server, f"http://127.0.0.1:{port}/v") == {"v": 1}
        module.write_text(module.read_text().replace("{'v': 1}", "{'v': 2}"))
        end = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v", timeout=5).json() == {"v": 2}:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < end, "the server never reloaded"
            time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the reloader and its child: the group this test started
        _, stderr = server.communicate(timeout=60)
    assert "restarting" in stderr
