"""FileResponse on the wire: Content-Length (HEAD included), sendfile, and a file that shrinks mid-send.

A file of known size is declared with ``Content-Length``, so a client can tell a
whole body from a cut one; when the file shrinks while it streams, the server
aborts the connection instead of ending the body cleanly (issue 21: it used to
send a clean terminating chunk). On a plain socket the body goes by ``os.sendfile``;
under TLS it is read in chunks, with the same framing and the same abort.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from unittest import mock

import httpx
import pytest
import trustme

from conduit import Conduit, FileResponse, LiveServer, TestClient

SIZE = 48 * 1024 * 1024  # well past the socket buffers: the server is mid-send when the file shrinks


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    small = folder / "small.bin"
    small.write_bytes(bytes(range(256)) * 40)
    return folder


def make_app(folder) -> Conduit:
    app = Conduit()

    @app.get("/file/{name}")
    async def file(name: str):
        return FileResponse(folder / name)

    @app.get("/shrunk/{name}")
    async def shrunk(name: str):
        response = FileResponse(folder / name)  # its size is taken here...
        os.truncate(folder / name, 1000)  # ...and the file shrinks before a byte is sent
        return response

    return app


def _big(folder, name: str):
    path = folder / name
    with open(path, "wb") as f:
        f.truncate(SIZE)  # a sparse file: no disk written
    return path


def test_file_response_declares_content_length_on_get_head_and_range(files):
    body = (files / "small.bin").read_bytes()
    with LiveServer(make_app(files)) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            whole = client.get("/file/small.bin")
            assert whole.content == body
            assert whole.headers["content-length"] == str(len(body))
            assert "transfer-encoding" not in whole.headers
            head = client.head("/file/small.bin")
            assert head.headers["content-length"] == str(len(body)) and head.content == b""
            part = client.get("/file/small.bin", headers={"range": "bytes=100-299"})
            assert part.status_code == 206
            assert part.headers["content-length"] == "200" and part.content == body[100:300]
            assert client.get("/file/small.bin").content == body  # the keep-alive connection still serves


def test_file_response_uses_sendfile_on_a_plain_socket(files):
    with mock.patch.object(os, "sendfile", wraps=os.sendfile) as spy:
        with LiveServer(make_app(files)) as server:
            response = httpx.get(server.url + "/file/small.bin", headers={"range": "bytes=10-19"}, timeout=30)
    assert response.content == (files / "small.bin").read_bytes()[10:20]
    assert spy.call_count >= 1
    assert spy.call_args.args[2:] == (10, 10)  # (offset, count) of the range


def _read_while_shrinking(client: httpx.Client, url: str, path) -> int:
    """Start a download, shrink the file under it, read on; the bytes received before the error."""
    received = 0
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with client.stream("GET", url) as response:
            assert response.headers["content-length"] == str(SIZE)
            for chunk in response.iter_raw(64 * 1024):
                received += len(chunk)
                if received >= 256 * 1024 and os.path.getsize(path) == SIZE:
                    os.truncate(path, 1024 * 1024)
    return received


def test_file_truncated_while_streaming_aborts_the_connection(files):
    path = _big(files, "shrinks.bin")
    with LiveServer(make_app(files)) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert _read_while_shrinking(client, "/file/shrinks.bin", path) < SIZE
        assert httpx.get(server.url + "/file/small.bin", timeout=30).status_code == 200  # still serving


def test_file_truncated_while_streaming_under_tls_aborts_the_connection(files):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = files / "cert.pem", files / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(certfile)
    cert.private_key_pem.write_to_path(keyfile)
    path = _big(files, "shrinks-tls.bin")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with LiveServer(make_app(files), ssl_certfile=str(certfile), ssl_keyfile=str(keyfile)) as server:
        with httpx.Client(base_url=f"https://127.0.0.1:{server.port}", verify=context, timeout=30) as client:
            assert client.head("/file/small.bin").headers["content-length"] == "10240"
            assert _read_while_shrinking(client, "/file/shrinks-tls.bin", path) < SIZE


def test_file_truncated_before_sending_is_an_error_in_testclient_and_on_a_socket(files):
    # TestClient collects a body whole, so the file shrinks between the handler's stat and the send.
    _big(files, "shrunk.bin")
    with TestClient(make_app(files)) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.get("/shrunk/shrunk.bin")
        assert client.get("/file/small.bin").status_code == 200
    _big(files, "shrunk.bin")
    with LiveServer(make_app(files)) as server:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            httpx.get(server.url + "/shrunk/shrunk.bin", timeout=30)


def test_file_response_under_uvicorn_declares_its_length_and_a_shrunk_file_is_an_error(files):
    here = os.path.dirname(__file__)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, FILES_DIR=str(files),
               PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "_file_app:app", "--host", "127.0.0.1",
                                "--port", str(port), "--log-level", "critical"], env=env, cwd=here)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                httpx.get(url + "/file/small.bin", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "uvicorn exited"
                time.sleep(0.1)
        assert httpx.get(url + "/file/small.bin", timeout=30).headers["content-length"] == "10240"
        assert httpx.head(url + "/file/small.bin", timeout=30).headers["content-length"] == "10240"
        _big(files, "shrunk-asgi.bin")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            httpx.get(url + "/shrunk/shrunk-asgi.bin", timeout=30)
    finally:
        process.terminate()
        process.wait(30)


def test_a_stream_that_breaks_its_declared_length_aborts_the_connection():
    from conduit import StreamingResponse

    class Declared(StreamingResponse):
        content_length = 10

    app = Conduit()

    @app.get("/short")
    async def short():
        return Declared(iter([b"12345"]))

    @app.get("/long")
    async def long():
        return Declared(iter([b"123456789", b"0123"]))

    with LiveServer(app) as server:
        for path in ("/short", "/long"):
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                httpx.get(server.url + path, timeout=30)
        assert httpx.head(server.url + "/short", timeout=30).headers["content-length"] == "10"
