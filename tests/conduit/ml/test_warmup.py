"""The app's warm-up loads every ML kernel: models registered after start-up load none."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")

SCRIPT = textwrap.dedent("""
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor, VotingClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from conduit import Conduit
    from conduit.ml import ModelRegistry
    from conduit_kernels import ensemble, linear, naive_bayes, preprocessing, svm, trees

    X, y = load_breast_cancer(return_X_y=True)
    app = Conduit()
    app.predict("/predict", LinearRegression().fit(X, y), name="first")
    app.warmup()
    dispatchers = [getattr(m, n) for m in (ensemble, linear, naive_bayes, preprocessing, svm, trees)
                   for n in m.__all__ if hasattr(getattr(m, n), "signatures")]
    before = {id(d): len(d.signatures) for d in dispatchers}
    assert all(before.values()), [d.__name__ for d in dispatchers if not d.signatures]
    registry = ModelRegistry()
    for name, model in {
        "lr": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y),
        "hgb": HistGradientBoostingClassifier(max_iter=5).fit(X, y),
        "rf": RandomForestRegressor(3).fit(X, y),
        "nb": GaussianNB().fit(X, y),
        "svc": SVC().fit(X, y),
        "vote": VotingClassifier([("a", LogisticRegression(max_iter=5000)), ("b", GaussianNB())],
                                 voting="soft").fit(X, y),
    }.items():
        registry.register(name, model)
        registry.get(name).model.predict(X)
        registry.get(name).model.predict(np.repeat(X, 8, axis=0))
    grew = [d.__name__ for d in dispatchers if len(d.signatures) != before[id(d)]]
    assert not grew, f"kernels loaded after start-up: {grew}"
    print("ok")
""")


def test_registrations_after_warm_up_load_no_kernel():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
