"""The comparison's cost model: rough single-core seconds of each model's fits and predictions.

Each function ``<model>_seconds(n_fit, n_eval, n_features, params)`` estimates fitting on ``n_fit``
rows and predicting ``n_eval`` rows; ``params`` are the candidates when estimating an inner split
(all fitted on ``n_fit`` rows). The formulas were fitted to timings of each model on MNIST
subsamples (one core of a shared 2-core machine); they order the tasks (longest first) and weigh
the progress bar so that its remaining-time estimate is meaningful. They are never reported as
measurements. The registry (:data:`~mnist_logreg.model_selection.MODELS`) gives each model its
function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Params = dict[str, Any]


def _scale(n_fit: int, n_features: int, params: Sequence[Params]) -> tuple[int, float, int]:
    """``(n_fit >= 1, n_features / 784, n_candidates >= 1)``: the factors every model uses."""
    return max(n_fit, 1), n_features / 784.0, max(1, len(params))


def svm_seconds(n_fit: int, n_eval: int, n_features: int, params: Sequence[Params] = ()) -> float:
    """SVC: fit cost grows like n^1.6-1.8; prediction like the support vectors' count."""
    n_fit, d, n_cand = _scale(n_fit, n_features, params)
    fit = 60.0 * (n_fit / 20_000) ** (1.6 if n_fit < 20_000 else 1.8) * d
    n_support = min(n_fit, 5_900 * (n_fit / 20_000) ** 0.67)
    return n_cand * (fit + 1.0e-6 * n_eval * n_support * d)


def knn_seconds(n_fit: int, n_eval: int, n_features: int, params: Sequence[Params] = ()) -> float:
    """KNN: one brute-force distance matrix (every candidate shares it)."""
    n_fit, d, _ = _scale(n_fit, n_features, params)
    return 5.5e-8 * n_eval * n_fit * d


def tree_seconds(n_fit: int, n_eval: int, n_features: int, params: Sequence[Params] = ()) -> float:
    """Decision tree: about n^1.2 per fit."""
    n_fit, d, n_cand = _scale(n_fit, n_features, params)
    return n_cand * 9.0 * (n_fit / 30_000) ** 1.2 * d


def lr_seconds(n_fit: int, n_eval: int, n_features: int, params: Sequence[Params] = ()) -> float:
    """Logistic regression: linear in the rows, each C of the path a fraction of a cold fit."""
    n_fit, d, n_cand = _scale(n_fit, n_features, params)
    return 2.2e-4 * n_fit * d * n_cand * 0.8 + 1.0e-5 * n_eval


def rff_seconds(n_fit: int, n_eval: int, n_features: int, params: Sequence[Params] = ()) -> float:
    """lr-rff: one kernel map per (n_components, gamma), then a logistic path on its features."""
    n_fit, d, n_cand = _scale(n_fit, n_features, params)
    sizes = [int(p.get("n_components", 4000)) for p in params] or [4000]
    size = min(max(sizes), n_fit)
    n_maps = len({(p.get("n_components"), p.get("gamma")) for p in params}) or 1
    transform = 1.3e-3 * (size / 4000) ** 1.6 * (n_fit + n_eval) * max(d, 0.3)
    # As many components as rows (an exact kernel map of a small search subsample) makes an
    # ill-conditioned problem that takes about three times the solver iterations.
    conditioning = 3.0 if size >= 0.5 * n_fit else 1.0
    fit = 1.0e-3 * n_fit * (size / 4000) * n_cand * 0.8 * conditioning
    return n_maps * transform + fit


__all__ = ["knn_seconds", "lr_seconds", "rff_seconds", "svm_seconds", "tree_seconds"]
