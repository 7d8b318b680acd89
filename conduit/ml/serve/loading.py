"""Loading model files at startup: joblib, skops and ONNX, optionally sha256-pinned.

Owns the rules for turning an operator-configured file into a model object, and the
startup failures when that is not possible. Pickle-based formats (joblib) run code
from the file while loading, so the file is read **once** into memory
(:func:`read_model_bytes`), the ``sha256`` pin is checked on those bytes, and the
same bytes are unpickled (``joblib.load`` and ``skops.io.loads`` take a file object /
bytes): swapping the file between the check and the load cannot change what runs.
A pinned load refuses a path that is a symlink; every load refuses what is not a
regular file (a FIFO, a device) and a file whose size changes while it is read.
skops files are loaded with an explicit list of trusted types: any other type in
the file refuses the load and names it. Every failure raises
:class:`ModelLoadError` naming the file, so the app refuses to start.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any, Sequence

from ..errors import ModelLoadError

__all__ = ["ModelLoadError", "file_sha256", "load_model", "read_model_bytes"]

_JOBLIB = (".joblib", ".pkl", ".pickle")
_FORMATS = {".skops": "skops", ".onnx": "onnx", **{suffix: "joblib" for suffix in _JOBLIB}}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read once, with the checks of :func:`read_model_bytes`)."""
    return hashlib.sha256(read_model_bytes(path)).hexdigest()


def read_model_bytes(path: str | os.PathLike, *, follow_symlinks: bool = True) -> bytes:
    """The whole file, read through one descriptor; refuses anything a pin cannot cover.

    Raises :class:`ModelLoadError` when ``path`` is missing, is a symlink (unless
    ``follow_symlinks``), is not a regular file (FIFO, socket, device, directory), or
    changes size while being read.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    if not follow_symlinks:
        # O_NOFOLLOW makes the open itself refuse a symlink, so no check-then-open gap.
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if path.is_symlink():
            raise ModelLoadError(f"{path}: is a symlink; a pinned model must be a regular file")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ModelLoadError(f"model file not found: {path}") from None
    except OSError as exc:
        if not follow_symlinks and path.is_symlink():
            raise ModelLoadError(f"{path}: is a symlink; a pinned model must be a regular file") from None
        raise ModelLoadError(f"{path}: cannot open ({exc.strerror})") from None
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            what = "a FIFO" if stat.S_ISFIFO(before.st_mode) else "not a regular file"
            raise ModelLoadError(f"{path}: is {what}; a model must be a regular file")
        # Read the size fstat gave, plus one byte: a file that grows is caught by that
        # byte, one that shrinks by a short read; the loop is bounded either way.
        chunks = []
        remaining = before.st_size + 1
        try:
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            data = b"".join(chunks)
        except MemoryError:
            chunks.clear()
            raise ModelLoadError(f"{path}: {before.st_size} bytes do not fit in this process's "
                                 "memory or address space; refusing to load it") from None
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if len(data) != before.st_size or after.st_size != before.st_size:
        raise ModelLoadError(
            f"{path}: changed size while being read ({before.st_size} -> {len(data)} bytes read, "
            f"{after.st_size} now); refusing to load it"
        )
    return data


def _check_estimator(obj: Any, path: Path) -> Any:
    if not (callable(getattr(obj, "predict", None)) or callable(getattr(obj, "transform", None))):
        raise ModelLoadError(
            f"{path}: loaded a {type(obj).__name__}, which is not an estimator "
            "(it has no predict or transform method)"
        )
    return obj


def _format_of(path: Path, format: str | None) -> str:  # noqa: A002
    kind = format or _FORMATS.get(path.suffix.lower())
    if kind is None:
        kind = _native_format(path)
    if kind is None:
        raise ModelLoadError(
            f"{path}: unknown model format (use .joblib, .pkl, .skops, .onnx, or a LightGBM / "
            "XGBoost model file with format=)")
    return kind


def _native_format(path: Path) -> str | None:
    from ..compilation.boosters import NATIVE_SUFFIXES

    return NATIVE_SUFFIXES.get(path.suffix.lower())


def load_model(
    path: str | os.PathLike,
    *,
    sha256: str | None = None,
    format: str | None = None,  # noqa: A002 - the natural name
    trusted: Sequence[str] | None = None,
    providers: str | Sequence[str] = "auto",
) -> Any:
    """Load a model file.

    Parameters
    ----------
    path : a ``.joblib`` / ``.pkl`` (joblib), ``.skops``, ``.onnx``, or a LightGBM
        (``format="lightgbm"``, ``.lgb``) / XGBoost (``format="xgboost"``, ``.ubj``,
        ``.xgb``) model file
    sha256 : the expected hex digest; a mismatch refuses the load, naming the file
    format : ``"joblib"``, ``"skops"``, ``"onnx"``, ``"lightgbm"`` or ``"xgboost"``
        (default: from the suffix)
    trusted : skops only -- type names (``"module.Class"``) allowed beyond skops' defaults
    providers : ONNX only -- see :class:`conduit.ml.onnx.OnnxModel`

    Returns
    -------
    The estimator (joblib, skops), an :class:`~conduit.ml.onnx.OnnxModel`, or the
    library's booster (LightGBM, XGBoost).
    """
    path = Path(path)
    kind = _format_of(path, format)
    data = read_model_bytes(path, follow_symlinks=sha256 is None)
    if sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual.lower() != sha256.lower():
            raise ModelLoadError(
                f"{path}: sha256 mismatch (expected {sha256.lower()}, file has {actual}); "
                "refusing to load it"
            )
    return _LOADERS[kind](data, path, trusted=trusted, providers=providers)


def _load_joblib(data: bytes, path: Path, **_: Any) -> Any:
    import joblib

    try:
        obj = joblib.load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means corrupt
        raise ModelLoadError(f"{path}: not a readable joblib file ({type(exc).__name__}: {exc})") from exc
    return _check_estimator(obj, path)


def _load_skops(data: bytes, path: Path, *, trusted: Sequence[str] | None, **_: Any) -> Any:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{path}: not a readable skops file ({type(exc).__name__}: {exc})") from exc
    refused = sorted(set(untrusted) - set(trusted or ()))
    if refused:
        raise ModelLoadError(
            f"{path}: untrusted types {refused}; pass them in trusted=[...] if you trust this file"
        )
    try:
        obj = sio.loads(data, trusted=list(untrusted))
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{path}: not a readable skops file ({type(exc).__name__}: {exc})") from exc
    return _check_estimator(obj, path)


def _load_onnx(data: bytes, path: Path, *, providers: str | Sequence[str], **_: Any) -> Any:
    from ..onnx import OnnxModel

    return OnnxModel(data, providers=providers, label=str(path))


def _load_native(kind: str):
    def load(data: bytes, path: Path, **_: Any) -> Any:
        from ..compilation.boosters import load_booster

        try:
            return load_booster(kind, data)
        except ImportError as exc:
            raise ModelLoadError(f"{path}: {kind} is not installed (pip install 'conduit[{kind}]')") from exc
        except Exception as exc:  # noqa: BLE001 - the library's own parse error
            raise ModelLoadError(f"{path}: not a readable {kind} model ({type(exc).__name__}: {exc})") from exc

    return load


_LOADERS = {
    "joblib": _load_joblib,
    "skops": _load_skops,
    "onnx": _load_onnx,
    "lightgbm": _load_native("lightgbm"),
    "xgboost": _load_native("xgboost"),
}
