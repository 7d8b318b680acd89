"""SSE streaming inference, with a model trained at start-up from scikit-learn's data.

    python examples/streaming_service.py
    curl -N -XPOST localhost:8000/stream/digits -d '{"rows": [[0, 0, 5, ...64 pixels...]]}'
    curl -N -XPOST localhost:8000/stream/explain -d '{"row": [0, 0, 5, ...64 pixels...]}'

``/stream/digits`` streams predictions for a large batch, 100 rows per event.
``/stream/explain`` streams a generator model's partial results: the ensemble's running
vote after each tree, so a client sees the answer firm up. Both stop as soon as the
client disconnects.
"""

from __future__ import annotations

import numpy as np
import trio
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier

from conduit import Conduit
from conduit.ml import StreamingModel, compile

X, y = load_digits(return_X_y=True)
forest = RandomForestClassifier(30, random_state=0).fit(X, y)
trees = [compile(tree) for tree in forest.estimators_]


async def running_vote(rows: np.ndarray):
    votes = np.zeros((rows.shape[0], len(forest.classes_)))
    for i, tree in enumerate(trees, start=1):
        votes += tree.predict_proba_unchecked(rows)
        yield {"trees": i, "predictions": forest.classes_[votes.argmax(axis=1)],
               "confidence": (votes.max(axis=1) / i).round(3)}
        await trio.sleep(0.05)  # pace the demo; back-pressure comes from the client


app = Conduit(title="streaming inference")
app.predict("/stream/digits", forest, name="digits", stream=True, chunk_size=100)
app.predict("/stream/explain", StreamingModel(running_vote, X.shape[1], name="explain"), stream=True,
            list_path=None)

if __name__ == "__main__":
    app.run()
