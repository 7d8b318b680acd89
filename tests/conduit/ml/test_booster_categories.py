"""Boosters trained on pandas ``category`` columns take the category values, coded by the
library's own mapping; an unseen category follows the library's rule; the document lists them."""

import math
import warnings

import httpx
import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm", reason="lightgbm is in the test extra (./dev test installs it)")
xgb = pytest.importorskip("xgboost", reason="xgboost is in the test extra (./dev test installs it)")
pd = pytest.importorskip("pandas", reason="pandas is in the test extra (./dev test installs it)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit import Conduit, LiveServer
from conduit.ml import InvalidInput, compile, load_model

PLANS = ["free", "pro", "team"]
SEATS = [3, 7, 11]


def training_frame(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "plan": pd.Categorical(rng.choice(PLANS, n)),
        "seats": pd.Categorical(rng.choice(SEATS, n)),
    })
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    y = ((frame["plan"] == "pro") ^ (frame["age"] > 40) | (frame["seats"] == 11)).astype(int)
    return frame, y


@pytest.fixture(scope="module")
def lightgbm_model():
    frame, y = training_frame(0)
    return lgb.LGBMClassifier(n_estimators=15, min_child_samples=5, verbose=-1).fit(frame, y)


@pytest.fixture(scope="module")
def xgboost_model():
    frame, y = training_frame(1)
    return xgb.XGBClassifier(n_estimators=10, max_depth=3, enable_categorical=True,
                             tree_method="hist").fit(frame, y)


@pytest.fixture(scope="module")
def compiled():
    """compile(), once per model (the property tests call it per example)."""
    done = {}

    def get(est):
        if id(est) not in done:
            done[id(est)] = compile(est)
        return done[id(est)]
    return get


def as_frame(rows):
    """Rows (dicts) as the DataFrame a data scientist would pass to the library."""
    frame = pd.DataFrame(rows, columns=["age", "plan", "seats"])
    frame["age"] = frame["age"].astype(float)
    frame["plan"] = pd.Categorical(frame["plan"], categories=PLANS)
    frame["seats"] = pd.Categorical(frame["seats"], categories=SEATS)
    return frame


def test_lightgbm_pandas_category_takes_the_category_strings(lightgbm_model):
    model = compile(lightgbm_model)
    plan = next(c for c in model.describe()["features"] if c["name"] == "plan")
    assert plan == {"name": "plan", "type": "category", "accepts_missing": True, "categories": PLANS}
    rows = [{"age": 30.0, "plan": p, "seats": s} for p in PLANS for s in SEATS]
    np.testing.assert_allclose(model.predict_proba(rows), lightgbm_model.predict_proba(as_frame(rows)), rtol=1e-9)


def test_lightgbm_unseen_category_is_treated_as_missing(lightgbm_model):
    model = compile(lightgbm_model)
    unseen = [{"age": 50.0, "plan": "enterprise", "seats": 99}]
    missing = [{"age": 50.0, "plan": None, "seats": None}]
    np.testing.assert_array_equal(model.predict_proba(unseen), model.predict_proba(missing))
    # the library's own answer on a DataFrame whose categories include the unseen ones
    frame = pd.DataFrame({"age": [50.0], "plan": pd.Categorical(["enterprise"], categories=PLANS + ["enterprise"]),
                          "seats": pd.Categorical([99], categories=SEATS + [99])})
    np.testing.assert_allclose(model.predict_proba(unseen), lightgbm_model.predict_proba(frame), rtol=1e-9)


def test_lightgbm_category_from_its_own_model_file(lightgbm_model, tmp_path):
    path = tmp_path / "plans.lgb"
    lightgbm_model.booster_.save_model(str(path))
    model = compile(load_model(path))
    rows = [{"age": 20.0, "plan": "team", "seats": 3}, {"age": 60.0, "plan": "zzz", "seats": 7}]
    expected = lightgbm_model.booster_.predict(as_frame([rows[0], {**rows[1], "plan": None}]))
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-9)


def test_xgboost_enable_categorical_takes_the_category_strings(xgboost_model):
    model = compile(xgboost_model)
    rows = [{"age": a, "plan": p, "seats": s} for a in (25.0, 55.0, None) for p in PLANS + [None] for s in SEATS]
    np.testing.assert_allclose(model.predict_proba(rows), xgboost_model.predict_proba(as_frame(rows)),
                               rtol=1e-6, atol=1e-6)


def test_xgboost_unseen_category_is_refused_as_the_library_refuses_it(xgboost_model):
    model = compile(xgboost_model)
    for plan, seats in (("zzz", 3), ("pro", 99)):
        frame = pd.DataFrame({"age": [1.0], "plan": pd.Categorical([plan]), "seats": pd.Categorical([seats])})
        with pytest.raises(xgb.core.XGBoostError, match="not in the training set"):
            xgboost_model.predict(frame)
        unknown = plan if seats in SEATS else seats
        with pytest.raises(InvalidInput, match=f"unknown category {unknown!r}"):
            model.predict([{"age": 1.0, "plan": plan, "seats": seats}])


def test_category_values_of_the_wrong_type_are_refused(lightgbm_model):
    model = compile(lightgbm_model)
    for bad, message in ((3, "expected a category string"), (True, "expected a category string"),
                         ([1], "expected a category string")):
        with pytest.raises(InvalidInput, match=message):
            model.predict([{"age": 1.0, "plan": bad, "seats": 3}])
    with pytest.raises(InvalidInput, match="expected a category number"):
        model.predict([{"age": 1.0, "plan": "pro", "seats": {"n": 3}}])


row_strategy = st.fixed_dictionaries({
    "age": st.one_of(st.none(), st.floats(-50, 150, allow_nan=False)),
    "plan": st.one_of(st.none(), st.sampled_from(PLANS + ["enterprise", ""])),
    "seats": st.one_of(st.none(), st.sampled_from(SEATS + [0, 99])),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, min_size=1, max_size=12))
def test_property_lightgbm_equal_to_its_dataframe_predict(lightgbm_model, compiled, rows):
    model = compiled(lightgbm_model)
    frame = pd.DataFrame(rows, columns=["age", "plan", "seats"])
    frame["age"] = frame["age"].astype(float)
    # a DataFrame built from the same values: pandas infers the categories, LightGBM re-maps them
    frame["plan"] = pd.Categorical(frame["plan"])
    frame["seats"] = pd.Categorical(frame["seats"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = lightgbm_model.predict_proba(frame)
    np.testing.assert_allclose(model.predict_proba(rows), expected, rtol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({
    "age": st.one_of(st.none(), st.floats(-50, 150, allow_nan=False, width=32)),
    "plan": st.one_of(st.none(), st.sampled_from(PLANS)),
    "seats": st.one_of(st.none(), st.sampled_from(SEATS))}), min_size=1, max_size=12))
def test_property_xgboost_equal_to_its_dataframe_predict(xgboost_model, compiled, rows):
    model = compiled(xgboost_model)
    np.testing.assert_allclose(model.predict_proba(rows), xgboost_model.predict_proba(as_frame(rows)),
                               rtol=1e-6, atol=1e-6)


def test_served_over_http_with_category_strings_and_listed_in_openapi(lightgbm_model, xgboost_model):
    app = Conduit()
    app.predict("/predict/plans", lightgbm_model, name="plans")
    app.predict("/predict/plans-xgb", xgboost_model, name="plans-xgb", list_path="/models")
    rows = [{"age": 30.0, "plan": "pro", "seats": 7}, {"age": 30.0, "plan": "enterprise", "seats": 7}]
    with LiveServer(app) as server:
        ok = httpx.post(server.url + "/predict/plans", json={"rows": rows, "probabilities": True})
        refused = httpx.post(server.url + "/predict/plans-xgb", json={"rows": rows})
        wrong = httpx.post(server.url + "/predict/plans", json={"rows": [{"age": 1, "plan": 5, "seats": 3}]})
        document = httpx.get(server.url + "/openapi.json").json()
        listed = httpx.get(server.url + "/models/plans").json()["versions"][0]["features"]
    assert ok.status_code == 200, ok.text
    frame = as_frame([rows[0], {**rows[1], "plan": None}])
    np.testing.assert_allclose(ok.json()["probabilities"], lightgbm_model.predict_proba(frame), rtol=1e-9)
    assert refused.status_code == 422
    assert refused.json()["error"]["detail"][0]["loc"] == ["body", "rows", 1, "plan"]
    assert "unknown category 'enterprise'" in refused.json()["error"]["detail"][0]["msg"]
    assert wrong.status_code == 422 and wrong.json()["error"]["detail"][0]["loc"] == ["body", "rows", 0, "plan"]
    schema = document["paths"]["/predict/plans"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    text = str(schema)
    assert all(p in text for p in PLANS)
    assert [c["categories"] for c in listed if c["type"] == "category"] == [PLANS, SEATS]
    assert math.isfinite(ok.json()["probabilities"][1][0])
