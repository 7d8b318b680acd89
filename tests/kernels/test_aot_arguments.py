"""The AOT kernels' argument checks: ``numba.pycc`` exports trust their caller (a wrong
dtype crashed the process when tried), so every wrong type, dtype, layout or span is a
clear error here, and the process lives on."""

from __future__ import annotations

import numpy as np
import pytest

from conduit_kernels.route_table import build_route_table
from conduit_kernels.routing import parse_pattern

HEAD = bytearray(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
OUT = np.zeros(8 + 4 * 16, np.int64)


@pytest.mark.parametrize("args, error, words", [
    ((bytes(HEAD), len(HEAD), OUT), TypeError, "bytearray"),
    (("GET / HTTP/1.1", 3, OUT), TypeError, "bytearray"),
    ((HEAD, len(HEAD) + 1, OUT), ValueError, "outside"),
    ((HEAD, -1, OUT), ValueError, "outside"),
    ((HEAD, len(HEAD), OUT.astype(np.int32)), TypeError, "int64"),
    ((HEAD, len(HEAD), OUT[::2]), TypeError, "contiguous"),
    ((HEAD, len(HEAD), OUT.reshape(2, -1)), TypeError, "1-d"),
    ((HEAD, len(HEAD), list(OUT)), TypeError, "numpy"),
    ((HEAD, len(HEAD), np.zeros(4, np.int64)), ValueError, "holds 4"),
])
def test_head_scanner_refuses_wrong_arguments(aot_kernels, args, error, words):
    with pytest.raises(error, match=words):
        aot_kernels.scan_request_head(*args)
    assert aot_kernels.scan_request_head(HEAD, len(HEAD), OUT) == len(HEAD)  # and still works


def test_chunk_decoder_refuses_wrong_arguments(aot_kernels):
    body, state = bytearray(b"1\r\na\r\n0\r\n\r\n"), np.zeros(8, np.int64)
    state[4] = state[5] = 1 << 20
    with pytest.raises(ValueError, match="holds 3"):
        aot_kernels.decode_chunked(body, 0, len(body), np.empty(3, np.uint8), state)
    with pytest.raises(ValueError, match="outside"):
        aot_kernels.decode_chunked(body, 5, 2, np.empty(20, np.uint8), state)
    with pytest.raises(TypeError, match="state"):
        aot_kernels.decode_chunked(body, 0, len(body), np.empty(20, np.uint8), state.astype(np.float64))
    with pytest.raises(TypeError, match="bytearray"):
        aot_kernels.decode_chunked(bytes(body), 0, len(body), np.empty(20, np.uint8), state)
    out = np.empty(len(body), np.uint8)
    assert aot_kernels.decode_chunked(body, 0, len(body), out, state) == len(body)
    assert out[:state[2]].tobytes() == b"a"


def test_route_matcher_takes_bytes_like_paths_and_refuses_wrong_arrays(aot_kernels):
    table = build_route_table([(["GET"], parse_pattern("/users/{id:int}"))])
    work = table.new_work()
    for path in (b"/users/7", bytearray(b"/users/7"), memoryview(b"/users/7"), np.frombuffer(b"/users/7", np.uint8)):
        assert aot_kernels.match_route(table.table, path, 0, work)[0] == 0
    with pytest.raises(TypeError):
        aot_kernels.match_route(table.table, "/users/7", 0, work)
    with pytest.raises(TypeError, match="table"):
        aot_kernels.match_route(table.table.astype(np.int64), b"/users/7", 0, work)
    with pytest.raises(TypeError, match="work"):
        aot_kernels.match_route(table.table, b"/users/7", 0, work.astype(np.int32))
