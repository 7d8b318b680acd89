"""Reading ``.npy`` files that may be damaged or hostile.

``np.load`` trusts a file's header: a header declaring ``10**10`` rows makes it
allocate (or map) the declared size before noticing that the file is short, and a
header with a Python-object dtype would unpickle. :func:`load_npy` reads the header
first and refuses, with a ``ValueError`` naming the file, anything whose declared
shape x dtype is not exactly the bytes that follow it, so no array larger than the
file is ever allocated or mapped.

Headers are parsed by numpy's own reader, which uses ``ast.literal_eval``; in
CPython 3.11 the AST-to-object conversion keeps its recursion depth in shared
state (CPython gh-106905), so two threads parsing at once can fail with
``SystemError: AST constructor recursion depth mismatch``. One lock serialises the
(tiny) header parse; the array reads stay concurrent.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["load_npy"]

#: The largest header accepted (numpy's own default limit for untrusted files).
MAX_HEADER_BYTES = 10_000

_HEADER_LOCK = threading.Lock()
_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}


def _header(f, name: str) -> tuple[tuple, bool, np.dtype]:
    try:
        version = npy_format.read_magic(f)
    except (ValueError, EOFError) as exc:
        raise ValueError(f"{name} is not a .npy file ({exc})") from None
    reader = _READERS.get(version)
    if reader is None:
        raise ValueError(f"{name} has .npy format version {version}, expected 1.0 or 2.0")
    try:
        with _HEADER_LOCK:
            shape, fortran, dtype = reader(f, max_header_size=MAX_HEADER_BYTES)
    except Exception as exc:  # noqa: BLE001 - numpy's parser raises ValueError, SyntaxError,
        # tokenize.TokenError, ... for a damaged header; all mean the same to a caller
        raise ValueError(f"{name} has an unreadable .npy header "
                         f"({type(exc).__name__}: {exc})") from None
    return shape, fortran, dtype


def load_npy(path: "str | os.PathLike", *, mmap_mode: str | None = None) -> np.ndarray:
    """The array in ``path``, after checking its header against the file's size.

    Parameters
    ----------
    path : a ``.npy`` file (format 1.0 or 2.0)
    mmap_mode : None (read into memory) or ``"r"`` / ``"c"`` (map it, as ``np.load``)

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a ``.npy`` file, an unreadable header, an object dtype, or a declared
        ``shape x itemsize`` that differs from the bytes after the header.
    """
    name = os.fspath(path)
    with open(path, "rb") as f:
        shape, fortran, dtype = _header(f, name)
        if dtype.hasobject:
            raise ValueError(f"{name} holds Python objects ({dtype}); refusing to unpickle them")
        offset = f.tell()
        held = os.fstat(f.fileno()).st_size - offset
        count = math.prod(shape)  # Python ints: no overflow for absurd shapes
        declared = count * dtype.itemsize
        if declared != held:
            raise ValueError(f"{name} declares shape {shape} of {dtype} ({declared} bytes) "
                             f"but holds {held} bytes of data")
        order = "F" if fortran else "C"
        if count == 0:
            return np.empty(shape, dtype=dtype, order=order)
        if mmap_mode is not None:
            return np.memmap(f, dtype=dtype, mode=mmap_mode, offset=offset, shape=shape, order=order)
        flat = np.fromfile(f, dtype=dtype, count=count)
    if flat.shape[0] != count:  # the file shrank while being read
        raise ValueError(f"{name} holds {flat.shape[0]} of the {count} items its header declares")
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)
