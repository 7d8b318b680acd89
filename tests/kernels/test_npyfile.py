"""load_npy: a .npy header is checked against the file before anything is allocated."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit_kernels.npyfile import load_npy


def write(path, header: dict, payload: bytes) -> None:
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(payload)


@pytest.mark.parametrize("mmap_mode", [None, "r", "c"])
@pytest.mark.parametrize("array", [np.arange(12, dtype=np.float32).reshape(3, 4),
                                   np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
                                   np.zeros((0, 5), np.float32), np.array(3.5), np.ones(4, bool)],
                         ids=["f32", "fortran", "empty", "scalar", "bool"])
def test_round_trip_equals_np_load(tmp_path, array, mmap_mode):
    np.save(tmp_path / "a.npy", array)
    got = load_npy(tmp_path / "a.npy", mmap_mode=mmap_mode)
    expected = np.load(tmp_path / "a.npy")
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_header_declaring_10_to_the_10_rows_is_refused_before_allocating(tmp_path, mmap_mode):
    write(tmp_path / "a.npy", {"descr": "<f4", "fortran_order": False, "shape": (10**10, 4)}, b"\0" * 64)
    with pytest.raises(ValueError, match=r"declares shape \(10000000000, 4\) of float32 "
                                         r"\(160000000000 bytes\) but holds 64 bytes"):
        load_npy(tmp_path / "a.npy", mmap_mode=mmap_mode)


@pytest.mark.parametrize("header, payload, message", [
    ({"descr": "|O", "fortran_order": False, "shape": (2,)}, b"\0" * 16, "Python objects"),
    ({"descr": "<f8", "fortran_order": False, "shape": (3,)}, b"\0" * 23, "holds 23 bytes"),
    ({"descr": "<f8", "fortran_order": False, "shape": (3,)}, b"\0" * 25, "holds 25 bytes"),
    ({"descr": "<i4", "fortran_order": False, "shape": (2**62, 2**62)}, b"", "declares shape"),
])
def test_bad_headers_are_value_errors_naming_the_file(tmp_path, header, payload, message):
    write(tmp_path / "a.npy", header, payload)
    with pytest.raises(ValueError, match=message) as info:
        load_npy(tmp_path / "a.npy")
    assert "a.npy" in str(info.value)


def test_not_npy_and_unsupported_versions(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a .npy file"):
        load_npy(tmp_path / "a.npy")
    (tmp_path / "b.npy").write_bytes(b"\x93NUMPY\x03\x00" + b"\0" * 20)
    with pytest.raises(ValueError, match="version"):
        load_npy(tmp_path / "b.npy")
    with pytest.raises(FileNotFoundError):
        load_npy(tmp_path / "missing.npy")


def test_threads_parsing_headers_at_once_never_fail(tmp_path):
    """numpy parses headers with ast.literal_eval, not thread-safe in CPython 3.11
    (gh-106905: 'AST constructor recursion depth mismatch'); load_npy serialises it."""
    np.save(tmp_path / "a.npy", np.arange(40, dtype=np.float32).reshape(10, 4))
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            for _ in range(200):
                assert load_npy(tmp_path / "a.npy").shape == (10, 4)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=loop) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), cut=st.integers(0, 200), mmap=st.booleans())
def test_arbitrary_bytes_after_a_valid_header_prefix_load_or_raise_value_error(tmp_path, data, cut, mmap):
    np.save(tmp_path / "v.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    valid = (tmp_path / "v.npy").read_bytes()
    (tmp_path / "m.npy").write_bytes(valid[:cut] + data)
    try:
        arr = load_npy(tmp_path / "m.npy", mmap_mode="r" if mmap else None)
    except ValueError:
        return
    assert arr.nbytes <= len(valid) + len(data)
