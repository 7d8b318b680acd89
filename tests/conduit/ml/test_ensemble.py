"""Compiled voting and stacking ensembles equal scikit-learn's."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")

from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeRegressor

from conduit.ml import VotingEnsemble, compile


def _members():
    return [
        ("lr", LogisticRegression(max_iter=500)),
        ("rf", RandomForestClassifier(10, random_state=0)),
        ("gnb", GaussianNB()),
    ]


@pytest.fixture(params=[2, 3], ids=["binary", "multiclass"])
def classification(request):
    X, y = make_classification(n_samples=200, n_features=5, n_informative=3,
                               n_classes=request.param, random_state=1)
    return X, np.array(["a", "b", "c"])[y]


@pytest.mark.parametrize("voting", ["soft", "hard"])
@pytest.mark.parametrize("weights", [None, [2.0, 1.0, 0.5]])
def test_voting_classifier(classification, voting, weights, rng):
    X, y = classification
    estimator = VotingClassifier(_members(), voting=voting, weights=weights).fit(X, y)
    model = compile(estimator)
    assert model.path == "compiled" and model.kind == f"voting:{voting}"
    for batch in (X, rng.normal(size=(30, 5)) * 3, X[:1]):
        np.testing.assert_array_equal(model.predict(batch), estimator.predict(batch))
        if voting == "soft":
            np.testing.assert_allclose(model.predict_proba(batch), estimator.predict_proba(batch),
                                       rtol=1e-12, atol=1e-13)
    assert [m["estimator"] for m in model.describe()["members"]] == [
        "LogisticRegression", "RandomForestClassifier", "GaussianNB"]


def test_hard_voting_ties_go_to_the_first_class():
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=1, n_classes=3,
                               random_state=3)
    estimator = VotingClassifier(
        [("lr", LogisticRegression()), ("gnb", GaussianNB())], voting="hard"
    ).fit(X, y)
    np.testing.assert_array_equal(compile(estimator).predict(X), estimator.predict(X))


@pytest.mark.parametrize("weights", [None, [1.0, 3.0, 0.25]])
def test_voting_regressor(weights, rng):
    X, y = make_regression(n_samples=200, n_features=5, random_state=2)
    estimator = VotingRegressor(
        [("lin", LinearRegression()), ("rf", RandomForestRegressor(8, random_state=0)),
         ("tree", DecisionTreeRegressor(max_depth=4))],
        weights=weights,
    ).fit(X, y)
    model = compile(estimator)
    batch = rng.normal(size=(40, 5))
    np.testing.assert_allclose(model.predict(batch), estimator.predict(batch), rtol=1e-12)


def test_median_and_unweighted_mean_of_compiled_members(rng):
    X, y = make_regression(n_samples=150, n_features=4, random_state=4)
    members = [LinearRegression().fit(X, y), Ridge(alpha=10).fit(X, y),
               DecisionTreeRegressor(max_depth=3).fit(X, y)]
    batch = rng.normal(size=(25, 4))
    stacked = np.stack([m.predict(batch) for m in members])
    np.testing.assert_allclose(VotingEnsemble(members, voting="median").predict(batch),
                               np.median(stacked, axis=0), rtol=1e-12)
    np.testing.assert_allclose(VotingEnsemble(members, voting="mean").predict(batch),
                               stacked.mean(axis=0), rtol=1e-12)


def test_stacking_classifier(classification, rng):
    X, y = classification
    estimator = StackingClassifier(
        _members(), final_estimator=LogisticRegression(), passthrough=True, cv=3
    ).fit(X, y)
    model = compile(estimator)
    assert model.path == "compiled" and model.kind == "stacking"
    batch = rng.normal(size=(30, 5))
    np.testing.assert_array_equal(model.predict(batch), estimator.predict(batch))
    np.testing.assert_allclose(model.predict_proba(batch), estimator.predict_proba(batch),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.transform(batch), estimator.transform(batch),
                               rtol=1e-12, atol=1e-13)


def test_stacking_regressor(rng):
    X, y = make_regression(n_samples=150, n_features=5, random_state=5)
    estimator = StackingRegressor(
        [("lin", LinearRegression()), ("rf", RandomForestRegressor(5, random_state=0))],
        final_estimator=Ridge(), cv=3,
    ).fit(X, y)
    batch = rng.normal(size=(20, 5))
    np.testing.assert_allclose(compile(estimator).predict(batch), estimator.predict(batch),
                               rtol=1e-10)


def test_ensemble_with_a_fallback_member_is_partial(classification):
    X, y = classification
    estimator = VotingClassifier(
        [("knn", KNeighborsClassifier(3)), ("hgb", HistGradientBoostingClassifier(max_iter=5))],
        voting="soft",
    ).fit(X, y)
    model = compile(estimator)
    assert model.path == "partial"
    np.testing.assert_array_equal(model.predict(X), estimator.predict(X))


def test_members_must_agree():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    with pytest.raises(ValueError, match="feature count"):
        VotingEnsemble([LogisticRegression().fit(X, y), LogisticRegression().fit(X[:, :3], y)])
    with pytest.raises(ValueError, match="voting must be one of"):
        VotingEnsemble([LogisticRegression().fit(X, y)], voting="avg")
