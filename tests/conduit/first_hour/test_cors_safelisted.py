"""Issue 26, item 3: CORS preflights allow the CORS-safelisted request headers without configuration.

Before: ``Access-Control-Request-Headers: content-type`` got 403, so every browser JSON POST
failed under ``CORS(allow_origins=[...])``. After: Accept, Accept-Language, Content-Language and
Content-Type are always allowed (as Starlette does); any other header still needs ``allow_headers``.
"""

from __future__ import annotations

import httpx
import pytest

from conduit import CORS, Conduit, LiveServer

ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def url():
    app = Conduit()
    app.add_middleware(CORS, allow_origins=[ORIGIN])

    @app.post("/items")
    async def create(request) -> dict:
        return await request.json()

    with LiveServer(app) as live:
        yield live.url


def _preflight(url: str, headers: str) -> httpx.Response:
    return httpx.options(url + "/items", headers={"origin": ORIGIN, "access-control-request-method": "POST",
                                                  "access-control-request-headers": headers})


@pytest.mark.parametrize("headers", ["content-type", "Content-Type", "accept, accept-language, content-language",
                                     "content-type,accept"])
def test_preflight_with_content_type_is_allowed(url, headers):
    response = _preflight(url, headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert allowed == {h.strip().lower() for h in headers.split(",")}


def test_other_headers_still_need_configuration(url):
    assert _preflight(url, "content-type, x-api-key").status_code == 403
    assert _preflight(url, "authorization").status_code == 403


def test_the_json_post_then_goes_through(url):
    response = httpx.post(url + "/items", json={"a": 1}, headers={"origin": ORIGIN})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == ORIGIN
