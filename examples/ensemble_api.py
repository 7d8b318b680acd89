"""A voting ensemble behind a conditional pipeline, trained at start-up (no download).

    conduit run examples.ensemble_api:app       # or: python examples/ensemble_api.py
    curl -s localhost:8000/models
    curl -s -XPOST localhost:8000/predict/ensemble -d '{"rows": [[5.1, 3.5, 1.4, 0.2]], "probabilities": true}'
    curl -s -XPOST localhost:8000/predict/triage -d '{"rows": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'

``/predict/ensemble``: a soft VotingClassifier(LR, RF, GaussianNB), compiled into kernels
and dynamically batched. ``/predict/triage``: a Pipeline that routes each row by petal
length: short petals (clearly setosa) to the cheap logistic model, the rest to the ensemble.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from conduit import Conduit
from conduit.ml import Pipeline, compile

X, y = load_iris(return_X_y=True)
ensemble = VotingClassifier(
    [("lr", LogisticRegression(max_iter=1000)), ("rf", RandomForestClassifier(50, random_state=0)),
     ("gnb", GaussianNB())],
    voting="soft",
).fit(X, y)
cheap = compile(ensemble.named_estimators_["lr"])

triage = Pipeline("triage").route(
    lambda rows: np.where(rows[:, 2] < 2.5, "cheap", "ensemble"),
    {"cheap": cheap, "ensemble": compile(ensemble)},
)

app = Conduit(title="ensemble API")
app.predict("/predict/ensemble", ensemble, name="ensemble")
app.predict("/predict/triage", triage)


@app.get("/pipeline/metrics")
async def pipeline_metrics():
    return triage.metrics()


if __name__ == "__main__":
    app.run()
