"""Issue 26, item 5: upload routes default to a 50 MiB body spooled to disk; every 413 names its option.

Before: a 2 MB upload to a ``File(...)`` route was 413 under the 1 MiB default and the message did not
say how to raise it. After: routes taking ``File``/``UploadFile`` get 50 MiB (the form parser spools
to disk past ``spool_max_size``), other routes keep 1 MiB, and each 413 names ``max_body_size=``,
``--max-body-size`` or the ``FormLimits`` field.
"""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest

from conduit import Conduit, File, LiveServer, UploadFile
from conduit.forms import FormLimits
from conduit.routing.options import UPLOAD_MAX_BODY_SIZE

TWO_MB = b"x" * (2 * 1024 * 1024)


@pytest.fixture(scope="module")
def url():
    app = Conduit()

    @app.post("/upload")
    async def upload(file: Annotated[UploadFile, File()]) -> dict:
        data = await file.read()
        return {"bytes": len(data), "on_disk": file.on_disk}

    @app.post("/small-upload", max_body_size=1000)
    async def small_upload(file: Annotated[UploadFile, File()]) -> dict:
        return {"bytes": len(await file.read())}

    @app.post("/form-limited", form_limits=FormLimits(max_file_size=100))
    async def form_limited(file: Annotated[UploadFile, File()]) -> dict:
        return {"bytes": len(await file.read())}

    @app.post("/json")
    async def json_body(payload: dict) -> dict:
        return {"keys": len(payload)}

    with LiveServer(app) as live:
        yield live.url


def test_two_megabyte_upload_is_accepted_and_spooled_to_disk(url):
    response = httpx.post(url + "/upload", files={"file": ("big.bin", TWO_MB)}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"bytes": len(TWO_MB), "on_disk": True}


def test_other_routes_keep_one_megabyte_and_the_413_names_the_options(url):
    response = httpx.post(url + "/json", content=b'{"a": "' + TWO_MB + b'"}',
                          headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 413
    detail = response.json()["error"]["detail"]
    assert "1048576" in detail and "max_body_size=" in detail and "--max-body-size" in detail


def test_an_explicit_route_limit_wins_over_the_upload_default(url):
    response = httpx.post(url + "/small-upload", files={"file": ("f", b"y" * 5000)}, timeout=60)
    assert response.status_code == 413 and "max_body_size=" in response.json()["error"]["detail"]


def test_form_limit_413_names_the_form_limit(url):
    response = httpx.post(url + "/form-limited", files={"file": ("f", b"z" * 500)}, timeout=60)
    assert response.status_code == 413
    assert "FormLimits(max_file_size=...)" in response.json()["error"]["detail"]


def test_chunked_body_413_names_the_options_too(url):
    def chunks():
        for _ in range(3):
            yield b"a" * (512 * 1024)

    response = httpx.post(url + "/json", content=chunks(), headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 413 and "max_body_size=" in response.json()["error"]["detail"]


def test_the_upload_default_is_fifty_mebibytes_on_the_route():
    app = Conduit()

    @app.post("/u")
    async def u(file: Annotated[UploadFile, File()]) -> dict:
        return {}

    @app.post("/j")
    async def j(payload: dict) -> dict:
        return {}

    options = {r.pattern: r.options for r in app.router.routes}
    assert options["/u"]["max_body_size"] == UPLOAD_MAX_BODY_SIZE == 50 * 1024 * 1024
    assert "max_body_size" not in options["/j"]


def test_statistics_without_the_metrics_middleware_says_what_to_install():
    """Issue 26, item 5: before, ``app.statistics()`` silently returned zeros; now it raises saying what to do."""
    from conduit import TestClient
    from conduit.observability import install

    app = Conduit()
    app.get("/x")(lambda: {"a": 1})
    with pytest.raises(RuntimeError, match=r"conduit.observability.install\(app\)"):
        app.statistics()
    counted = Conduit()
    counted.get("/x")(lambda: {"a": 1})
    install(counted)
    with TestClient(counted) as client:
        client.get("/x")
    row = counted.statistics().route("GET", "/x")
    assert row is not None and row.count >= 1
