"""The fluent Pipeline: sequential, parallel, routing, ensembles, timing, serving."""

import numpy as np
import pytest
import trio

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import StandardScaler

from conduit import Conduit, TestClient
from conduit.ml import Pipeline, VotingEnsemble


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def models(iris):
    X, y = iris
    return {
        "scaler": StandardScaler().fit(X),
        "lr": LogisticRegression(max_iter=500).fit(X, y),
        "rf": RandomForestClassifier(10, random_state=0).fit(X, y),
        "gnb": GaussianNB().fit(X, y),
    }


def test_sequential_parallel_and_metrics(iris, models):
    X = iris[0]
    pipe = (
        Pipeline("feat")
        .then(models["scaler"], name="scale")
        .parallel(a=lambda Z: Z[:, :2], b=lambda Z: Z[:, 2:] * 2, name="split")
        .then(lambda Z: Z.sum(axis=1), name="sum")
    )
    want = (models["scaler"].transform(X)[:, :2].sum(1) + 2 * models["scaler"].transform(X)[:, 2:].sum(1))
    np.testing.assert_allclose(pipe.predict(X), want, rtol=1e-12)
    np.testing.assert_allclose(trio.run(pipe.apredict, X), want, rtol=1e-12)
    metrics = pipe.metrics()
    assert list(metrics) == ["scale", "split", "sum"]
    assert all(m["calls"] == 2 and m["total_s"] >= 0 for m in metrics.values())
    assert pipe.n_features_in_ == 4


def test_per_row_routing_keeps_row_order(iris, models):
    X = iris[0]
    pipe = Pipeline("route").route(
        lambda Z: np.where(Z[:, 2] > 2.5, "big", "small"),
        {"big": models["rf"], "small": models["lr"]},
    )
    big = X[:, 2] > 2.5
    want = np.where(big, models["rf"].predict(X), models["lr"].predict(X))
    np.testing.assert_array_equal(pipe.predict(X), want)
    whole = Pipeline("whole", n_features=4).route(lambda Z: len(Z) > 10, {True: models["rf"]},
                                                   default=models["lr"])
    np.testing.assert_array_equal(whole.predict(X[:3]), models["lr"].predict(X[:3]))
    with pytest.raises(ValueError, match="no branch"):
        Pipeline("bad").route(lambda Z: "x", {"y": models["lr"]}).predict(X[:2])


def test_ensemble_stage_equals_voting(iris, models):
    X = iris[0]
    members = [models["lr"], models["rf"], models["gnb"]]
    pipe = Pipeline("vote").ensemble(members, voting="soft", output="predict_proba")
    np.testing.assert_allclose(pipe.predict(X), VotingEnsemble(members).predict_proba(X))


def test_pipeline_served_with_batching(iris, models):
    pipe = (Pipeline("triage")
            .parallel(lr=models["lr"], gnb=models["gnb"], output="predict_proba")
            .then(lambda P: (P[:, :3] + P[:, 3:]).argmax(1), name="combine"))
    app = Conduit()
    app.predict("/predict/triage", pipe)
    with TestClient(app) as c:
        r = c.post("/predict/triage", json={"rows": iris[0][:4].tolist()})
        assert r.status_code == 200 and r.json()["model"] == "triage"
        assert r.json()["predictions"] == pipe.predict(iris[0][:4]).tolist()
        assert c.post("/predict/triage", json={"rows": [[1]]}).status_code == 422
        stages = c.get("/models/triage").json()["versions"][0]["stages"]
        assert [s["name"] for s in stages] == ["parallel0", "combine"]
