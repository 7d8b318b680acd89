"""Loading model files at startup: joblib, skops and ONNX, optionally sha256-pinned.

Owns the rules for turning an operator-configured file into a model object, and the
startup failures when that is not possible. Pickle-based formats (joblib) run code
from the file while loading, so :func:`load_model` only reads paths the operator
passes in, and a ``sha256`` pin is checked on the raw bytes *before* anything is
unpickled. skops files are loaded with an explicit list of trusted types: any other
type in the file refuses the load and names it. Every failure raises
:class:`ModelLoadError` naming the file, so the app refuses to start.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Sequence

__all__ = ["ModelLoadError", "file_sha256", "load_model"]

_JOBLIB = (".joblib", ".pkl", ".pickle")


class ModelLoadError(RuntimeError):
    """A model file could not be loaded (missing, corrupt, untrusted, wrong checksum, ...)."""


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_estimator(obj: Any, path: Path) -> Any:
    if not (callable(getattr(obj, "predict", None)) or callable(getattr(obj, "transform", None))):
        raise ModelLoadError(
            f"{path}: loaded a {type(obj).__name__}, which is not an estimator "
            "(it has no predict or transform method)"
        )
    return obj


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
    path : a ``.joblib`` / ``.pkl`` (joblib), ``.skops`` or ``.onnx`` file
    sha256 : the expected hex digest; a mismatch refuses the load, naming the file
    format : ``"joblib"``, ``"skops"`` or ``"onnx"`` (default: from the suffix)
    trusted : skops only -- type names (``"module.Class"``) allowed beyond skops' defaults
    providers : ONNX only -- see :class:`conduit.ml.onnx.OnnxModel`

    Returns
    -------
    The estimator (joblib, skops) or an :class:`~conduit.ml.onnx.OnnxModel`.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    if sha256 is not None:
        actual = file_sha256(path)
        if actual.lower() != sha256.lower():
            raise ModelLoadError(
                f"{path}: sha256 mismatch (expected {sha256.lower()}, file has {actual}); "
                "refusing to load it"
            )
    kind = format or {".skops": "skops", ".onnx": "onnx"}.get(path.suffix.lower(), None)
    if kind is None and path.suffix.lower() in _JOBLIB:
        kind = "joblib"
    if kind == "joblib":
        import joblib

        try:
            obj = joblib.load(path)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means corrupt
            raise ModelLoadError(f"{path}: not a readable joblib file ({type(exc).__name__}: {exc})") from exc
        return _check_estimator(obj, path)
    if kind == "skops":
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"{path}: not a readable skops file ({type(exc).__name__}: {exc})") from exc
        refused = sorted(set(untrusted) - set(trusted or ()))
        if refused:
            raise ModelLoadError(
                f"{path}: untrusted types {refused}; pass them in trusted=[...] if you trust this file"
            )
        try:
            obj = sio.load(path, trusted=list(untrusted))
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"{path}: not a readable skops file ({type(exc).__name__}: {exc})") from exc
        return _check_estimator(obj, path)
    if kind == "onnx":
        from .onnx import OnnxModel

        return OnnxModel(path, providers=providers)
    raise ModelLoadError(f"{path}: unknown model format (use .joblib, .pkl, .skops or .onnx)")
