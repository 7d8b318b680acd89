"""The two apps of the HTTP model benchmark (run as subprocesses by benchmarks/ml_http.py).

Both serve the same LogisticRegression (breast-cancer data, 30 features) at
``POST /predict`` with body ``{"rows": [[...30 floats...]]}``:
``conduit_app`` through ``app.predict`` (compiled kernel + dynamic batching),
``fastapi_app`` calling scikit-learn's ``predict`` per request (a sync endpoint, run
in FastAPI's thread pool as usual); ``conduit_adaptive_app`` batches to a latency target.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

X, y = load_breast_cancer(return_X_y=True)
MODEL = LogisticRegression(max_iter=10000).fit(X, y)


def _conduit_app(**batching):
    from conduit import Conduit
    from conduit.ml.serve.serving import batcher_statistics

    app = Conduit()
    app.predict("/predict", MODEL, name="lr", **(batching or {"max_batch_size": 64, "max_wait": 0.0015}))

    @app.get("/")
    async def health():
        return "ok"

    @app.get("/stats")
    async def stats():
        return {path: {name: {**s.__dict__, "mean_batch_size": s.mean_batch_size}
                       for name, s in entries.items()}
                for path, entries in batcher_statistics(app).items()}

    @app.post("/stats/reset")
    async def reset_stats():
        """Start a measurement window (benchmarks/ml_latency.py resets before each round)."""
        for batchers in getattr(app.state, "ml_batchers", {}).values():
            for batcher in batchers.values():
                batcher.reset_statistics()
        return "ok"

    return app


def _fastapi_app():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/")
    def health():
        return "ok"

    @app.post("/predict")
    def predict(body: dict):
        rows = np.asarray(body["rows"], dtype=np.float64)
        return {"predictions": MODEL.predict(rows).tolist()}

    return app


conduit_app = _conduit_app()
#: The same model batched to a 10 ms latency target (benchmarks/ml_latency.py) instead of a fixed max_wait.
conduit_adaptive_app = _conduit_app(latency_target=0.010)
fastapi_app = _fastapi_app()

