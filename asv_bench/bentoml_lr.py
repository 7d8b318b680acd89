"""The model of the HTTP model benchmark behind BentoML (``bentoml serve bentoml_lr:LR``).

BentoML's adaptive batching (``batchable=True`` with ``max_latency_ms``: its ``CorkDispatcher``)
is the anchor of Conduit's ``latency_target``; benchmarks/ml_latency.py measures the two side
by side: the same LogisticRegression, a 10 ms target, one worker, ``{"rows": [[...]]}`` bodies.
"""

from __future__ import annotations

import bentoml
import numpy as np

from ml_http_apps import MODEL


@bentoml.service(name="lr", workers=1)
class LR:
    @bentoml.api(batchable=True, max_batch_size=1024, max_latency_ms=10)
    def predict(self, rows: np.ndarray) -> np.ndarray:
        return MODEL.predict(rows)
