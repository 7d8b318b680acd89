"""The HTTP path's kernels compiled ahead of time, loaded without Numba.

``conduit build --cache DIR`` (through :mod:`.aot_build`) compiles the head scanner,
the route matcher and the chunk decoder into one CPython extension,
``DIR/conduit_kernels_aot*.so``, with a manifest beside it. A server whose
``NUMBA_CACHE_DIR`` is that folder calls them without importing Numba or LLVM
(about 125 MiB of RSS a hello server no longer holds). The extension is used only
while it is valid: same Python ABI, machine, NumPy and Numba versions, and kernel
sources byte for byte; otherwise :func:`kernels` returns None, :func:`reason` says
why, and callers use the JIT kernels as before. ``CONDUIT_AOT=0`` turns it off.

This module imports only the standard library (and nothing of Numba).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import sys
from types import ModuleType

__all__ = ["MANIFEST", "MODULE", "SOURCES", "fingerprint", "kernels", "load", "reason"]

#: The extension's module name (its ``PyInit_`` symbol).
MODULE = "conduit_kernels_aot"
#: Written beside the extension by the build: the :func:`fingerprint` it was built for.
MANIFEST = "conduit-aot.json"
#: The kernel sources compiled into the extension: any change makes it stale.
SOURCES = ("http1.py", "routing.py", "route_table.py", "chunked.py", "chunked_state.py", "_ascii.py",
           "_jit.py", "aot_build.py")

_HERE = os.path.dirname(os.path.abspath(__file__))
_loaded: dict[str, tuple[ModuleType | None, str]] = {}


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


def load(folder: str) -> tuple[ModuleType | None, str]:
    """(the extension in ``folder``, or None; one line saying which and why)."""
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
    return module, f"ahead-of-time kernels loaded from {path}"


def _resolve() -> tuple[ModuleType | None, str]:
    folder = os.environ.get("NUMBA_CACHE_DIR")
    if os.environ.get("CONDUIT_AOT", "1") == "0":
        return None, "ahead-of-time kernels off (CONDUIT_AOT=0)"
    if not folder:
        return None, "no NUMBA_CACHE_DIR, so no ahead-of-time kernels"
    if folder not in _loaded:
        _loaded[folder] = load(folder)
    return _loaded[folder]


def kernels() -> ModuleType | None:
    """The ahead-of-time extension for this process (``NUMBA_CACHE_DIR``), or None: use the JIT."""
    return _resolve()[0]


def reason() -> str:
    """One line: whether the ahead-of-time kernels are in use, and why (not)."""
    return _resolve()[1]
