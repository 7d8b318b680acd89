"""Crafted LightGBM / XGBoost model files (issue 23): each is a ModelLoadError naming the
problem, never a segfault, a hang, an abort or an out-of-bounds read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

lgb = pytest.importorskip("lightgbm", reason="lightgbm is in the test extra (./dev test installs it)")
xgb = pytest.importorskip("xgboost", reason="xgboost is in the test extra (./dev test installs it)")

from conduit.ml import ModelLoadError, compile, load_model  # noqa: E402

N_FEATURES = 4


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(23)
    X = rng.normal(size=(300, N_FEATURES))
    return X, X[:, 0] + X[:, 1] * X[:, 2]


@pytest.fixture(scope="module")
def lgb_text(data) -> str:
    X, y = data
    model = lgb.LGBMRegressor(n_estimators=3, num_leaves=4, verbose=-1).fit(X, y)
    return model.booster_.model_to_string()


@pytest.fixture(scope="module")
def xgb_json(data) -> dict:
    X, y = data
    model = xgb.XGBRegressor(n_estimators=3, max_depth=2).fit(X, y)
    return json.loads(bytes(model.get_booster().save_raw("json")))


def _first_tree_field(text: str, key: str, change) -> str:
    """``text`` with ``key=...`` of the first tree rewritten by ``change(list of str)``."""
    pattern = re.compile(rf"^{key}=(.*)$", re.MULTILINE)
    start = text.index("Tree=0")
    match = pattern.search(text, start)
    items = match.group(1).split()
    return text[: match.start(1)] + " ".join(change(items)) + text[match.end(1):]


def _set(at: int, value: str):
    def change(items):
        items[at] = value
        return items
    return change


def _load_lgb(tmp_path: Path, text: str):
    path = tmp_path / "model.lgb"
    path.write_text(text)
    return load_model(path)


def _load_xgb(tmp_path: Path, model: dict, name: str = "model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(model))
    return load_model(path, format="xgboost")


LGB_ATTACKS = [
    ("lightgbm left_child=0", "left_child", _set(0, "0"), "child of a node: a cycle|cycle"),
    ("lightgbm child pointing to its own node", "left_child", _set(1, "1"), "child of 2 nodes|cycle"),
    ("lightgbm child index out of range", "right_child", _set(0, "7"), "outside nodes"),
    ("lightgbm leaf index out of range", "left_child", _set(1, "-9"), "outside nodes"),
    ("lightgbm split on feature 999 of 4", "split_feature", _set(0, "999"), "feature 999 of 4"),
    ("lightgbm negative feature", "split_feature", _set(0, "-2"), "feature -2"),
    ("lightgbm leaf value NaN", "leaf_value", _set(0, "nan"), "not finite"),
    ("lightgbm leaf value inf", "leaf_value", _set(2, "inf"), "not finite"),
    ("lightgbm child array too short", "left_child", lambda items: items[:-1], "entries, expected"),
    ("lightgbm num_leaves 10^12", "num_leaves", lambda items: ["1000000000000"], "entries, expected"),
    ("lightgbm threshold not a number", "threshold", _set(0, "abc"), "not a number"),
]


@pytest.mark.parametrize("what, key, change, message", LGB_ATTACKS, ids=[a[0] for a in LGB_ATTACKS])
def test_crafted_lightgbm_file_is_model_load_error(tmp_path, lgb_text, what, key, change, message):
    with pytest.raises(ModelLoadError, match=message) as info:
        _load_lgb(tmp_path, _first_tree_field(lgb_text, key, change))
    assert "model.lgb" in str(info.value) and "Tree=0" in str(info.value)


def test_lightgbm_tree_sizes_that_lie_cannot_abort_the_process(tmp_path, lgb_text, data):
    """LightGBM jumps to the offsets in ``tree_sizes``; wrong ones abort it (std::terminate)."""
    lying = re.sub(r"^tree_sizes=.*$", "tree_sizes=4880 4 488", lgb_text, flags=re.MULTILINE)
    booster = _load_lgb(tmp_path, lying)
    X, _ = data
    reference = lgb.Booster(model_str=lgb_text).predict(X)
    np.testing.assert_allclose(booster.predict(X), reference)
    np.testing.assert_allclose(compile(booster).predict(X), reference, rtol=1e-12)


def test_lightgbm_header_lies_are_model_load_errors(tmp_path, lgb_text):
    for old, new, message in [("max_feature_idx=3", "max_feature_idx=999999999999", "feature names"),
                              ("num_class=1", "num_class=100000000", "num_class"),
                              ("max_feature_idx=3", "max_feature_idx=x", "max_feature_idx")]:
        with pytest.raises(ModelLoadError, match=message):
            _load_lgb(tmp_path, lgb_text.replace(old, new, 1))
    with pytest.raises(ModelLoadError, match="not a LightGBM text model"):
        _load_lgb(tmp_path, "hello=1\n")


def _xgb_tree0(model: dict) -> dict:
    return model["learner"]["gradient_booster"]["model"]["trees"][0]


def _xgb(change):
    def apply(model: dict) -> dict:
        model = json.loads(json.dumps(model))
        change(_xgb_tree0(model))
        return model
    return apply


XGB_ATTACKS = [
    ("xgboost child index out of range", _xgb(lambda t: t["left_children"].__setitem__(1, 99)), "outside nodes"),
    ("xgboost child pointing to its own node", _xgb(lambda t: t["left_children"].__setitem__(1, 1)),
     "child of 2 nodes|cycle"),
    ("xgboost child pointing to the root", _xgb(lambda t: t["right_children"].__setitem__(1, 0)), "cycle"),
    ("xgboost split on feature 999 of 4", _xgb(lambda t: t["split_indices"].__setitem__(0, 999)),
     "feature 999 of 4"),
    ("xgboost leaf value NaN", _xgb(lambda t: t["split_conditions"].__setitem__(3, float("nan"))), "not finite"),
]


@pytest.mark.parametrize("what, attack, message", XGB_ATTACKS, ids=[a[0] for a in XGB_ATTACKS])
def test_crafted_xgboost_file_is_model_load_error(tmp_path, xgb_json, what, attack, message):
    with pytest.raises(ModelLoadError, match=message) as info:
        _load_xgb(tmp_path, attack(xgb_json))
    assert "model.json" in str(info.value) and "tree 0" in str(info.value)


def test_crafted_xgboost_ubj_file_is_model_load_error(tmp_path, xgb_json):
    """The binary format reaches the same check (XGBoost converts; the trees are read back)."""
    bad = XGB_ATTACKS[0][1](xgb_json)
    booster = xgb.Booster()
    booster.load_model(bytearray(json.dumps(bad).encode()))  # XGBoost itself accepts it
    path = tmp_path / "model.ubj"
    booster.save_model(path)
    with pytest.raises(ModelLoadError, match="outside nodes"):
        load_model(path)


def test_valid_booster_files_still_load_and_compile_equal(tmp_path, lgb_text, xgb_json, data):
    X, _ = data
    booster = _load_lgb(tmp_path, lgb_text)
    np.testing.assert_allclose(compile(booster).predict(X), booster.predict(X), rtol=1e-12)
    booster = _load_xgb(tmp_path, xgb_json)
    np.testing.assert_allclose(compile(booster).predict(X), booster.predict(xgb.DMatrix(X)), rtol=1e-6,
                               atol=1e-6)


# --- mutation fuzzing: rewrite numbers in the tree tables, truncate, flip bytes ---

def _mutate_text(text: str, choice: int, value: int, mode: str) -> str:
    if mode == "truncate":
        return text[: choice % (len(text) + 1)]
    if mode == "flip":
        at = choice % len(text)
        return text[:at] + chr((ord(text[at]) ^ (value % 127 + 1)) % 128) + text[at + 1:]
    numbers = list(re.finditer(r"(?<=[= ])-?\d+(?=[ \n])", text[text.index("Tree=0"):]))
    m = numbers[choice % len(numbers)]
    at = text.index("Tree=0")
    return text[: at + m.start()] + str(value) + text[at + m.end():]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.integers(0, 10**6), value=st.integers(-10, 10) | st.integers(-2**40, 2**40),
       mode=st.sampled_from(["number", "number", "truncate", "flip"]))
def test_mutated_lightgbm_files_load_and_predict_or_raise_model_load_error(tmp_path, lgb_text, data, choice,
                                                                            value, mode):
    text = _mutate_text(lgb_text, choice, value, mode)
    try:
        booster = _load_lgb(tmp_path, text)
    except ModelLoadError:
        return
    X, _ = data
    compiled = compile(booster)
    assert compiled.predict(X).shape[0] == X.shape[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.integers(0, 2), key=st.sampled_from(["left_children", "right_children", "split_indices",
                                                     "split_conditions", "default_left"]),
       at=st.integers(0, 100), value=st.integers(-3, 10) | st.integers(-2**31, 2**31 - 1))
def test_mutated_xgboost_files_load_and_predict_or_raise_model_load_error(tmp_path, xgb_json, data, tree, key,
                                                                           at, value):
    model = json.loads(json.dumps(xgb_json))
    table = model["learner"]["gradient_booster"]["model"]["trees"][tree][key]
    table[at % len(table)] = value
    try:
        booster = _load_xgb(tmp_path, model)
    except ModelLoadError:
        return
    X, _ = data
    np.testing.assert_allclose(compile(booster).predict(X), booster.predict(xgb.DMatrix(X)), rtol=1e-5,
                               atol=1e-5)


def test_model_file_too_large_for_the_address_space_is_model_load_error(tmp_path):
    """A 4 GiB (sparse) file under a 2 GiB address-space limit: ModelLoadError, not MemoryError."""
    path = tmp_path / "huge.joblib"
    with open(path, "wb") as f:
        f.truncate(4 << 30)
    script = textwrap.dedent(f"""
        import resource
        from conduit.ml import ModelLoadError, load_model
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))
        try:
            load_model({str(path)!r})
        except ModelLoadError as exc:
            print("ModelLoadError:", exc)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ModelLoadError:" in out.stdout and "do not fit" in out.stdout and "huge.joblib" in out.stdout
