"""Sans-IO objects: headers, query params, responses and SSE encoding (bytes in, objects out)."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pytest

from conduit import EventSourceResponse, Headers, JSONResponse, QueryParams, Request, Response
from conduit.http.sse import encode_event


def test_headers_are_case_insensitive_and_multi_valued():
    headers = Headers([(b"accept", b"a"), (b"x-tag", b"1"), (b"x-tag", b"2")])
    assert headers["Accept"] == "a"
    assert headers.getlist("X-TAG") == ["1", "2"]
    assert "x-Tag" in headers and "missing" not in headers
    assert headers.get("missing", "d") == "d"
    assert len(headers) == 2


def test_query_params_multi_valued():
    query = QueryParams(b"a=1&a=2&b=&c=%20x")
    assert query.getlist("a") == ["1", "2"]
    assert query["a"] == "2"
    assert query["b"] == ""
    assert query["c"] == " x"
    assert query.get("zz") is None


@pytest.mark.parametrize("raw,decoded", [(b"/a%20b", "/a b"), (b"/caf%C3%A9", "/café"), (b"/x%2Fy", "/x/y")])
def test_request_path_is_decoded(raw, decoded):
    assert Request("GET", raw).path == decoded


def test_json_response_serializes_numpy_dataclasses_and_dates():
    @dataclasses.dataclass
    class Point:
        x: int
        y: float

    content = {"array": np.arange(3, dtype=np.int32), "scalar": np.float32(1.5), "f64": np.float64(2.0),
               "matrix": np.ones((2, 2))[:, :1], "point": Point(1, 2.5),
               "when": datetime.date(2026, 11, 27), "set": {3, 1}}
    body = JSONResponse(content).body
    assert body == (b'{"array":[0,1,2],"scalar":1.5,"f64":2.0,"matrix":[[1.0],[1.0]],'
                    b'"point":{"x":1,"y":2.5},"when":"2026-11-27","set":[1,3]}')


def test_json_response_rejects_unknown_objects():
    with pytest.raises(TypeError, match="not JSON serializable"):
        JSONResponse({"x": object()})


def test_response_content_types():
    assert Response("é").body == "é".encode()
    with pytest.raises(TypeError, match="must be bytes or str"):
        Response(42)


@pytest.mark.parametrize("item,expected", [
    ("hello", b"data: hello\n\n"),
    ("two\nlines", b"data: two\ndata: lines\n\n"),
    ({"data": {"a": 1}, "event": "update", "id": 7, "retry": 1000},
     b'event: update\nid: 7\nretry: 1000\ndata: {"a":1}\n\n'),
    ({"comment": "keep"}, b": keep\n\n"),
    ({"data": ""}, b"data: \n\n"),
])
def test_sse_encoding(item, expected):
    assert encode_event(item) == expected


@pytest.mark.parametrize("item,error", [
    ({"event": "a\nb"}, "must be one line"),
    ({"nope": 1}, "unknown SSE event fields"),
    (42, "must be a str or a dict"),
])
def test_sse_encoding_rejects_bad_events(item, error):
    with pytest.raises((ValueError, TypeError), match=error):
        encode_event(item)


def test_event_source_response_headers():
    response = EventSourceResponse(iter(["a"]))
    assert response.get_header("content-type").startswith("text/event-stream")
    assert response.get_header("cache-control") == "no-cache"
    with pytest.raises(TypeError):
        EventSourceResponse("not an iterator of events")
