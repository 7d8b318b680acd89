"""Load every ML kernel from Numba's cache once, at the app's warm-up.

Owns :func:`warm_kernels`: each inference kernel the compilers bind (linear, trees,
naive Bayes, SVM, voting, the column kernels), serial and parallel, called once on tiny
arrays of exactly the types the compiled models pass. ``app.predict`` adds it to the
app's warm-up, so the process pays the cache load (about 0.4 s) before it accepts
connections, and no request -- and no model registered or swapped in later -- pays it.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["warm_kernels"]

_done = False


def warm_kernels() -> float:
    """Load (or compile) the ML kernels; returns the seconds it took (0.0 once done)."""
    global _done
    if _done:
        return 0.0
    from conduit_kernels import ensemble, linear, naive_bayes, preprocessing, svm, trees

    started = time.perf_counter()
    small, large = np.zeros((1, 2)), np.zeros((linear.PARALLEL_MIN_ROWS, 2))
    pre = preprocessing.no_preprocessing(2)
    coef, intercept = np.zeros((1, 2)), np.zeros(1)
    # float32 (scikit-learn, XGBoost) and float64 (LightGBM, HistGradientBoosting) comparisons
    # are two compilations of each tree kernel
    stump = (np.array([0, -2, -2]), np.zeros(3), np.array([1, -1, -1]), np.array([2, -1, -1]),
             np.zeros(3), np.zeros((3, 1)), 0)
    forest, forest64 = (trees.make_forest([stump], np.zeros(1), compare32=c) for c in (True, False))
    theta, var = np.zeros((2, 2)), np.ones((2, 2))
    log_prior, log_norm = np.zeros(2), np.zeros(2)
    pairs = ((linear.linear_scores, linear.linear_labels, (coef, intercept, pre)),
             (linear.linear_scores_parallel, linear.linear_labels_parallel, (coef, intercept, pre)),
             (trees.forest_scores, trees.forest_labels, (*forest, pre)),
             (trees.forest_scores_parallel, trees.forest_labels_parallel, (*forest, pre)),
             (trees.forest_scores, trees.forest_labels, (*forest64, pre)),
             (trees.forest_scores_parallel, trees.forest_labels_parallel, (*forest64, pre)),
             (naive_bayes.gaussian_nb_scores, naive_bayes.gaussian_nb_labels,
              (theta, var, log_prior, log_norm, pre)),
             (svm.svm_scores, svm.svm_labels, (theta, coef, intercept, np.zeros(4), pre)),
             (svm.svm_scores_parallel, svm.svm_labels_parallel, (theta, coef, intercept, np.zeros(4), pre)))
    for scores, labels, args in pairs:
        X = large if scores in (linear.linear_scores_parallel, trees.forest_scores_parallel,
                                svm.svm_scores_parallel) else small
        scores(X, *args, 0)
        labels(X, *args, 0)
    weights = np.ones(2)
    ensemble.soft_vote(np.zeros((2, 1, 2)), weights, False)
    ensemble.hard_vote(np.zeros((2, 1), dtype=np.int64), weights, 2)
    ensemble.mean_vote(np.zeros((2, 1)), weights, False)
    ensemble.median_vote(np.zeros((2, 1)))
    ensemble.argmax_rows(np.zeros((1, 2)))
    preprocessing.affine_transform(small, preprocessing.affine_stage(2))
    preprocessing.check_finite(small)
    preprocessing.fill_missing(small, np.zeros(2))
    preprocessing.one_hot(small, np.zeros(3, dtype=np.int64), np.full(2, -1, dtype=np.int64))
    preprocessing.ordinal(small, np.full(2, -1, dtype=np.int64), np.nan, np.nan)
    preprocessing.polynomial(small, np.ones((1, 2), dtype=np.int64))
    _done = True
    return time.perf_counter() - started
