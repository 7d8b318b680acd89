"""Uploads live until the response is sent, then are closed and their temp files removed.

Over a real socket to the native server (in this process, so the test can look at the
server's open files in /proc/self/fd): a handler that streams its upload back still
reads it after returning; once the response is sent the UploadFile is closed and its
spooled temp file is gone; a client that disconnects mid-upload leaves no temp file.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

import httpx
import pytest
import trio

from conduit import Conduit, FormLimits, StreamingResponse, UploadFile

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counting the temporary files an upload leaves open needs /proc/self/fd (Linux)")

uploads: list[UploadFile] = []
at_return: list[bool] = []
release = threading.Event()  # the test lets the stream finish once it has looked mid-response
SPOOL = FormLimits(spool_max_size=16)  # anything larger rolls over to a file on disk


def make_app() -> Conduit:
    app = Conduit()

    @app.post("/stream-back", form_limits=SPOOL)
    async def stream_back(file: UploadFile):
        uploads.append(file)
        await file.seek(0)

        async def chunks():
            yield await file.read(1000)
            await trio.to_thread.run_sync(release.wait, 30)
            while chunk := await file.read(1000):
                yield chunk

        at_return.append(file.closed)
        return StreamingResponse(chunks(), media_type="application/octet-stream")

    @app.get("/alive")
    async def alive():
        return "yes"

    return app


def deleted_temp_files() -> int:
    """Open descriptors of this process on unlinked files in the temp directory (spooled uploads)."""
    count, root = 0, tempfile.gettempdir()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(root) and target.endswith("(deleted)"):
            count += 1
    return count


def wait_for(condition) -> bool:
    for _ in range(200):
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_upload_open_while_streaming_closed_after_send(server, client):
    baseline = deleted_temp_files()
    content = bytes(range(256)) * 40
    with client.stream("POST", "/stream-back", files={"file": ("data.bin", content)}, timeout=30) as response:
        body = response.iter_bytes()
        first = next(body)
        assert not uploads[-1].closed and uploads[-1].on_disk  # mid-response: still open, on disk
        assert deleted_temp_files() > baseline
        release.set()
        rest = b"".join(body)
    assert response.status_code == 200 and first + rest == content
    assert at_return == [False]  # still open when the handler returned: the response read it afterwards
    assert wait_for(lambda: uploads[-1].closed)
    assert wait_for(lambda: deleted_temp_files() == baseline)


def test_client_disconnect_mid_upload_removes_the_temp_file(server, client):
    baseline = deleted_temp_files()
    boundary = "b0undary"
    preamble = (f"--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
                "content-type: application/octet-stream\r\n\r\n").encode()
    head = (f"POST /stream-back HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            f"content-type: multipart/form-data; boundary={boundary}\r\ncontent-length: {400_000}\r\n\r\n")
    host, port = httpx.URL(server.url).host, httpx.URL(server.url).port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head.encode() + preamble + b"x" * 200_000)
        assert wait_for(lambda: deleted_temp_files() > baseline)  # the part is spooling to disk
    assert wait_for(lambda: deleted_temp_files() == baseline)
    assert client.get("/alive").text == "yes"
