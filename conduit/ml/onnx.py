"""ONNX models through ONNX Runtime: provider choice, provider reporting, metadata.

Owns :class:`OnnxModel`: an ``InferenceSession`` with the providers chosen
automatically (TensorRT, CUDA, CPU: in that order, only those installed) or given
explicitly; the provider actually in use is read back from the session, because
ONNX Runtime falls back to CPU silently when an accelerator cannot be initialised:
that fallback is detected and logged. The model's declared inputs and outputs
(names, shapes, dtypes) are exposed as :attr:`OnnxModel.metadata` and used to
validate requests. ``onnxruntime`` (or ``onnxruntime-gpu``; never both) is imported
only here.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import ModelLoadError
from .validation import InvalidInput, as_features

__all__ = ["PREFERRED_PROVIDERS", "OnnxModel", "choose_providers"]

logger = logging.getLogger("conduit.ml")

#: Automatic choice, most preferred first.
PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)

_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


def choose_providers(requested: str | Sequence[str], available: Sequence[str]) -> list[str]:
    """Providers to ask ONNX Runtime for.

    ``"auto"``: :data:`PREFERRED_PROVIDERS` that are available, in that order. A list:
    each must be available (else ``ValueError`` naming it and what is available).
    """
    if requested == "auto":
        chosen = [p for p in PREFERRED_PROVIDERS if p in available]
        return chosen or list(available)
    chosen = [requested] if isinstance(requested, str) else list(requested)
    missing = [p for p in chosen if p not in available]
    if missing:
        raise ValueError(f"ONNX Runtime providers {missing} are not available (available: {list(available)})")
    return chosen


def _describe(arg: Any) -> dict[str, Any]:
    return {"name": arg.name, "shape": list(arg.shape), "dtype": arg.type}


class OnnxModel:
    """An ONNX model behind the same interface as :class:`~conduit.ml.CompiledModel`.

    Parameters
    ----------
    source : path to a ``.onnx`` file, or the serialized model bytes
    label : how errors and logs name the model (default: the path, or ``<bytes>``)
    providers : ``"auto"`` or a provider name / list of names
    allow_nan : whether inputs may contain NaN (ONNX declares no such rule)

    Attributes
    ----------
    requested_providers, providers : what was asked for, what the session uses
    provider : the provider in use (first of ``providers``)
    fell_back : True when an accelerator was requested but the session runs on CPU
    metadata : ``{"inputs": [...], "outputs": [...]}`` with name, shape, dtype
    """

    path = "onnxruntime"
    kind = "onnx"
    reason = None

    def __init__(self, source: str | os.PathLike | bytes, *, providers: str | Sequence[str] = "auto",
                 allow_nan: bool = False, session_options: Any = None, label: str | None = None) -> None:
        import onnxruntime as ort

        self.source = source if isinstance(source, bytes) else str(Path(source))
        self.label = label
        available = ort.get_available_providers()
        try:
            self.requested_providers = choose_providers(providers, available)
        except ValueError as exc:
            raise ModelLoadError(f"{self._label()}: {exc}") from None
        options = session_options or ort.SessionOptions()
        try:
            self.session = ort.InferenceSession(
                source if isinstance(source, bytes) else str(source),
                sess_options=options, providers=self.requested_providers,
            )
        except Exception as exc:  # noqa: BLE001 - a bad file fails startup with its name
            raise ModelLoadError(f"{self._label()}: not a loadable ONNX model ({exc})") from exc
        self.providers = list(self.session.get_providers())
        self.provider = self.providers[0]
        self.fell_back = self.requested_providers[0] != "CPUExecutionProvider" and self.provider == "CPUExecutionProvider"
        if self.fell_back:
            logger.warning("ONNX model %s: requested %s but ONNX Runtime runs it on %s",
                           self._label(), self.requested_providers[0], self.provider)
        inputs = self.session.get_inputs()
        outputs = self.session.get_outputs()
        self.metadata = {"inputs": [_describe(a) for a in inputs], "outputs": [_describe(a) for a in outputs]}
        if len(inputs) != 1:
            raise self._load_error(f"expected one input tensor, the model declares {len(inputs)}")
        self._input = inputs[0]
        shape = self._input.shape
        if len(shape) != 2 or not isinstance(shape[1], int):
            raise self._load_error(f"input {self._input.name!r} must be [batch, n_features], declared {shape}")
        self.n_features_in_ = int(shape[1])
        self._fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self._dtype = _DTYPES.get(self._input.type)
        if self._dtype is None:
            raise self._load_error(f"input dtype {self._input.type} is not supported")
        self.allow_nan = allow_nan
        self.allow_inf = False
        self.estimator = self
        self.members: list[Any] = []
        names = [o.name for o in outputs]
        self._label_output = names[0]
        self._proba_output = next((n for n in names[1:] if "prob" in n.lower()), None)
        self.classes_ = None

    def _label(self) -> str:
        if self.label is not None:
            return self.label
        return "<bytes>" if isinstance(self.source, bytes) else self.source

    def _load_error(self, message: str):
        return ModelLoadError(f"{self._label()}: {message}")

    # -- the CompiledModel interface ---------------------------------------------

    def validate(self, X: Any) -> np.ndarray:
        """Check ``X`` against the declared input shape; returns it in the declared dtype."""
        X = as_features(X, self.n_features_in_, allow_nan=self.allow_nan)
        if self._fixed_batch is not None and X.shape[0] != self._fixed_batch:
            raise InvalidInput(
                f"input {self._input.name!r} is declared with batch size {self._fixed_batch}, got {X.shape[0]} rows",
                type="array_shape")
        return X.astype(self._dtype) if self._dtype is not np.float64 else X

    def has(self, method: str) -> bool:
        return method == "predict" or (method == "predict_proba" and self._proba_output is not None)

    def _run(self, names: list[str], X: np.ndarray) -> list[Any]:
        return self.session.run(names, {self._input.name: X})

    def predict_unchecked(self, X: np.ndarray) -> np.ndarray:
        out = self._run([self._label_output], X)[0]
        return out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba_unchecked(self, X: np.ndarray) -> np.ndarray:
        out = self._run([self._proba_output], X)[0]
        if isinstance(out, list):  # ZipMap output: a list of {class: probability}
            keys = sorted(out[0])
            return np.array([[row[k] for k in keys] for row in out], dtype=np.float64)
        return np.asarray(out)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_unchecked(self.validate(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self._proba_output is None:
            raise AttributeError("this ONNX model declares no probability output")
        return self.predict_proba_unchecked(self.validate(X))

    def warm_up(self) -> None:
        rows = self._fixed_batch or 1
        X = np.zeros((rows, self.n_features_in_), dtype=self._dtype)
        self.predict_unchecked(X)
        if self._proba_output is not None:
            self.predict_proba_unchecked(X)

    def describe(self) -> dict[str, Any]:
        return {
            "estimator": "ONNX",
            "path": self.path,
            "kind": self.kind,
            "reason": None,
            "n_features": self.n_features_in_,
            "classes": None,
            "methods": ["predict"] + (["predict_proba"] if self._proba_output else []),
            "accepts_nan": self.allow_nan,
            "provider": self.provider,
            "providers": self.providers,
            "requested_providers": self.requested_providers,
            "fell_back_to_cpu": self.fell_back,
            "metadata": self.metadata,
        }

    def __repr__(self) -> str:
        return f"<OnnxModel {self._label()} provider={self.provider}>"
