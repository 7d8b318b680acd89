"""Model inference: compiled kernels beside scikit-learn and ONNX Runtime, same run.

Models (breast-cancer data, 30 features): LogisticRegression, RandomForest(50),
HistGradientBoosting, and a soft VotingClassifier(LR, RF(50), GaussianNB).
``SingleRow``: latency of one prediction (``predict_proba`` for all three
engines, as ONNX Runtime computes labels and probabilities together).
``Throughput``: 10,000 rows per call. Kernels, sessions and models are warmed in
``setup`` so compile time never enters a timing.

``TreeBatch``: 10,000 rows through RandomForest(100), LightGBM and XGBoost (100 trees
each) beside the library's own ``predict_proba`` and tl2cgen (treelite's C compiler; the
peer gets its ``DMatrix`` built in advance and both cores), outputs checked equal first.

Run one process for a quick table: ``python asv_bench/benchmarks/ml.py``; the tree
batch table, alternating rounds with the load average: ``python asv_bench/benchmarks/ml.py trees``.
"""

from __future__ import annotations

import functools
import os

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


TREE_MODELS = ["random_forest_100", "lightgbm", "xgboost"]
TREE_ENGINES = ["conduit", "library", "tl2cgen"]


@functools.lru_cache(maxsize=None)
def _tree_data():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=20_000, n_features=28, n_informative=14, random_state=0)
    return np.ascontiguousarray(X[:10_000]), y[:10_000], np.ascontiguousarray(X[10_000:])


@functools.lru_cache(maxsize=None)
def _fit_tree(name):
    X, y, _ = _tree_data()
    if name == "random_forest_100":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(100, random_state=0).fit(X, y)
    if name == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(verbose=-1, random_state=0).fit(X, y)
    import xgboost

    return xgboost.XGBClassifier(random_state=0).fit(X, y)


def _tl2cgen(name, estimator):
    """The model compiled by tl2cgen into a shared library; ``predict(dmatrix)``, ``dmatrix``."""
    import hashlib
    import tempfile

    import tl2cgen
    import treelite

    if name == "random_forest_100":
        model = treelite.sklearn.import_model(estimator)
    elif name == "lightgbm":
        model = treelite.frontend.from_lightgbm(estimator.booster_)
    else:
        model = treelite.frontend.from_xgboost(estimator.get_booster())
    # gcc takes minutes over 100 deep trees: the library is kept, keyed by the model's bytes
    digest = hashlib.sha256(model.serialize_bytes()).hexdigest()[:16]
    library = os.path.join(tempfile.gettempdir(), f"conduit-bench-tl2cgen-{name}-{digest}.so")
    if not os.path.exists(library):
        tl2cgen.export_lib(model, toolchain="gcc", libpath=library + ".part", params={"parallel_comp": 8})
        os.replace(library + ".part", library)
    predictor = tl2cgen.Predictor(library, nthread=os.cpu_count())
    _, _, rows = _tree_data()
    dtype = "float32" if name == "xgboost" else "float64"
    matrix = tl2cgen.DMatrix(rows.astype(dtype), dtype=dtype)

    def run(_rows):
        out = predictor.predict(matrix).reshape(len(rows), -1)
        return out if out.shape[1] > 1 else np.column_stack([1.0 - out[:, 0], out[:, 0]])

    return run


def _tree_engine(name, engine):
    estimator = _fit_tree(name)
    if engine == "conduit":
        from conduit.ml import compile

        model = compile(estimator)
        model.warm_up()
        return model.predict_proba
    if engine == "library":
        return estimator.predict_proba
    try:
        return _tl2cgen(name, estimator)
    except ImportError as exc:
        raise NotImplementedError(f"tl2cgen is not installed ({exc})") from None


class TreeBatch:
    params = (TREE_MODELS, TREE_ENGINES)
    param_names = ["model", "engine"]
    timeout = 600

    def setup(self, model, engine):
        _, _, self.rows = _tree_data()
        self.predict = _tree_engine(model, engine)
        expected = _fit_tree(model).predict_proba(self.rows)
        np.testing.assert_allclose(self.predict(self.rows), expected, rtol=1e-5, atol=1e-6)

    def time_predict_proba_10k_rows(self, model, engine):
        self.predict(self.rows)


def trees_main(rounds: int = 5) -> None:
    """Alternating rounds (engine order rotates each round); median of each engine's best-of-5;
    then Conduit's one-row latency (best of 5 x 500 calls), and the CPU time of one call (all
    threads, best of 5), which the other jobs on a shared machine disturb less than wall time."""
    import statistics
    import time
    import timeit

    def cpu_ms(predict, rows):
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            predict(rows)
            best = min(best, time.process_time() - start)
        return best * 1e3

    print("| model | conduit ms | library ms | tl2cgen ms | vs library | vs tl2cgen | conduit, one row µs "
          "| CPU ms, conduit / library | load (1 min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for model in TREE_MODELS:
        _, _, rows = _tree_data()
        engines = {}
        for engine in TREE_ENGINES:
            try:
                engines[engine] = _tree_engine(model, engine)
            except NotImplementedError:
                continue
            engines[engine](rows)
        times: dict[str, list[float]] = {e: [] for e in engines}
        order = list(engines)
        for r in range(rounds):
            for engine in order[r % len(order):] + order[:r % len(order)]:
                times[engine].append(min(timeit.repeat(lambda: engines[engine](rows), number=1, repeat=5)))
        ms = {e: statistics.median(t) * 1e3 for e, t in times.items()}
        one = rows[:1]
        one_us = min(timeit.repeat(lambda: engines["conduit"](one), number=500, repeat=5)) / 500 * 1e6
        cpu = f"{cpu_ms(engines['conduit'], rows):.1f} / {cpu_ms(engines['library'], rows):.1f}"
        load = os.getloadavg()[0]
        peer = f"{ms['tl2cgen']:.2f} | {ms['tl2cgen'] / ms['conduit']:.2f}x" if "tl2cgen" in ms else "n/a | n/a"
        print(f"| {model} | {ms['conduit']:.2f} | {ms['library']:.2f} | {peer.split(' | ')[0]} | "
              f"{ms['library'] / ms['conduit']:.2f}x | {peer.split(' | ')[1]} | {one_us:.1f} | {cpu} | "
              f"{load:.2f}{' (load >= 2)' if load >= 2 else ''} |", flush=True)


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
    import sys

    trees_main() if sys.argv[1:] == ["trees"] else main()
