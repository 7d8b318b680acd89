"""A Pipeline stage fed the wrong thing fails with a ValueError naming the stage, not a Numba error."""

from __future__ import annotations

import numpy as np
import pytest
import trio

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from conduit.ml import Pipeline


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=500).fit(X, y), GaussianNB().fit(X, y)


def test_labels_fed_to_a_model_stage_name_the_stage(iris):
    X, _, lr, gnb = iris
    pipe = Pipeline("triage").then(lr, name="classify").ensemble([lr, gnb], name="vote")
    for run in (pipe.predict, lambda X: trio.run(pipe.apredict, X)):
        with pytest.raises(ValueError) as info:
            run(X)
        message = str(info.value)
        assert "pipeline 'triage', stage 'vote'" in message
        assert "4 columns" in message and "shape (150,)" in message and "predict_proba" in message
        assert "Typing" not in message


def test_wrong_width_is_named_too(iris):
    X, _, lr, gnb = iris
    pipe = Pipeline("p", n_features=4).then(lambda Z: Z[:, :3], name="drop").then(gnb, name="nb")
    with pytest.raises(ValueError, match=r"stage 'nb' \(then\).*4 columns.*shape \(2, 3\)"):
        pipe.predict(X[:2])


def test_integer_features_are_accepted_and_the_right_shape_runs(iris):
    X, y, lr, gnb = iris
    pipe = Pipeline("ok").then(lr, name="proba", output="predict_proba").then(lambda P: np.hstack([P, P[:, :1]]),
                                                                              name="pad").then(gnb, name="nb")
    assert pipe.predict(X[:5]).shape == (5,)
    ints = Pipeline("ints").then(gnb, name="nb")
    np.testing.assert_array_equal(trio.run(ints.apredict, X.astype(np.int64)), gnb.predict(X.astype(np.int64)))
