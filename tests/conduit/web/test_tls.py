"""HTTPS: the server behind trio's SSLStream, with a CA and certificate made by trustme, httpx verifying."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time

import httpx
import pytest
import trustme

from conduit import Conduit, LiveServer, Request, WebSocket
from conduit.server.tls import TLSConfigError, server_ssl_context
from conduit.server import ServerConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile, cafile = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(certfile)
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(certfile, append=True)
    cert.private_key_pem.write_to_path(keyfile)
    ca.cert_pem.write_to_path(cafile)
    return str(certfile), str(keyfile), str(cafile)


def make_app() -> Conduit:
    app = Conduit()

    @app.get("/hello")
    async def hello(request: Request):
        return {"scheme": request.scheme, "url": request.url}

    @app.post("/echo")
    async def echo(request: Request):
        return {"bytes": len(await request.body())}

    return app


def test_https_with_verification(certs):
    certfile, keyfile, cafile = certs
    with LiveServer(make_app(), ssl_certfile=certfile, ssl_keyfile=keyfile) as server:
        base = f"https://127.0.0.1:{server.port}"
        verify = ssl.create_default_context(cafile=cafile)
        with httpx.Client(base_url=base, verify=verify) as client:
            assert client.get("/hello").json() == {"scheme": "https", "url": "https://127.0.0.1:%d/hello" % server.port}
            assert client.post("/echo", content=b"x" * 300_000).json() == {"bytes": 300_000}
            assert client.get("/hello").status_code == 200  # keep-alive over TLS
        # a client that does not trust the CA is refused, and the server keeps serving
        with pytest.raises(httpx.ConnectError):
            httpx.get(base + "/hello")
        # plain HTTP to the TLS port fails the handshake; still serving afterwards
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            raw.sendall(b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n")
            raw.settimeout(10)
            try:
                raw.recv(100)
            except (ConnectionResetError, socket.timeout):
                pass
        assert httpx.get(base + "/hello", verify=verify).json()["scheme"] == "https"


def test_bad_certificate_files_fail_at_startup(tmp_path, certs):
    certfile, keyfile, _ = certs
    with pytest.raises(TLSConfigError, match="not found"):
        server_ssl_context(ServerConfig(ssl_certfile=str(tmp_path / "nope.pem"), ssl_keyfile=keyfile))
    with pytest.raises(TLSConfigError, match="without ssl_certfile"):
        server_ssl_context(ServerConfig(ssl_keyfile=keyfile))
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(TLSConfigError, match="junk.pem is not a PEM certificate"):
        server_ssl_context(ServerConfig(ssl_certfile=str(tmp_path / "junk.pem"), ssl_keyfile=keyfile))


def test_cli_run_with_ssl_flags(certs):
    certfile, keyfile, cafile = certs
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "kernels")]))
    process = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "examples.hello:app", "--port", str(port),
                                "--ssl-certfile", certfile, "--ssl-keyfile", keyfile, "--log-level", "warning"],
                               cwd=ROOT, env=env)
    try:
        verify = ssl.create_default_context(cafile=cafile)
        for _ in range(600):
            try:
                response = httpx.get(f"https://127.0.0.1:{port}/", verify=verify, timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError("conduit run exited")
                time.sleep(0.1)
        assert response.text == "Hello, world!"
    finally:
        process.terminate()
        process.wait(30)


def test_websocket_over_tls(certs):
    from websockets.sync.client import connect

    certfile, keyfile, cafile = certs
    app = Conduit()

    @app.websocket("/ws")
    async def echo(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())

    with LiveServer(app, ssl_certfile=certfile, ssl_keyfile=keyfile) as server:
        with connect(f"wss://127.0.0.1:{server.port}/ws", ssl=ssl.create_default_context(cafile=cafile)) as ws:
            ws.send("secure")
            assert ws.recv() == "secure"
