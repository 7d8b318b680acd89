"""conduit.ml: serve scikit-learn, LightGBM, XGBoost and ONNX models through compiled kernels.

Layering: this package is a facade over ``conduit_kernels`` (the inference and
aggregation kernels) and the core app. scikit-learn, onnxruntime, joblib, skops,
LightGBM and XGBoost are imported only inside the functions that need them, so ``import conduit.ml``
stays light. Modules:

- ``validation``  input matrix checks (-> ``InvalidInput``)
- ``columns``     named inputs: rows keyed by feature name, category codes, missing values
- ``model``       ``CompiledModel``, the object that stands in for an estimator
- ``staged``      pipelines compiled stage by stage (``StagedModel``)
- ``ensemble``    voting (``vote``) and stacking over compiled members
- ``errors``      ``ModelLoadError`` (a model file that cannot be loaded)
- ``onnx``        ONNX Runtime sessions, provider choice, metadata
- ``pipeline``    the fluent ``Pipeline`` builder
- ``compilation/`` estimators and booster files -> kernel arrays:
  ``convert`` (fitted estimator -> ``Plan``), ``boosters`` (LightGBM / XGBoost),
  ``preprocess`` (fitted transformers -> compiled steps), ``plan`` (``Plan``,
  ``Unsupported``), ``compiler`` (``compile(estimator)`` -> ``CompiledModel``). Not named
  ``compile``: a subpackage of that name would shadow the ``conduit.ml.compile`` function.
- ``serve/``      models over HTTP: ``serving`` (``predict_route`` behind ``app.predict``),
  ``streaming`` (SSE), ``batching`` (the dynamic batcher), ``registry``
  (``ModelRegistry``), ``loading`` (model files, sha256-pinned), ``fallback``,
  ``requests`` (the predict prologue), ``warmup`` (every ML kernel at the app's warm-up)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "compile": "compilation.compiler",
    "CompiledModel": "model",
    "InvalidInput": "validation",
    "VotingEnsemble": "compilation.compiler",
    "load_model": "serve.loading",
    "ModelLoadError": "errors",
    "OnnxModel": "onnx",
    "ModelRegistry": "serve.registry",
    "ModelVersion": "serve.registry",
    "Pipeline": "pipeline",
    "DynamicBatcher": "serve.batching",
    "predict_route": "serve.serving",
    "stream_route": "serve.streaming",
    "StreamingModel": "serve.streaming",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conduit.ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
