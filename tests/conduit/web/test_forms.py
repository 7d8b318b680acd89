"""Forms and uploads over real sockets with httpx: binding, limits, 415, cleanup, OpenAPI."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Annotated

import httpx
import pytest
from openapi_spec_validator import validate

from conduit import Conduit, File, Form, FormLimits, LiveServer, Request, UploadFile

seen_uploads: list[UploadFile] = []


@dataclass
class Item:
    name: str


def make_app() -> Conduit:
    app = Conduit()

    @app.post("/login")
    async def login(username: str = Form(...), password: Annotated[str, Form(min_length=3)] = Form(...),
                    remember: bool = Form(False)):
        return {"username": username, "remember": remember, "length": len(password)}

    @app.post("/tags")
    async def tags(tag: list[str] = Form([])):
        return {"tags": tag}

    @app.post("/upload", max_body_size=50 * 1024 * 1024)
    async def upload(file: UploadFile, note: str = Form("")):
        seen_uploads.append(file)
        data = await file.read()
        await file.seek(0)
        again = await file.read(4)
        return {"filename": file.filename, "content_type": file.content_type, "size": file.size,
                "read": len(data), "head": again.decode("latin-1"), "on_disk": file.on_disk, "note": note}

    @app.post("/many")
    async def many(files: list[UploadFile] = File(...)):
        return {"names": [f.filename for f in files], "sizes": [f.size for f in files]}

    @app.post("/limited", form_limits=FormLimits(max_parts=3, max_field_size=10, max_file_size=100,
                                                 max_total_size=2000, spool_max_size=10))
    async def limited(request: Request):
        form = await request.form()
        return {"keys": sorted(form)}

    @app.post("/raw-form")
    async def raw_form(request: Request):
        form = await request.form()
        return {k: (v if isinstance(v, str) else v.filename) for k, v in form.multi_items()}

    @app.post("/json")
    async def json_only(item: Item):
        return {"name": item.name}

    return app


def test_urlencoded_form_fields_bind(client):
    response = client.post("/login", data={"username": "ada", "password": "s3cret", "remember": "true"})
    assert response.json() == {"username": "ada", "remember": True, "length": 6}


def test_form_fields_in_multipart_too(client):
    response = client.post("/login", data={"username": "ada", "password": "s3cret"}, files={"x": ("a", b"1")})
    assert response.json()["username"] == "ada"


def test_missing_and_invalid_form_fields_422(client):
    response = client.post("/login", data={"password": "no"})
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["error"]["detail"]}
    assert locs == {("body", "username"), ("body", "password")}


def test_repeated_fields_to_list(client):
    assert client.post("/tags", data={"tag": ["a", "b"]}).json() == {"tags": ["a", "b"]}
    assert client.post("/tags", content=b"", headers={"content-type": "application/x-www-form-urlencoded"}).json() == {"tags": []}


def test_upload_small_stays_in_memory(client):
    response = client.post("/upload", files={"file": ("hello.txt", b"hello world", "text/plain")},
                           data={"note": "hi"})
    assert response.json() == {"filename": "hello.txt", "content_type": "text/plain", "size": 11, "read": 11,
                               "head": "hell", "on_disk": False, "note": "hi"}


def test_large_upload_spools_to_disk_and_is_closed_after(client):
    payload = bytes(range(256)) * 8192  # 2 MiB
    response = client.post("/upload", files={"file": ("big.bin", payload, "application/octet-stream")})
    body = response.json()
    assert body["size"] == len(payload) == body["read"]
    assert body["on_disk"] is True
    for _ in range(200):  # closed once the response is sent, just after the client has it
        if seen_uploads[-1].closed:
            break
        time.sleep(0.05)
    assert seen_uploads[-1].closed


def test_several_files(client):
    files = [("files", ("a.txt", b"aa")), ("files", ("b.txt", b"bbb"))]
    assert client.post("/many", files=files).json() == {"names": ["a.txt", "b.txt"], "sizes": [2, 3]}


def test_text_where_a_file_is_expected_is_422(client):
    response = client.post("/many", data={"files": "not a file"}, files={"other": ("x", b"1")})
    assert response.status_code == 422
    assert response.json()["error"]["detail"][0]["type"] == "file_expected"


def test_wrong_content_types_are_415(client):
    assert client.post("/upload", json={"file": "x"}).status_code == 415
    assert client.post("/upload", data={"file": "x"}).status_code == 415  # urlencoded cannot carry files
    assert client.post("/login", content=b"<x/>", headers={"content-type": "text/xml"}).status_code == 415
    # a multipart upload to a JSON endpoint
    response = client.post("/json", files={"file": ("a", b"1")})
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]["detail"]
    assert client.post("/json", json={"name": "ok"}).json() == {"name": "ok"}


@pytest.mark.parametrize(("kwargs", "limit"), [
    ({"data": {"a": "1", "b": "2", "c": "3", "d": "4"}, "files": {"f": ("f", b"x")}}, "max_parts=3"),
    ({"data": {"a": "x" * 11}, "files": {"f": ("f", b"x")}}, "max_field_size=10"),
    ({"files": {"f": ("f", b"x" * 101)}}, "max_file_size=100"),
    ({"data": {"a": "1", "b": "2"}, "files": {"f": ("f", b"x" * 99), "g": ("g", b"y" * 99)}}, "max_parts=3"),
])
def test_multipart_limits_413_naming_the_limit(client, kwargs, limit):
    response = client.post("/limited", **kwargs)
    assert response.status_code == 413
    assert limit in response.json()["error"]["detail"]


def test_total_size_limit(client):
    files = {"f": ("f", b"x" * 90)}
    data = {"a": "y" * 10}
    assert client.post("/limited", files=files, data=data).status_code == 200
    big = client.post("/limited", content=b"a=" + b"b" * 3000,
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413
    assert "max_total_size=2000" in big.json()["error"]["detail"]


def test_urlencoded_limits(client):
    response = client.post("/limited", data={"a": "1", "b": "2", "c": "3", "d": "4"})
    assert response.status_code == 413 and "max_parts=3" in response.json()["error"]["detail"]


def test_request_form_and_malformed_bodies(client):
    assert client.post("/raw-form", data={"a": "1"}, files={"f": ("n.txt", b"z")}).json() == {"a": "1", "f": "n.txt"}
    missing_boundary = client.post("/raw-form", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert missing_boundary.status_code == 400
    garbage = client.post("/raw-form", content=b"garbage without boundary",
                          headers={"content-type": "multipart/form-data; boundary=zzz"})
    assert garbage.status_code in (200, 400)  # python-multipart skips a preamble; never a 500
    assert client.post("/raw-form", content=b"{}", headers={"content-type": "application/json"}).status_code == 415


def test_disconnect_mid_upload_closes_spooled_files(server, client):
    before = len(seen_uploads)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nhost: t\r\ncontent-type: multipart/form-data; boundary=B\r\n"
                     b"content-length: 1000000\r\n\r\n--B\r\ncontent-disposition: form-data; name=\"file\"; "
                     b"filename=\"cut.bin\"\r\n\r\n" + b"x" * 5000)
    # the handler never ran, and the server still serves
    assert len(seen_uploads) == before
    assert client.post("/upload", files={"file": ("ok", b"1")}).status_code == 200


def test_openapi_documents_forms_and_files(client):
    document = client.get("/openapi.json").json()
    validate(document)
    login = document["paths"]["/login"]["post"]["requestBody"]
    schema = login["content"]["application/x-www-form-urlencoded"]["schema"]
    assert schema["required"] == ["username", "password"]
    assert schema["properties"]["password"]["minLength"] == 3
    upload = document["paths"]["/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["properties"]["file"] == {"type": "string", "format": "binary"}
    many = document["paths"]["/many"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert many["properties"]["files"] == {"type": "array", "items": {"type": "string", "format": "binary"}}


def test_file_marker_needs_uploadfile_annotation():
    from conduit import RouteError

    app = Conduit()
    with pytest.raises(RouteError, match="UploadFile"):
        app.add_route("/x", lambda f=File(...): None, ["POST"])

    async def both(item: Item, name: str = Form(...)): ...

    with pytest.raises(RouteError, match="not both"):
        app.add_route("/y", both, ["POST"])


def test_parser_closes_spooled_files_when_the_client_leaves(monkeypatch):
    import trio

    from conduit.forms import parser as parser_module
    from conduit.http.datastructures import Headers
    from conduit.http.request import ClientDisconnect

    made: list[UploadFile] = []

    class Recording(UploadFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(parser_module, "UploadFile", Recording)

    class HalfRequest:
        headers = Headers([(b"content-type", b"multipart/form-data; boundary=B")])

        async def stream(self):
            yield (b'--B\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n'
                   b'--B\r\ncontent-disposition: form-data; name="f"; filename="f"\r\n\r\n' + b"x" * 100)
            raise ClientDisconnect("gone")

    async def main():
        with pytest.raises(ClientDisconnect):
            await parser_module.parse_form(HalfRequest(), FormLimits(spool_max_size=10))

    trio.run(main)
    assert len(made) == 1 and made[0].on_disk and made[0].closed
