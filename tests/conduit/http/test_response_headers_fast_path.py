"""A Response built without headers gets the same headers as one built with them (issue 22 fast path)."""

from __future__ import annotations

import pytest
import trio

from conduit.http import HTMLResponse, JSONResponse, PlainTextResponse, Response


class Latin1Text(PlainTextResponse):
    charset = "latin-1"


@pytest.mark.parametrize(("make", "expected"), [
    (lambda **kw: Response(b"x", **kw), []),
    (lambda **kw: Response(b"x", media_type="application/octet-stream", **kw),
     [("content-type", "application/octet-stream")]),
    (lambda **kw: PlainTextResponse("x", **kw), [("content-type", "text/plain; charset=utf-8")]),
    (lambda **kw: HTMLResponse("x", **kw), [("content-type", "text/html; charset=utf-8")]),
    (lambda **kw: Latin1Text("x", **kw), [("content-type", "text/plain; charset=latin-1")]),
    (lambda **kw: Response("x", media_type="text/csv; charset=ascii", **kw),
     [("content-type", "text/csv; charset=ascii")]),
    (lambda **kw: JSONResponse({"a": 1}, **kw), [("content-type", "application/json")]),
])
def test_no_headers_and_empty_headers_give_the_same_head(make, expected):
    assert make().headers == make(headers={}).headers == make(headers=[]).headers == expected


def test_a_handlers_content_type_is_kept_and_headers_are_per_response():
    response = PlainTextResponse("x", headers={"Content-Type": "text/x-custom"})
    assert response.headers == [("Content-Type", "text/x-custom")]
    first, second = PlainTextResponse("a"), PlainTextResponse("b")
    first.headers.append(("x-a", "1"))
    assert second.headers == [("content-type", "text/plain; charset=utf-8")]  # never a shared list


def test_after_send_work_still_runs_shielded_and_none_costs_no_scope():
    ran = []

    async def cleanup():
        await trio.sleep(0)
        ran.append(True)

    async def main():
        response = Response(b"x")
        await response.run_after_send()  # nothing to run
        response.after_send = (cleanup,)
        with trio.CancelScope() as scope:
            scope.cancel()
            await response.run_after_send()  # shielded: runs although the scope is cancelled
    trio.run(main)
    assert ran == [True]
