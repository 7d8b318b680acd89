"""Every field of ``GET /models`` is what the served model really does: NaN is sent to each
model (in every column, then in all of them) and the answers are compared with ``accepts_nan``,
``features[].accepts_missing`` and the estimator's own predict."""

import warnings

import httpx
import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="pandas is in the test extra (./dev test installs it)")
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from conduit import Conduit, LiveServer

NAMES = ["a", "b", "c"]


def models():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=NAMES)
    y = (X["a"] > 0).astype(int)
    mixed = X.assign(c=rng.choice(["x", "y", "z"], 120))
    out = {
        "linear": LogisticRegression().fit(X, y),
        "scaled-linear": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        "imputed-linear": make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, y),
        "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
        "hist-boosting": HistGradientBoostingClassifier(max_iter=3).fit(X, y),
        "voting": VotingClassifier([("l", LogisticRegression()), ("t", DecisionTreeClassifier())]).fit(X, y),
        # the pipeline of the issue: NaN is fine in one column (imputed), refused in the others
        "partly-imputed": make_pipeline(ColumnTransformer([("s", StandardScaler(), ["a", "b"]),
                                                           ("i", SimpleImputer(), ["c"])]),
                                        LogisticRegression()).fit(X, y),
        "categories": make_pipeline(ColumnTransformer([("s", StandardScaler(), ["a", "b"]),
                                                       ("o", OneHotEncoder(handle_unknown="ignore"), ["c"])]),
                                    LogisticRegression()).fit(mixed, y),
    }
    lgb = pytest.importorskip("lightgbm", reason="lightgbm is in the test extra (./dev test installs it)")
    out["lightgbm"] = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    return out, mixed.iloc[:1]


def library_accepts(estimator, row) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.predict(row)
    except ValueError:
        return False
    return True


def test_accepts_nan_and_every_listed_field_match_what_each_model_does():
    estimators, mixed_row = models()
    app = Conduit()
    for name, est in estimators.items():
        app.predict(f"/predict/{name}", est, name=name)
    with LiveServer(app) as server:
        listing = httpx.get(server.url + "/models").json()["models"]
        for name, est in estimators.items():
            described = listing[name]["versions"][0]
            base = mixed_row.copy() if name == "categories" else mixed_row.assign(c=0.5)
            row = {k: (v.item() if hasattr(v, "item") else v) for k, v in base.iloc[0].items()}
            # each column missing in turn, then all of them
            for column in [*NAMES, None]:
                sent = {k: (None if column in (None, k) else v) for k, v in row.items()}
                frame = base.copy()
                for k in NAMES:
                    if column in (None, k):
                        frame[k] = np.nan if k != "c" or name != "categories" else None
                answer = httpx.post(server.url + f"/predict/{name}", json={"row": sent})
                assert answer.status_code in (200, 422), answer.text
                served = answer.status_code == 200
                assert served == library_accepts(est, frame), (name, column, answer.text)
                if column is None:
                    assert described["accepts_nan"] == served, (name, described)
                else:
                    feature = next(f for f in described["features"] if f["name"] == column)
                    assert feature["accepts_missing"] == served, (name, column, feature)
            assert described["n_features"] == est.n_features_in_
            assert described["classes"] == est.classes_.tolist()
            # what is listed, the estimator has; probabilities exactly when the estimator gives them
            assert all(hasattr(est, m) for m in described["methods"]), name
            assert ("predict_proba" in described["methods"]) == hasattr(est, "predict_proba"), name
            probabilities = httpx.post(server.url + f"/predict/{name}", json={"row": row, "probabilities": True})
            assert probabilities.status_code == (200 if "predict_proba" in described["methods"] else 422)
