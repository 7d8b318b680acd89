"""Files, static directories, redirects and cookies over real sockets, driven by httpx and raw sockets."""

from __future__ import annotations

import os
import socket
from email.utils import formatdate

import httpx
import pytest

from conduit import Conduit, FileResponse, LiveServer, RedirectResponse, Request, Response, StaticFiles
from conduit.http.cookies import parse_cookies, set_cookie_header
from conduit.http.files import parse_range

BIG = bytes(range(256)) * 1024  # 256 KiB: several chunks


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("web")
    root = base / "static"
    (root / "docs").mkdir(parents=True)
    (root / "hello.txt").write_text("hello static\n")
    (root / "big.bin").write_bytes(BIG)
    (root / "style.css").write_text("body{}")
    (root / "index.html").write_text("<h1>root index</h1>")
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "empty").mkdir()
    (base / "secret.txt").write_text("TOP SECRET")
    os.symlink(base / "secret.txt", root / "leak.txt")
    os.symlink(root / "hello.txt", root / "inside-link.txt")
    return base


@pytest.fixture(scope="module")
def server(tree):
    app = Conduit()
    app.mount("/static", StaticFiles(directory=tree / "static"))

    @app.get("/download")
    async def download():
        return FileResponse(tree / "static" / "big.bin", filename="résumé data.bin")

    @app.get("/missing")
    async def missing():
        return FileResponse(tree / "nope.txt")

    @app.get("/go")
    async def go():
        return RedirectResponse("/static/hello.txt")

    @app.get("/go-permanent")
    async def go_permanent():
        return RedirectResponse("https://example.com/a b?x=1", status_code=301)

    @app.get("/login")
    async def login():
        response = Response("ok")
        response.set_cookie("session", "abc123", max_age=3600, httponly=True, secure=True, samesite="strict")
        response.set_cookie("theme", "dark")
        return response

    @app.get("/logout")
    async def logout():
        response = Response("bye")
        response.delete_cookie("session")
        return response

    @app.get("/whoami")
    async def whoami(request: Request):
        return request.cookies

    @app.get("/bad-cookie")
    async def bad_cookie():
        Response().set_cookie("x", "a;b")

    with LiveServer(app) as live:
        yield live


def raw_get(server, target: bytes) -> bytes:
    """Send a request line verbatim (httpx would normalise '..' away)."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


# ---------------------------------------------------------------- FileResponse


def test_file_streams_whole_body_with_validators(client):
    response = client.get("/download")
    assert response.status_code == 200
    assert response.content == BIG
    assert response.headers["content-length"] == str(len(BIG))  # a known size is declared (issue 21)
    assert "transfer-encoding" not in response.headers
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"')
    assert "last-modified" in response.headers
    assert response.headers["content-type"] == "application/octet-stream"
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20data.bin" in response.headers["content-disposition"]


def test_if_none_match_gives_304(client):
    etag = client.get("/download").headers["etag"]
    response = client.get("/download", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert client.get("/download", headers={"if-none-match": '"other"'}).status_code == 200
    assert client.get("/download", headers={"if-none-match": f'W/{etag}, "x"'}).status_code == 304


def test_if_modified_since(client):
    last_modified = client.get("/download").headers["last-modified"]
    assert client.get("/download", headers={"if-modified-since": last_modified}).status_code == 304
    long_ago = formatdate(0, usegmt=True)
    assert client.get("/download", headers={"if-modified-since": long_ago}).status_code == 200
    assert client.get("/download", headers={"if-modified-since": "not a date"}).status_code == 200


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-9", 0, 9),
    ("bytes=1000-", 1000, len(BIG) - 1),
    ("bytes=-100", len(BIG) - 100, len(BIG) - 1),
    ("bytes=70000-70000", 70000, 70000),
    ("bytes=100-999999999", 100, len(BIG) - 1),
])
def test_single_range_206(client, header, start, end):
    response = client.get("/download", headers={"range": header})
    assert response.status_code == 206
    assert response.content == BIG[start:end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(BIG)}"


def test_unsatisfiable_range_416(client):
    response = client.get("/download", headers={"range": f"bytes={len(BIG)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(BIG)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-1", "bytes=x-"])
def test_ignored_ranges_serve_whole_file(client, header):
    response = client.get("/download", headers={"range": header})
    assert response.status_code == 200
    assert response.content == BIG


def test_if_range(client):
    etag = client.get("/download").headers["etag"]
    assert client.get("/download", headers={"range": "bytes=0-1", "if-range": etag}).status_code == 206
    assert client.get("/download", headers={"range": "bytes=0-1", "if-range": '"stale"'}).status_code == 200


def test_head_sends_no_body(client):
    response = client.head("/download")
    assert response.status_code == 200
    assert response.content == b""
    assert "etag" in response.headers


def test_missing_file_is_404_and_server_keeps_serving(client):
    assert client.get("/missing").status_code == 404
    assert client.get("/download", headers={"range": "bytes=0-0"}).content == BIG[:1]


def test_parse_range_table():
    assert parse_range("bytes=0-0", 1) == (0, 0)
    assert parse_range("bytes=-5", 3) == (0, 2)
    assert parse_range("bytes=-0", 3) == "unsatisfiable"
    assert parse_range("bytes=0-", 0) == "unsatisfiable"
    assert parse_range("bytes=", 10) is None
    assert parse_range("bytes=-", 10) is None


# ---------------------------------------------------------------- StaticFiles


def test_static_file_and_content_types(client):
    response = client.get("/static/hello.txt")
    assert response.status_code == 200
    assert response.text == "hello static\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


def test_static_index_files_and_directory_redirect(client):
    assert client.get("/static/").text == "<h1>root index</h1>"
    assert client.get("/static/docs/").text == "<h1>docs</h1>"
    response = client.get("/static/docs")
    assert response.status_code == 308
    assert response.headers["location"] == "/static/docs/"
    assert client.get("/static/empty/").status_code == 404


def test_static_missing_is_404(client):
    assert client.get("/static/nope.txt").status_code == 404
    assert client.post("/static/hello.txt").status_code == 405


def test_static_symlinks(client):
    assert client.get("/static/leak.txt").status_code == 404
    assert client.get("/static/inside-link.txt").text == "hello static\n"


@pytest.mark.parametrize("target", [
    b"/static/../secret.txt",
    b"/static/docs/../../secret.txt",
    b"/static/%2e%2e/secret.txt",
    b"/static/%2E%2E%2Fsecret.txt",
    b"/static/docs/%2e%2e%2f%2e%2e%2fsecret.txt",
    b"/static/..%5csecret.txt",
    b"/static/%00hello.txt",
])
def test_static_traversal_refused(server, target):
    data = raw_get(server, target)
    assert b"TOP SECRET" not in data
    assert data.startswith((b"HTTP/1.1 404", b"HTTP/1.1 400"))


def test_static_conditional_requests(client):
    etag = client.get("/static/hello.txt").headers["etag"]
    assert client.get("/static/hello.txt", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/static/hello.txt", headers={"range": "bytes=0-4"}).text == "hello"


def test_static_missing_directory_fails_at_construction(tmp_path):
    with pytest.raises(RuntimeError, match="does not exist"):
        StaticFiles(directory=tmp_path / "absent")


def test_mount_path_rules(tmp_path):
    app = Conduit()
    with pytest.raises(ValueError, match="shadow"):
        app.mount("/", StaticFiles(directory=tmp_path))
    with pytest.raises(TypeError, match="cannot mount"):
        app.mount("/x", object())


# ---------------------------------------------------------------- redirects


def test_redirect_307_default(client):
    response = client.get("/go")
    assert response.status_code == 307
    assert response.headers["location"] == "/static/hello.txt"
    assert client.get("/go", follow_redirects=True).text == "hello static\n"


def test_redirect_escapes_location(client):
    response = client.get("/go-permanent")
    assert response.status_code == 301
    assert response.headers["location"] == "https://example.com/a%20b?x=1"


def test_redirect_refuses_non_redirect_status():
    with pytest.raises(ValueError, match="redirect status"):
        RedirectResponse("/", status_code=200)


# ---------------------------------------------------------------- cookies


def test_set_cookie_attributes(client):
    response = client.get("/login")
    cookies = response.headers.get_list("set-cookie")
    assert cookies[0] == "session=abc123; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Strict"
    assert cookies[1] == "theme=dark; Path=/; SameSite=Lax"


def test_request_cookies_round_trip(client):
    response = client.get("/whoami", headers={"cookie": 'theme=dark; session="abc"; broken; =x'})
    assert response.json() == {"theme": "dark", "session": "abc"}


def test_delete_cookie(client):
    header = client.get("/logout").headers["set-cookie"]
    assert header.startswith("session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/")


def test_invalid_cookie_value_is_500_not_a_broken_header(client):
    assert client.get("/bad-cookie").status_code == 500
    assert client.get("/whoami").status_code == 200


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"key": "a b"}, "token"),
    ({"key": "a", "value": "x,y"}, "forbids"),
    ({"key": "a", "value": 'q"'}, "forbids"),
    ({"key": "a", "samesite": "none"}, "secure"),
    ({"key": "a", "samesite": "loose"}, "samesite"),
    ({"key": "a", "max_age": "10"}, "max_age"),
    ({"key": "a", "path": "/;x"}, "path"),
])
def test_set_cookie_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        set_cookie_header(**kwargs)


def test_parse_cookies_first_wins():
    assert parse_cookies(["a=1; a=2", "b=3"]) == {"a": "1", "b": "3"}
