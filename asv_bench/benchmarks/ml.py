"""Model inference: compiled kernels beside scikit-learn and ONNX Runtime, same run.

Models (breast-cancer data, 30 features): LogisticRegression, RandomForest(50),
HistGradientBoosting, and a soft VotingClassifier(LR, RF(50), GaussianNB).
``SingleRow``: latency of one prediction (``predict_proba`` for all three
engines, as ONNX Runtime computes labels and probabilities together).
``Throughput``: 10,000 rows per call. Kernels, sessions and models are warmed in
``setup`` so compile time never enters a timing.

Run one process for a quick table: ``python asv_bench/benchmarks/ml.py``.
"""

from __future__ import annotations

import numpy as np

MODELS = ["logistic", "random_forest_50", "hist_gradient_boosting", "soft_voting"]
ENGINES = ["conduit", "sklearn", "onnxruntime"]


def _fit(name):
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB

    X, y = load_breast_cancer(return_X_y=True)
    make = {
        "logistic": lambda: LogisticRegression(max_iter=10000),
        "random_forest_50": lambda: RandomForestClassifier(50, random_state=0),
        "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(random_state=0),
        "soft_voting": lambda: VotingClassifier(
            [("lr", LogisticRegression(max_iter=10000)), ("rf", RandomForestClassifier(50, random_state=0)),
             ("gnb", GaussianNB())], voting="soft"),
    }[name]
    return make().fit(X, y), X


def _rows(X, n, seed=0):
    rng = np.random.default_rng(seed)
    rows = X[rng.integers(0, len(X), n)] * rng.normal(1.0, 0.05, size=(n, X.shape[1]))
    return np.ascontiguousarray(rows)


def _engine(name, estimator):
    if name == "conduit":
        from conduit.ml import compile

        model = compile(estimator)
        model.warm_up()
        return model.predict_proba
    if name == "sklearn":
        return estimator.predict_proba
    import onnxruntime as ort
    from skl2onnx import to_onnx

    n_features = estimator.n_features_in_
    onx = to_onnx(estimator, np.zeros((1, n_features), dtype=np.float32),
                  options={id(estimator): {"zipmap": False}})
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onx.SerializeToString(), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    proba_name = session.get_outputs()[1].name

    def run(X):
        return session.run([proba_name], {input_name: X.astype(np.float32)})[0]

    return run


def _engine_or_skip(engine, model, estimator):
    """The engine's predict, or an asv skip (NotImplementedError) with a one-line reason."""
    try:
        return _engine(engine, estimator)
    except Exception as exc:  # skl2onnx may not convert this model/version
        reason = str(exc).splitlines()[0][:160]
        raise NotImplementedError(f"{engine} cannot run {model}: {type(exc).__name__}: {reason}") from None


class SingleRow:
    params = (MODELS, ENGINES)
    param_names = ["model", "engine"]
    timeout = 300

    def setup(self, model, engine):
        estimator, X = _fit(model)
        self.row = _rows(X, 1)
        self.predict = _engine_or_skip(engine, model, estimator)
        self.predict(self.row)

    def time_predict_proba_one_row(self, model, engine):
        self.predict(self.row)


class Throughput:
    params = (MODELS, ENGINES)
    param_names = ["model", "engine"]
    timeout = 300

    def setup(self, model, engine):
        estimator, X = _fit(model)
        self.rows = _rows(X, 10_000)
        self.predict = _engine_or_skip(engine, model, estimator)
        self.predict(self.rows)

    def time_predict_proba_10k_rows(self, model, engine):
        self.predict(self.rows)


def main() -> None:
    import timeit

    print("| model | engine | 1 row (µs) | 10,000 rows (rows/s) |")
    print("|---|---|---:|---:|")
    for model in MODELS:
        estimator, X = _fit(model)
        row, rows = _rows(X, 1), _rows(X, 10_000)
        for engine in ENGINES:
            try:
                predict = _engine(engine, estimator)
            except Exception as exc:  # skl2onnx may not convert this model/version
                print(f"| {model} | {engine} | n/a ({type(exc).__name__}) | n/a |", flush=True)
                continue
            predict(row)
            predict(rows)
            number = 2000 if engine != "sklearn" else 50
            one = min(timeit.repeat(lambda: predict(row), number=number, repeat=5)) / number
            many = min(timeit.repeat(lambda: predict(rows), number=3, repeat=3)) / 3
            print(f"| {model} | {engine} | {one * 1e6:,.1f} | {10_000 / many:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
