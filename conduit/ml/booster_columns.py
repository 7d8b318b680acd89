"""The category columns a LightGBM or XGBoost model was trained on (pandas ``category`` dtypes).

Owns :func:`booster_columns`: for a model fitted on a DataFrame with ``category``
columns, its input columns, with the categories of each such column read from the library's own record of its
mapping -- LightGBM's ``pandas_categorical`` (saved in the model file) and XGBoost's
``cats`` encoder (XGBoost >= 3.1, with ``enable_categorical=True``). A category's code is
its index in that list, which is exactly what the libraries feed their trees, so
:class:`~conduit.ml.columns.InputSchema` can take the category strings. A category the
model never saw is a missing value in LightGBM's rule (pandas codes it -1, which LightGBM
reads as NaN); XGBoost refuses it, and so is it refused here (422). A missing value is NaN
for both.

Knows nothing of the kernels; imports neither library (the objects are read by duck typing).
"""

from __future__ import annotations

import json
from typing import Any

from .columns import Column

__all__ = ["booster_columns"]


def booster_columns(estimator: Any) -> list[Column] | None:
    """The input columns of a booster trained on pandas categories: its own feature names,
    number columns (NaN is missing) and category columns coded by the library's mapping.

    ``None`` for any other model, and for a booster trained on numeric codes (no mapping saved).
    """
    module = type(estimator).__module__.split(".")[0]
    if module == "lightgbm":
        booster = getattr(estimator, "booster_", estimator)
        categories, names, unknown = _lightgbm(booster), booster.feature_name(), "missing"
    elif module == "xgboost":
        get_booster = getattr(estimator, "get_booster", None)
        booster = get_booster() if get_booster is not None else estimator
        # XGBoost refuses a category it never saw ("Found a category not in the training set").
        categories, names, unknown = _xgboost(booster), booster.feature_names, "error"
    else:
        return None
    if not categories or not names:
        return None
    return [Column(name, kind="category", categories=categories[j], unknown=unknown, missing_code=_NAN)
            if j in categories else Column(name) for j, name in enumerate(names)]


#: The code of a missing category: NaN, which both libraries read as missing.
_NAN: Any = float("nan")


def _lightgbm(booster: Any) -> dict[int, list[Any]]:
    categorical = getattr(booster, "pandas_categorical", None)
    if not categorical:
        return {}
    # The categorical features, in column order, are those whose feature_infos lists values;
    # pandas_categorical holds one category list for each, in the same order.
    infos = booster.dump_model(num_iteration=1).get("feature_infos", {})
    names = booster.feature_name()
    features = [j for j, name in enumerate(names) if infos.get(name, {}).get("values")]
    if len(features) != len(categorical):
        return {}
    return {j: list(categories) for j, categories in zip(features, categorical)}


def _xgboost(booster: Any) -> dict[int, list[Any]]:
    model = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]
    cats = model.get("model", {}).get("cats") or {}
    out = {}
    for j, encoding in enumerate(cats.get("enc", [])):
        values = encoding.get("values") or []
        if not values:
            continue
        offsets = encoding.get("offsets")
        if offsets:  # strings: UTF-8 bytes, one segment per category
            raw = bytes(values)
            out[j] = [raw[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]
        else:
            out[j] = list(values)
    return out
