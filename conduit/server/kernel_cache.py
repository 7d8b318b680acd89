"""Numba's on-disk kernel cache for ``conduit build`` and ``conduit run``, read-only caches included.

``conduit build app:app --cache DIR`` compiles every kernel the app's warm-up touches into
``DIR`` (Numba's ``NUMBA_CACHE_DIR``) and writes a manifest beside them. ``conduit run``
with ``NUMBA_CACHE_DIR`` pointing at such a folder then loads instead of compiling.

A read-only cache (a Kubernetes pod with ``readOnlyRootFilesystem: true``, an image layer)
is the case Numba cannot handle: its cache locators test that they can create a file in
the folder, and with none usable every ``cache=True`` kernel fails to import ("cannot
cache function ...: no locator available"). So before Numba is imported, a read-only
cache is copied into a fresh folder under ``TMPDIR`` (the pod's writable scratch volume)
and Numba pointed there: the original is never written, the copy loads every kernel the
build compiled, and :func:`report` says in one line whether anything had to compile.
This module must not import Numba: it runs before it.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field

from conduit_kernels import aot

#: Written by ``conduit build`` beside the kernels: what was built, for whom.
MANIFEST = "conduit-build.json"
_SUFFIXES = (".nbi", ".nbc")  # Numba's index and compiled-code files


def is_read_only(folder: str) -> bool:
    """Whether nothing should be written into ``folder``: a read-only mount, no write permission,
    or no write bit at all (which root would otherwise ignore)."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
        mode = os.stat(folder).st_mode
    except OSError:
        return False
    return not os.access(folder, os.W_OK) or not stat.S_IMODE(mode) & 0o222


def snapshot(folder: str | None) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every kernel file under ``folder``."""
    files: dict[str, tuple[int, int]] = {}
    if not folder or not os.path.isdir(folder):
        return files
    for root, _, names in os.walk(folder):
        for name in names:
            if name.endswith(_SUFFIXES):
                path = os.path.join(root, name)
                info = os.stat(path)
                files[os.path.relpath(path, folder)] = (info.st_size, info.st_mtime_ns)
    return files


@dataclass
class KernelCache:
    """Where the kernels come from (``source``) and where Numba reads and writes (``active``)."""

    source: str | None
    active: str | None
    read_only: bool = False
    before: dict[str, tuple[int, int]] = field(default_factory=dict)


def prepare(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> KernelCache:
    """Make ``NUMBA_CACHE_DIR`` usable before Numba loads (a read-only one is copied under ``TMPDIR``).

    Raises ``RuntimeError`` with one line when Numba is already imported (too late to
    point it elsewhere) or no writable scratch folder exists for the copy.
    """
    source = environ.get("NUMBA_CACHE_DIR")
    if not source:
        return KernelCache(None, None)
    if not is_read_only(source):
        return KernelCache(source, source, False, snapshot(source))
    if "numba" in sys.modules:
        raise RuntimeError(f"kernel cache {source} is read-only and Numba is already imported: "
                           "prepare the cache before importing the app")
    try:
        copy = tempfile.mkdtemp(prefix="conduit-kernels-")
        shutil.copytree(source, copy, dirs_exist_ok=True, copy_function=shutil.copyfile)
    except OSError as exc:
        raise RuntimeError(f"kernel cache {source} is read-only and no writable scratch folder holds a copy "
                           f"(TMPDIR={tempfile.gettempdir()}: {exc.strerror or exc}); mount a writable "
                           "volume there (an emptyDir in Kubernetes)") from None
    for root, dirs, _ in os.walk(copy):  # copytree copied the folders' read-only modes too
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    os.chmod(copy, 0o755)
    environ["NUMBA_CACHE_DIR"] = copy
    creator = os.getpid()
    # The copy is this process's scratch: removed at exit (not by forked workers, which share it).
    atexit.register(lambda: os.getpid() == creator and shutil.rmtree(copy, ignore_errors=True))
    return KernelCache(source, copy, True, snapshot(copy))


def report(cache: KernelCache) -> str | None:
    """One line: did the cache cover the app (nothing compiled), and was anything written."""
    if cache.active is None:
        return None
    after = snapshot(cache.active)
    compiled = sorted(name for name, stamp in after.items() if cache.before.get(name) != stamp)
    if cache.read_only:
        if not compiled:
            return (f"kernel cache {cache.source} (read-only) covers the app: nothing compiled, "
                    f"nothing written (loaded through a copy in {cache.active}; {aot.reason()})")
        names = ", ".join(os.path.basename(name) for name in compiled[:3]) + (", ..." if len(compiled) > 3 else "")
        return (f"kernel cache {cache.source} (read-only) missed {len(compiled)} kernel file(s) ({names}), compiled "
                f"into {cache.active} and lost at exit: rebuild it with conduit build --cache {cache.source}")
    if not compiled:
        return f"kernel cache {cache.source} covers the app: nothing compiled ({aot.reason()})"
    return f"kernel cache {cache.source}: compiled {len(compiled)} kernel file(s) into it"


def write_manifest(folder: str, target: str, seconds: float, version: str) -> dict[str, object]:
    """Record what ``conduit build`` compiled (read by people and by the tests, not by Numba).

    ``version`` is Conduit's, passed in by the command line: the server package sits
    below the root package and never imports it.
    """
    import numba

    manifest = {"target": target, "conduit": version, "numba": numba.__version__,
                "python": sys.version.split()[0], "kernel_files": len(snapshot(folder)),
                "seconds": round(seconds, 2)}
    with open(os.path.join(folder, MANIFEST), "w") as file:
        json.dump(manifest, file, indent=2)
    return manifest


def build_aot(folder: str) -> str:
    """Compile the HTTP path's kernels ahead of time into ``folder`` (:mod:`conduit_kernels.aot`).

    Returns one line for the build's output. An extension already there and valid is kept
    (an image may build it in a stage with a compiler and copy it in). Without a working C
    compiler nothing is built and the line says so: the server then uses the JIT kernels.
    """
    from conduit_kernels import aot_build

    if aot.load(folder)[0] is not None:  # e.g. built in an image's compiler stage and copied here
        return "ahead-of-time HTTP kernels already built here and valid for this Python, NumPy, Numba and code"
    try:
        path = aot_build.build(folder)
    except Exception as exc:  # pycc reports a missing compiler as distutils/setuptools/OS errors
        return (f"ahead-of-time kernels not built ({type(exc).__name__}: {str(exc)[:200]}): the server will "
                "import Numba and use the JIT kernels from this cache")
    return f"ahead-of-time HTTP kernels built: {os.path.basename(path)} (the server runs hello without Numba)"


__all__ = ["KernelCache", "MANIFEST", "build_aot", "is_read_only", "prepare", "report", "snapshot", "write_manifest"]
