"""conduit.ml: serve scikit-learn, LightGBM, XGBoost and ONNX models through compiled kernels.

Layering: this package is a facade over ``conduit_kernels`` (the inference and
aggregation kernels) and the core app. scikit-learn, onnxruntime, joblib, skops,
LightGBM and XGBoost are imported only inside the functions that need them, so ``import conduit.ml``
stays light. Modules:

- ``validation``  input matrix checks (-> ``InvalidInput``)
- ``columns``     named inputs: rows keyed by feature name, category codes, missing values
- ``convert``     fitted estimator -> kernel arrays (``Plan``)
- ``boosters``    LightGBM / XGBoost boosters -> tree-kernel arrays; their model files
- ``preprocess``  fitted transformers (ColumnTransformer, encoders, PCA, ...) -> compiled steps
- ``plan``        what a converter returns (``Plan``), ``Unsupported``
- ``model``       ``CompiledModel``, the object that stands in for an estimator
- ``compiler``    ``compile(estimator)`` -> ``CompiledModel``; ``VotingEnsemble``
- ``staged``      pipelines compiled stage by stage (``StagedModel``)
- ``ensemble``    voting (``vote``) and stacking over compiled members
- ``errors``      ``ModelLoadError`` (a model file that cannot be loaded)
- ``loading``     model files read once, sha256-pinned on the bytes that are loaded
- ``warmup``      every ML kernel loaded with the app's warm-up
- ``fallback``    when a predict route answers from its fallback model
- ``onnx``        ONNX Runtime sessions, provider choice, metadata
- ``registry``    ``ModelRegistry``: named, versioned, hot-swapped models
- ``pipeline``    the fluent ``Pipeline`` builder
- ``batching``    the dynamic batcher (trio)
- ``serving``     ``predict_route`` behind ``app.predict``
- ``streaming``   SSE streaming inference
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "compile": "compiler",
    "CompiledModel": "model",
    "InvalidInput": "validation",
    "VotingEnsemble": "compiler",
    "load_model": "loading",
    "ModelLoadError": "errors",
    "OnnxModel": "onnx",
    "ModelRegistry": "registry",
    "ModelVersion": "registry",
    "Pipeline": "pipeline",
    "DynamicBatcher": "batching",
    "predict_route": "serving",
    "stream_route": "streaming",
    "StreamingModel": "streaming",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conduit.ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
