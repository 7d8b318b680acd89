"""Fitted scikit-learn estimators -> kernel arrays (a :class:`Plan`).

Owns the reading of each supported estimator's fitted attributes and their encoding
as the arrays the ``conduit_kernels`` inference kernels take, together with the
output rules (link, label rule, shape) that make the kernels' output equal the
estimator's. Converters are looked up by exact class (a subclass may override
``predict``, so it is not assumed compatible); :func:`convert` returns ``None`` for
anything it does not know, and the caller falls back to the estimator itself.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from conduit_kernels import linear, naive_bayes, svm, trees
from conduit_kernels._links import LabelRule, Link
from conduit_kernels.preprocessing import affine_stage, no_preprocessing

from .plan import FOREST_KERNELS, Plan, Unsupported

__all__ = ["FOREST_KERNELS", "Plan", "Unsupported", "convert", "scaler_stages"]


_LINEAR = ((linear.linear_scores, linear.linear_scores_parallel),
           (linear.linear_labels, linear.linear_labels_parallel))
_FOREST = FOREST_KERNELS
_SVM = ((svm.svm_scores, svm.svm_scores_parallel), (svm.svm_labels, svm.svm_labels_parallel))
_NB = ((naive_bayes.gaussian_nb_scores,) * 2, (naive_bayes.gaussian_nb_labels,) * 2)


def _f64(a: Any, ndim: int) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    return a.reshape((1,) * (ndim - a.ndim) + a.shape) if a.ndim < ndim else a


def _nf(est: Any) -> int:
    return int(est.n_features_in_)


# --- linear models -------------------------------------------------------------


def _linear_classifier(est: Any, pre: np.ndarray, *, proba: bool) -> Plan:
    coef = _f64(est.coef_, 2)
    intercept = np.broadcast_to(_f64(est.intercept_, 1), (coef.shape[0],)).copy()
    classes = np.asarray(est.classes_)
    binary = coef.shape[0] == 1
    return Plan(
        "linear", _nf(est), *_LINEAR, (coef, intercept, pre), classes,
        proba_link=(Link.LOGISTIC if binary else Link.SOFTMAX) if proba else None,
        label_rule=LabelRule.POSITIVE if binary else LabelRule.ARGMAX,
        decision=True, ravel=binary,
    )


def _logistic(est: Any, pre: np.ndarray) -> Plan:
    if getattr(est, "multi_class", "auto") == "ovr" and len(est.classes_) > 2:
        raise Unsupported("one-vs-rest LogisticRegression probabilities are not compiled")
    return _linear_classifier(est, pre, proba=True)


def _linear_regressor(est: Any, pre: np.ndarray) -> Plan:
    raw_coef = np.asarray(est.coef_)
    coef = _f64(raw_coef, 2)
    intercept = np.broadcast_to(_f64(est.intercept_, 1), (coef.shape[0],)).copy()
    return Plan("linear", _nf(est), _LINEAR[0], None, (coef, intercept, pre),
                ravel=raw_coef.ndim == 1, n_outputs=coef.shape[0])


# --- naive Bayes ---------------------------------------------------------------


def _gaussian_nb(est: Any, pre: np.ndarray) -> Plan:
    var = _f64(est.var_, 2)
    # Same expressions as GaussianNB._joint_log_likelihood, per class.
    log_prior = np.array([np.log(p) for p in est.class_prior_], dtype=np.float64)
    log_norm = np.array([-0.5 * np.sum(np.log(2.0 * np.pi * var[i, :])) for i in range(var.shape[0])])
    return Plan("gaussian_nb", _nf(est), *_NB, (_f64(est.theta_, 2), var, log_prior, log_norm, pre),
                np.asarray(est.classes_), proba_link=Link.LOG_NORMALIZE)


# --- support vector machines ------------------------------------------------------


def _svm_args(est: Any, pre: np.ndarray) -> tuple:
    kernel = est.kernel
    codes = {"linear": svm.SvmKernel.LINEAR, "poly": svm.SvmKernel.POLY, "rbf": svm.SvmKernel.RBF,
             "sigmoid": svm.SvmKernel.SIGMOID}
    if not isinstance(kernel, str) or kernel not in codes:
        raise Unsupported(f"{type(est).__name__}(kernel={kernel!r}) is not compiled")
    params = np.array([codes[kernel], est._gamma, est.coef0, est.degree], dtype=np.float64)
    return (_f64(est.support_vectors_, 2), _f64(est.dual_coef_, 2), _f64(est.intercept_, 1), params, pre)


def _svr(est: Any, pre: np.ndarray) -> Plan:
    return Plan("svm", _nf(est), _SVM[0], None, _svm_args(est, pre), ravel=True)


def _ovo_dual(est: Any) -> np.ndarray:
    """libsvm's one-vs-one coefficients as one dense row per class pair over all SVs.

    For the pair (i, j), class i's support vectors carry ``dual_coef_[j - 1]`` and class
    j's carry ``dual_coef_[i]`` (libsvm's layout, which scikit-learn keeps).
    """
    dual = np.asarray(est.dual_coef_, dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum(est.n_support_)])
    k = len(est.classes_)
    rows = []
    for i in range(k):
        for j in range(i + 1, k):
            row = np.zeros(dual.shape[1])
            row[starts[i]:starts[i + 1]] = dual[j - 1, starts[i]:starts[i + 1]]
            row[starts[j]:starts[j + 1]] = dual[i, starts[j]:starts[j + 1]]
            rows.append(row)
    return np.ascontiguousarray(rows)


def _svc(est: Any, pre: np.ndarray) -> Plan:
    if est.break_ties:
        raise Unsupported("SVC(break_ties=True) is not compiled")
    sv, dual, intercept, params, pre = _svm_args(est, pre)
    classes = np.asarray(est.classes_)
    if len(classes) == 2:
        # the public dual_coef_ / intercept_ already carry scikit-learn's binary sign flip
        return Plan("svm", _nf(est), *_SVM, (sv, dual, intercept, params, pre), classes,
                    label_rule=LabelRule.POSITIVE, decision=True, ravel=True)
    # multiclass: one-vs-one decisions and votes; decision_function only in its "ovo" shape
    return Plan("svm", _nf(est), *_SVM, (sv, _ovo_dual(est), intercept, params, pre), classes,
                label_rule=LabelRule.OVO_VOTES, decision=est.decision_function_shape == "ovo")


# --- trees -----------------------------------------------------------------------


def _sk_tree(tree_: Any, value: np.ndarray, column: int) -> tuple:
    return (tree_.feature, tree_.threshold, tree_.children_left, tree_.children_right,
            tree_.missing_go_to_left, value, column)


def _class_fractions(tree_: Any, n_classes: int) -> np.ndarray:
    # DecisionTreeClassifier.predict_proba: value[:, :n_classes] / its row sum (0 -> 1).
    proba = tree_.value[:, 0, :n_classes]
    normalizer = proba.sum(axis=1)[:, np.newaxis]
    normalizer[normalizer == 0.0] = 1.0
    return proba / normalizer


def _forest_plan(est: Any, estimators: list, pre: np.ndarray, classifier: bool, divisor: float) -> Plan:
    if est.n_outputs_ != 1 and classifier:
        raise Unsupported("multi-output tree classifiers are not compiled")
    if classifier:
        k = len(est.classes_)
        parts = [_sk_tree(e.tree_, _class_fractions(e.tree_, k), 0) for e in estimators]
        init = np.zeros(k)
    else:
        k = est.n_outputs_
        parts = [_sk_tree(e.tree_, e.tree_.value[:, :, 0], 0) for e in estimators]
        init = np.zeros(k)
    forest = trees.make_forest(parts, init, divisor=divisor, compare32=True)
    if classifier:
        return Plan("forest", _nf(est), *_FOREST, (*forest, pre), np.asarray(est.classes_),
                    proba_link=Link.IDENTITY)
    return Plan("forest", _nf(est), _FOREST[0], None, (*forest, pre), ravel=k == 1, n_outputs=k)


def _decision_tree(est: Any, pre: np.ndarray) -> Plan:
    return _forest_plan(est, [est], pre, hasattr(est, "classes_"), 1.0)


def _random_forest(est: Any, pre: np.ndarray) -> Plan:
    return _forest_plan(est, list(est.estimators_), pre, hasattr(est, "classes_"),
                        float(len(est.estimators_)))


def _gradient_boosting(est: Any, pre: np.ndarray) -> Plan:
    classifier = hasattr(est, "classes_")
    if classifier and est.loss != "log_loss":
        raise Unsupported(f"GradientBoostingClassifier(loss={est.loss!r}) is not compiled")
    init_ = est.init_
    if not (init_ == "zero" or type(init_).__name__ in ("DummyClassifier", "DummyRegressor")):
        raise Unsupported("GradientBoosting with a custom init estimator is not compiled")
    # The default init is a constant; evaluate it once on a dummy row.
    init = est._raw_predict_init(np.zeros((1, _nf(est)), dtype=np.float32))[0].astype(np.float64)
    lr = est.learning_rate
    stages, k = est.estimators_.shape
    parts = [
        _sk_tree(est.estimators_[i, c].tree_, lr * est.estimators_[i, c].tree_.value[:, 0, 0], c)
        for i in range(stages) for c in range(k)
    ]
    forest = trees.make_forest(parts, init, compare32=True)
    if not classifier:
        return Plan("forest", _nf(est), _FOREST[0], None, (*forest, pre), ravel=True)
    binary = k == 1
    return Plan("forest", _nf(est), *_FOREST, (*forest, pre), np.asarray(est.classes_),
                proba_link=Link.LOGISTIC if binary else Link.SOFTMAX,
                label_rule=LabelRule.NON_NEGATIVE if binary else LabelRule.ARGMAX,
                decision=True, ravel=binary)


def _hist_gradient_boosting(est: Any, pre: np.ndarray) -> Plan:
    classifier = hasattr(est, "classes_")
    if getattr(est, "_preprocessor", None) is not None or (
        est.is_categorical_ is not None and np.any(est.is_categorical_)
    ):
        raise Unsupported("HistGradientBoosting with categorical features is not compiled")
    if not classifier and type(est._loss.link).__name__ != "IdentityLink":
        raise Unsupported(f"HistGradientBoostingRegressor(loss={est.loss!r}) is not compiled")
    parts = []
    for predictors in est._predictors:
        for c, predictor in enumerate(predictors):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"].astype(np.int64))
            right = np.where(leaf, -1, nodes["right"].astype(np.int64))
            parts.append((nodes["feature_idx"], nodes["num_threshold"], left, right,
                          nodes["missing_go_to_left"], nodes["value"], c))
    forest = trees.make_forest(parts, est._baseline_prediction.reshape(-1), compare32=False)
    k = forest.init.shape[0]
    if not classifier:
        return Plan("forest", _nf(est), _FOREST[0], None, (*forest, pre), ravel=True)
    binary = k == 1
    return Plan("forest", _nf(est), *_FOREST, (*forest, pre), np.asarray(est.classes_),
                proba_link=Link.LOGISTIC if binary else Link.SOFTMAX,
                label_rule=LabelRule.POSITIVE if binary else LabelRule.ARGMAX,
                decision=True, ravel=binary)


# --- scalers and pipelines -------------------------------------------------------


def scaler_stages(est: Any) -> np.ndarray:
    """``StandardScaler`` / ``MinMaxScaler`` as a ``float64[1, AFFINE_ROWS, n_features]`` stage."""
    name = type(est).__name__
    n = _nf(est)
    if name == "StandardScaler":
        return affine_stage(n, subtract=est.mean_, divide=est.scale_)
    if name == "MinMaxScaler":
        clip = tuple(map(float, est.feature_range)) if est.clip else None
        return affine_stage(n, multiply=est.scale_, add=est.min_, clip=clip)
    raise Unsupported(f"{name} is not a compiled transformer")


CONVERTERS: dict[str, Callable[[Any, np.ndarray], Plan]] = {
    "sklearn.linear_model._logistic.LogisticRegression": _logistic,
    "sklearn.svm._classes.LinearSVC": lambda e, p: _linear_classifier(e, p, proba=False),
    "sklearn.linear_model._stochastic_gradient.SGDClassifier":
        lambda e, p: _linear_classifier(e, p, proba=False),
    "sklearn.linear_model._ridge.RidgeClassifier": lambda e, p: _linear_classifier(e, p, proba=False),
    "sklearn.linear_model._perceptron.Perceptron": lambda e, p: _linear_classifier(e, p, proba=False),
    "sklearn.linear_model._base.LinearRegression": _linear_regressor,
    "sklearn.linear_model._ridge.Ridge": _linear_regressor,
    "sklearn.linear_model._coordinate_descent.Lasso": _linear_regressor,
    "sklearn.linear_model._coordinate_descent.ElasticNet": _linear_regressor,
    "sklearn.linear_model._stochastic_gradient.SGDRegressor": _linear_regressor,
    "sklearn.svm._classes.LinearSVR": _linear_regressor,
    "sklearn.naive_bayes.GaussianNB": _gaussian_nb,
    "sklearn.svm._classes.SVC": _svc,
    "sklearn.svm._classes.NuSVC": _svc,
    "sklearn.svm._classes.SVR": _svr,
    "sklearn.svm._classes.NuSVR": _svr,
    "sklearn.tree._classes.DecisionTreeClassifier": _decision_tree,
    "sklearn.tree._classes.DecisionTreeRegressor": _decision_tree,
    "sklearn.tree._classes.ExtraTreeClassifier": _decision_tree,
    "sklearn.tree._classes.ExtraTreeRegressor": _decision_tree,
    "sklearn.ensemble._forest.RandomForestClassifier": _random_forest,
    "sklearn.ensemble._forest.RandomForestRegressor": _random_forest,
    "sklearn.ensemble._forest.ExtraTreesClassifier": _random_forest,
    "sklearn.ensemble._forest.ExtraTreesRegressor": _random_forest,
    "sklearn.ensemble._gb.GradientBoostingClassifier": _gradient_boosting,
    "sklearn.ensemble._gb.GradientBoostingRegressor": _gradient_boosting,
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier":
        _hist_gradient_boosting,
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor":
        _hist_gradient_boosting,
}
"""Exact class path -> converter ``(estimator, pre) -> Plan``."""

_SCALERS = frozenset({
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
})


def class_path(est: Any) -> str:
    cls = type(est)
    return f"{cls.__module__}.{cls.__qualname__}"


def convert(est: Any, pre: np.ndarray | None = None) -> Plan:
    """The :class:`Plan` of a fitted estimator, scaler or Pipeline of these.

    Raises
    ------
    Unsupported
        The estimator (or a pipeline step) has no converter; the message names it.
    """
    path = class_path(est)
    if path == "sklearn.pipeline.Pipeline":
        steps = [s for _, s in est.steps if s is not None and s != "passthrough"]
        if not steps:
            raise Unsupported("empty Pipeline")
        chain = pre
        for step in steps[:-1]:
            if class_path(step) not in _SCALERS:
                raise Unsupported(f"pipeline step {type(step).__name__} is not compiled")
            stage = scaler_stages(step)
            chain = stage if chain is None else np.concatenate([chain, stage])
        return convert(steps[-1], chain)
    if pre is None and hasattr(est, "n_features_in_") and path.split(".", 1)[0] == "sklearn":
        pre = no_preprocessing(_nf(est))
    if path in _SCALERS:
        stage = scaler_stages(est)
        chain = stage if pre is None else np.concatenate([pre, stage])
        return Plan("affine", _nf(est), (None, None), None, (chain,))
    converter = CONVERTERS.get(path)
    if converter is None and path.split(".", 1)[0] in ("lightgbm", "xgboost"):
        from .boosters import BOOSTER_CONVERTERS

        converter = BOOSTER_CONVERTERS.get(path)
        if converter is not None:
            return converter(est, pre)
    if converter is None:
        raise Unsupported(f"{type(est).__name__} has no compiled kernel")
    return converter(est, np.ascontiguousarray(pre))
