"""The HTTP path's kernels compiled ahead of time, loaded without Numba.

``conduit build --cache DIR`` (through :mod:`.aot_build`) compiles the head scanner,
the route matcher and the chunk decoder into one CPython extension,
``DIR/conduit_kernels_aot*.so``, with a manifest beside it. A server whose
``NUMBA_CACHE_DIR`` is that folder calls them without importing Numba or LLVM
(about 125 MiB of RSS a hello server no longer holds). The extension is used only
while it is valid: same Python ABI, machine, NumPy and Numba versions, and kernel
sources byte for byte; otherwise :func:`kernels` returns None, :func:`reason` says
why, and callers use the JIT kernels as before. ``CONDUIT_AOT=0`` turns it off.

Functions that ``numba.pycc`` exports do not check their arguments' types (Numba's
documentation says so; a wrong dtype crashes the process), so :func:`kernels` hands out
checking wrappers: each argument's exact type, dtype and span, a ``TypeError`` or
``ValueError`` naming the problem otherwise, for about 0.1 µs a call.

This module imports the standard library and NumPy, nothing of Numba.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import sys
from types import ModuleType, SimpleNamespace

import numpy as np

__all__ = ["MANIFEST", "MODULE", "SOURCES", "fingerprint", "kernels", "load", "reason"]

#: The extension's module name (its ``PyInit_`` symbol).
MODULE = "conduit_kernels_aot"
#: Written beside the extension by the build: the :func:`fingerprint` it was built for.
MANIFEST = "conduit-aot.json"
#: The kernel sources compiled into the extension: any change makes it stale.
SOURCES = ("http1.py", "routing.py", "route_table.py", "chunked.py", "chunked_state.py", "_ascii.py",
           "_jit.py", "aot_build.py")

_HERE = os.path.dirname(os.path.abspath(__file__))
_loaded: dict[str, tuple[SimpleNamespace | None, str]] = {}


def fingerprint() -> dict[str, str]:
    """What the extension must have been built for to be loaded here."""
    from importlib import metadata  # here: it is a slow import, and only a server start needs it

    digest = hashlib.sha256()
    for name in SOURCES:
        with open(os.path.join(_HERE, name), "rb") as file:
            digest.update(file.read())
    return {"python": sys.implementation.cache_tag, "machine": platform.machine(),
            "numpy": metadata.version("numpy"), "numba": metadata.version("numba"),
            "sources": digest.hexdigest()}


def load(folder: str) -> tuple[SimpleNamespace | None, str]:
    """(the extension's checked kernels in ``folder``, or None; one line saying which and why)."""
    try:
        with open(os.path.join(folder, MANIFEST)) as file:
            built = json.load(file)
    except FileNotFoundError:
        return None, f"no ahead-of-time kernels in {folder} (build them with conduit build --cache {folder})"
    except (OSError, ValueError) as exc:
        return None, f"unreadable {MANIFEST} in {folder}: {exc}"
    here = fingerprint()
    stale = [key for key in here if built.get("fingerprint", {}).get(key) != here[key]]
    if stale:
        return None, (f"ahead-of-time kernels in {folder} were built for another {', '.join(stale)}: "
                      f"rebuild with conduit build --cache {folder}")
    path = os.path.join(folder, built.get("file", ""))
    if not built.get("file") or not os.path.isfile(path):
        return None, f"{MANIFEST} in {folder} names no extension file that exists"
    try:
        loader = importlib.machinery.ExtensionFileLoader(MODULE, path)
        spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    except (ImportError, OSError) as exc:
        return None, f"ahead-of-time kernels in {folder} failed to load: {exc}"
    return _checked(module), f"ahead-of-time kernels loaded from {path}"


_INT64, _INT32, _UINT8 = np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.uint8)
_STRIDE8, _STRIDE4 = (8,), (4,)


def _vector(name: str, array, dtype: np.dtype, length: int = 0) -> None:
    if type(array) is not np.ndarray or array.dtype is not dtype or array.ndim != 1 or (
            len(array) > 1 and array.strides[0] != dtype.itemsize):
        raise TypeError(f"{name} must be a contiguous 1-d {dtype} numpy array, not {type(array).__name__}"
                        f"{'' if type(array) is not np.ndarray else f' of {array.dtype}, strides {array.strides}'}")
    if len(array) < length:
        raise ValueError(f"{name} holds {len(array)} items, the kernel needs {length}")


def _span(buffer, kind: type, start: int, n: int) -> None:
    if type(buffer) is not kind:
        raise TypeError(f"the buffer must be {kind.__name__}, not {type(buffer).__name__}")
    if not 0 <= start <= n <= len(buffer):
        raise ValueError(f"span {start}:{n} is outside the {len(buffer)}-byte buffer")


def _checked(module: ModuleType) -> SimpleNamespace:
    """The extension's kernels behind checks of exactly the types they were compiled for."""
    scan, match, decode = module.scan_request_head, module.match_route, module.decode_chunked

    def scan_request_head(buffer: bytearray, n: int, out: np.ndarray) -> int:
        # Per request on the server: the common case is one inline test (about 0.3 µs).
        if (type(buffer) is not bytearray or not 0 <= n <= len(buffer) or type(out) is not np.ndarray
                or out.dtype is not _INT64 or out.strides != _STRIDE8 or len(out) < 8):
            _span(buffer, bytearray, 0, n)
            _vector("out", out, _INT64, 8)
        return scan(buffer, n, out)

    def match_route(table: np.ndarray, path: bytes, method: int, work: np.ndarray) -> tuple[int, int]:
        if type(path) is not bytes:  # the JIT kernel takes any bytes-like path; so does this one
            path = bytes(memoryview(path).cast("B"))
        if (type(table) is not np.ndarray or table.dtype is not _INT32 or table.strides != _STRIDE4
                or type(work) is not np.ndarray or work.dtype is not _INT64 or work.strides != _STRIDE8):
            _vector("table", table, _INT32)
            _vector("work", work, _INT64)
        return match(table, path, method, work)

    def decode_chunked(buffer: bytearray, start: int, n: int, out: np.ndarray, state: np.ndarray) -> int:
        _span(buffer, bytearray, start, n)
        _vector("out", out, _UINT8, n - start)
        _vector("state", state, _INT64, 8)
        return decode(buffer, start, n, out, state)

    return SimpleNamespace(__file__=module.__file__, scan_request_head=scan_request_head, match_route=match_route,
                           decode_chunked=decode_chunked)


def _resolve() -> tuple[SimpleNamespace | None, str]:
    folder = os.environ.get("NUMBA_CACHE_DIR")
    if os.environ.get("CONDUIT_AOT", "1") == "0":
        return None, "ahead-of-time kernels off (CONDUIT_AOT=0)"
    if not folder:
        return None, "no NUMBA_CACHE_DIR, so no ahead-of-time kernels"
    if folder not in _loaded:
        _loaded[folder] = load(folder)
    return _loaded[folder]


def kernels() -> SimpleNamespace | None:
    """The ahead-of-time extension for this process (``NUMBA_CACHE_DIR``), or None: use the JIT."""
    return _resolve()[0]


def reason() -> str:
    """One line: whether the ahead-of-time kernels are in use, and why (not)."""
    return _resolve()[1]
