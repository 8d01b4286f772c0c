"""Benchmark of the logistic regression engine against scikit-learn's lbfgs (issue 3).

On the bundled MNIST (60,000 training rows, pixels / 255 then standardized, C = 0.59) this fits
scikit-learn's ``LogisticRegression(solver="lbfgs", max_iter=10000)`` and ours in the same run and
reports, for each: seconds, loss-and-gradient evaluations, the final objective in scikit-learn's
scale (1/2 ||W||^2 + C sum_n loss_n, computed here independently in float64), test accuracy and
log-loss, and the speed ratio. Three experiments:

1. default tolerances, one fit;
2. tight: ours and scikit-learn's each with the loosest tolerance (from a fixed ladder) that ends
   within 1e-6 (relative) of the true optimum, itself computed by a very tight fit of ours;
3. a path of 10 C values log-spaced from 0.01 to 10: our warm-started path against 10 cold
   scikit-learn fits, each point's objective compared.

Plus the peak memory a fit allocates (tracemalloc) against the float32 training matrix,
(``--only kernels``) the milliseconds of one loss-and-gradient pass of each pass kernel, and
(``--only passes``, ours only, no scikit-learn fit) the number of passes each of our fits makes:
a figure that does not depend on the machine's load, for work on the solver.

Ours (``--ours folded``, the default) is ``LogisticRegression(standardize=True)`` on the raw uint8
pixels: StandardScaler's objective with the standardization folded into the fit, the pass kernel
chosen by the engine (compiled CSR on MNIST). ``--ours standardized`` gives ours the float32
matrix that the former pipeline emitted (PixelScaler outputs float32 and StandardScaler preserves
it). scikit-learn gets float64, what ``X / 255`` gives a scikit-learn user; every objective is
recomputed on that standardized float64 matrix. Timings on a shared machine are noisy: every
figure is a median of ``--repeats`` runs and ours and scikit-learn's alternate within each repeat.

Usage::

    python benchmarks/bench_fit.py                 # everything, writes BENCHMARKS.md
    python benchmarks/bench_fit.py --quick         # 10,000 rows, smaller ladders
    python benchmarks/bench_fit.py --repeats 1 --no-write --only kernels default
    python benchmarks/bench_fit.py --no-write --only passes          # ours only, counts

One run prints, in this order: ms per pass of each kernel, the default-tolerance ratio, the tight
ratio, the path ratio and peak memory (the reduced study protocol is ``bench_study.py``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import sklearn
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import _linear_loss as sk_linear_loss
from sklearn.preprocessing import StandardScaler

from mnist_logreg.datasets import load_dataset
from mnist_logreg.linear_model import LogisticRegression, logistic_regression_path
from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import MultinomialCrossEntropy
from mnist_logreg.linear_model._standardize import standardization

C_STUDY = 0.59
PATH_CS = np.logspace(-2, 1, 10)
OUR_TIGHT_LADDER = [1e-5, 5e-6, 2e-6, 1e-6, 5e-7, 2e-7, 1e-7, 1e-8]
SK_TIGHT_LADDER = [1e-5, 1e-6, 1e-7, 1e-8]


# --------------------------------------------------------------------------------------------
# data and metrics
def load_mnist(quick: bool) -> dict[str, Any]:
    """Return standardized float32 and float64 matrices of the bundled MNIST."""
    data = load_dataset("mnist")
    X_train, y_train = data.X_train, data.y_train
    if quick:
        X_train, y_train = X_train[:10_000], y_train[:10_000]
    # pixels / 255, then standardization fitted on the training rows (float32 stays float32)
    X32 = X_train.astype(np.float32) / np.float32(255)
    X32_test = data.X_test.astype(np.float32) / np.float32(255)
    scaler = StandardScaler().fit(X32)
    X32, X32_test = scaler.transform(X32), scaler.transform(X32_test)
    return {
        "X32": X32, "X64": X32.astype(np.float64), "y": y_train,
        "X32_test": X32_test, "X64_test": X32_test.astype(np.float64), "y_test": data.y_test,
        "raw": np.ascontiguousarray(X_train), "raw_test": np.ascontiguousarray(data.X_test),
    }


# How ours is fitted: "folded" (standardize=True on raw uint8 pixels) or "standardized"
# (float32 matrix standardized beforehand); set by --ours.
OURS = {"mode": "folded"}


def ours_X(d: dict[str, Any], test: bool = False) -> np.ndarray:
    """The matrix ours is fitted on (or predicts), raw uint8 or standardized float32."""
    if OURS["mode"] == "folded":
        return d["raw_test"] if test else d["raw"]
    return d["X32_test"] if test else d["X32"]


def model_coef(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the standardized rows (what the objective penalizes) and their intercept."""
    if getattr(model, "standardize", False):
        return model.standardized_coef_, model.standardized_intercept_
    return model.coef_, model.intercept_


def objective(coef: np.ndarray, intercept: np.ndarray, X: np.ndarray, y: np.ndarray,
              C: float) -> float:
    """Return 1/2 ||W||^2 + C sum_n -log softmax(W x_n + b)_{y_n} in float64."""
    Z = X.astype(np.float64, copy=False) @ coef.T.astype(np.float64) + intercept
    Z -= Z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(Z).sum(axis=1))
    return float(0.5 * np.sum(coef.astype(np.float64) ** 2)
                 + C * np.sum(log_norm - Z[np.arange(len(y)), y]))


def test_metrics(model: Any, X_test: np.ndarray, y_test: np.ndarray) -> tuple[float, float]:
    """Return test accuracy and log-loss."""
    proba = model.predict_proba(X_test)
    accuracy = float(np.mean(model.classes_[proba.argmax(axis=1)] == y_test))
    p_true = np.clip(proba[np.arange(len(y_test)), np.searchsorted(model.classes_, y_test)],
                     1e-300, 1)
    return accuracy, float(-np.mean(np.log(p_true)))


class _EvalCounter:
    """Counts scikit-learn's loss-and-gradient evaluations (its lbfgs calls loss_gradient)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = sk_linear_loss.LinearModelLoss.loss_gradient

    def __enter__(self) -> _EvalCounter:
        original = self._original
        counter = self

        def counted(self_, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return original(self_, *args, **kwargs)

        sk_linear_loss.LinearModelLoss.loss_gradient = counted
        return self

    def __exit__(self, *exc: object) -> None:
        sk_linear_loss.LinearModelLoss.loss_gradient = self._original


def fit_sklearn(X: np.ndarray, y: np.ndarray, C: float, tol: float = 1e-4) -> dict[str, Any]:
    """Fit scikit-learn's lbfgs; return the model, seconds and evaluations."""
    model = SkLogisticRegression(C=C, tol=tol, max_iter=10_000)
    with _EvalCounter() as counter, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    return {"model": model, "seconds": seconds, "evals": counter.count,
            "n_iter": int(model.n_iter_[0])}


def fit_ours(X: np.ndarray, y: np.ndarray, C: float, tol: float | None = None
             ) -> dict[str, Any]:
    """Fit our LogisticRegression (default tol unless given); return model, seconds, evals."""
    model = LogisticRegression(C=C, max_iter=10_000, standardize=OURS["mode"] == "folded")
    if tol is not None:
        model.set_params(tol=tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    return {"model": model, "seconds": seconds, "evals": model.n_evals_,
            "n_iter": int(model.n_iter_[0])}


def summarize(runs: list[dict[str, Any]], X: np.ndarray, y: np.ndarray, X_test: np.ndarray,
              y_test: np.ndarray, C: float) -> dict[str, Any]:
    """Median seconds of the runs, plus the last run's counts, objective and test metrics."""
    last = runs[-1]
    model = last["model"]
    accuracy, log_loss = test_metrics(model, X_test, y_test)
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "all_seconds": [r["seconds"] for r in runs],
        "evals": last["evals"], "n_iter": last["n_iter"],
        "objective": objective(*model_coef(model), X, y, C),
        "accuracy": accuracy, "log_loss": log_loss,
    }


def peak_memory(fit: Callable[[], Any]) -> int:
    """Return the peak bytes allocated (and traced by tracemalloc) during ``fit()``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


# --------------------------------------------------------------------------------------------
# experiments
def run_default(d: dict[str, Any], repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Default tolerances, one fit at C = 0.59."""
    ours, theirs = [], []
    for i in range(repeats):
        theirs.append(fit_sklearn(d["X64"], d["y"], C_STUDY))
        ours.append(fit_ours(ours_X(d), d["y"], C_STUDY))
        log(f"  default repeat {i + 1}: sklearn {theirs[-1]['seconds']:.1f} s "
            f"({theirs[-1]['evals']} evals), ours {ours[-1]['seconds']:.2f} s "
            f"({ours[-1]['evals']} evals)")
    return {
        "sklearn": summarize(theirs, d["X64"], d["y"], d["X64_test"], d["y_test"], C_STUDY),
        "ours": summarize(ours, d["X64"], d["y"], ours_X(d, True), d["y_test"], C_STUDY),
    }


def _first_reaching(fit: Callable[[float], dict[str, Any]], ladder: list[float], target: float,
                    d: dict[str, Any], log: Callable[[str], None], name: str
                    ) -> tuple[float, dict[str, Any]]:
    """Walk down ``ladder`` until a fit's objective is <= target; return (tol, that run)."""
    for tol in ladder:
        run = fit(tol)
        value = objective(*model_coef(run["model"]), d["X64"], d["y"], C_STUDY)
        log(f"  {name} tol={tol:g}: {run['seconds']:.1f} s, {run['evals']} evals, "
            f"objective {value:.5f}")
        if value <= target:
            return tol, run
    return ladder[-1], run


def run_tight(d: dict[str, Any], repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Each solver at the loosest tolerance reaching 1e-6 (relative) of the optimum."""
    start = time.perf_counter()
    reference = fit_ours(ours_X(d), d["y"], C_STUDY, tol=1e-9)
    ref_model = reference["model"]
    optimum = objective(*model_coef(ref_model), d["X64"], d["y"], C_STUDY)
    log(f"  reference optimum {optimum:.6f} ({time.perf_counter() - start:.1f} s, "
        f"{reference['evals']} evals)")
    target = optimum * (1 + 1e-6)
    our_tol, our_first = _first_reaching(
        lambda tol: fit_ours(ours_X(d), d["y"], C_STUDY, tol), OUR_TIGHT_LADDER, target, d, log,
        "ours")
    sk_tol, sk_first = _first_reaching(
        lambda tol: fit_sklearn(d["X64"], d["y"], C_STUDY, tol), SK_TIGHT_LADDER, target, d,
        log, "sklearn")
    ours, theirs = [our_first], [sk_first]
    for i in range(1, repeats):
        theirs.append(fit_sklearn(d["X64"], d["y"], C_STUDY, sk_tol))
        ours.append(fit_ours(ours_X(d), d["y"], C_STUDY, our_tol))
        log(f"  tight repeat {i + 1}: sklearn {theirs[-1]['seconds']:.1f} s, "
            f"ours {ours[-1]['seconds']:.2f} s")
    return {
        "optimum": optimum, "target": target, "sklearn_tol": sk_tol, "ours_tol": our_tol,
        "reference_evals": reference["evals"],
        "sklearn": summarize(theirs, d["X64"], d["y"], d["X64_test"], d["y_test"], C_STUDY),
        "ours": summarize(ours, d["X64"], d["y"], ours_X(d, True), d["y_test"], C_STUDY),
    }


def run_path(d: dict[str, Any], repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Our warm-started path of 10 C values against 10 cold scikit-learn fits."""
    our_seconds, sk_seconds = [], []
    sk_points: list[dict[str, Any]] = []
    path = None
    for i in range(repeats):
        total = 0.0
        sk_points = []
        for C in PATH_CS:
            run = fit_sklearn(d["X64"], d["y"], float(C))
            total += run["seconds"]
            sk_points.append(run)
        sk_seconds.append(total)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            path = logistic_regression_path(ours_X(d), d["y"], PATH_CS,
                                            standardize=OURS["mode"] == "folded")
            our_seconds.append(time.perf_counter() - start)
        log(f"  path repeat {i + 1}: 10 sklearn fits {total:.1f} s, our path "
            f"{our_seconds[-1]:.2f} s")
    assert path is not None
    accuracy = np.mean(path.predict(ours_X(d, True)) == d["y_test"], axis=1)
    path_coefs = path.coefs if path.standardized_coefs is None else path.standardized_coefs
    path_intercepts = (path.intercepts if path.standardized_intercepts is None
                       else path.standardized_intercepts)
    points = []
    for i, C in enumerate(PATH_CS):
        model = sk_points[i]["model"]
        points.append({
            "C": float(C),
            "sklearn_seconds": sk_points[i]["seconds"], "sklearn_evals": sk_points[i]["evals"],
            "sklearn_objective": objective(model.coef_, model.intercept_, d["X64"], d["y"],
                                           float(C)),
            "sklearn_accuracy": test_metrics(model, d["X64_test"], d["y_test"])[0],
            "ours_evals": int(path.n_evals[i]),
            "ours_objective": objective(path_coefs[i], path_intercepts[i], d["X64"], d["y"],
                                        float(C)),
            "ours_accuracy": float(accuracy[i]),
        })
    return {"sklearn_seconds": statistics.median(sk_seconds), "ours_seconds":
            statistics.median(our_seconds), "all_sklearn": sk_seconds, "all_ours": our_seconds,
            "points": points}


def run_memory(d: dict[str, Any]) -> dict[str, Any]:
    """Peak bytes allocated by one fit (X itself allocated before), ours and scikit-learn's."""
    # warm up first: the first fit of a process also allocates its imports and thread pools
    # (3,000 rows: enough entries for the engine to pick the kernel it uses on all rows)
    fit_ours(ours_X(d)[:3000], d["y"][:3000], C_STUDY)
    fit_sklearn(d["X64"][:500], d["y"][:500], C_STUDY)
    ours = peak_memory(lambda: fit_ours(ours_X(d), d["y"], C_STUDY))
    ours_path = peak_memory(lambda: logistic_regression_path(
        ours_X(d), d["y"], PATH_CS[:3], standardize=OURS["mode"] == "folded"))
    theirs = peak_memory(lambda: fit_sklearn(d["X64"], d["y"], C_STUDY))
    return {"X32_bytes": d["X32"].nbytes, "ours": ours, "ours_path": ours_path,
            "sklearn": theirs, "n_samples": d["X32"].shape[0], "ours_X_bytes": ours_X(d).nbytes,
            "ours_X_dtype": str(ours_X(d).dtype)}


def fashion_mnist(n_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Raw uint8 Fashion-MNIST training rows (the first ``n_rows``) and labels, if installed."""
    from mnist_logreg.errors import MnistLogregError

    try:
        data = load_dataset("fashion-mnist")
    except MnistLogregError:  # not installed here: those rows are skipped
        return None
    return np.ascontiguousarray(data.X_train[:n_rows]), data.y_train[:n_rows]


@functools.cache
def scalar_compiled_passes() -> Any:
    """Stand-in for ``_numba_kernels`` whose generated passes are compiled WITHOUT SLP.

    The same generated source as the engine's, compiled the way numba compiles by default
    (scalar code): the vectorization's share of the compiled kernel's speed, in the same run.
    """
    import math
    import types

    from numba import njit

    from mnist_logreg.linear_model import _numba_kernels as nk

    namespace: dict[str, Any] = {"njit": njit, "np": np, "math": math}
    for loss, K in nk.UNROLLED:
        exec(nk.fused_source(loss, K).replace("cache=True, ", ""), namespace)

    class Scalar:
        flat = True

        def __init__(self, dispatcher: Any) -> None:
            self.dispatcher = dispatcher

        def __call__(self, *args: Any) -> Any:
            return self.dispatcher(*args)

    def fused_pass(loss: str, n_outputs: int) -> Any:
        if (loss, n_outputs) in nk.UNROLLED:
            return Scalar(namespace[f"fused_{loss}_{n_outputs}"])
        return nk.fused_pass(loss, n_outputs)

    return types.SimpleNamespace(fused_pass=fused_pass)


def run_kernels(d: dict[str, Any], repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Milliseconds of one softmax loss-and-gradient pass of each kernel, interleaved repeats.

    The dense kernel on the standardized float32 matrix (the former engine), the dense kernel on
    raw uint8 with the standardization folded, the compiled CSR kernel (folded; SLP-vectorized as
    the engine compiles it, and the same source compiled scalar) and scipy's CSR products
    (folded), each with 1 and 2 threads (BLAS at 1 thread, as in a fit); the dense and compiled
    CSR kernels on Fashion-MNIST (about 50% non-zero) when it is installed; plus one
    scikit-learn loss_gradient on float64 for scale. Wall and process CPU time both.
    """
    import scipy.sparse as sp
    from sklearn._loss.loss import HalfMultinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss as SkLoss
    from threadpoolctl import threadpool_limits

    raw, y = d["raw"], d["y"]
    mean, scale, _ = standardization(raw)
    target = np.eye(10)[y]
    rng = np.random.default_rng(0)
    w = rng.normal(scale=1e-3, size=10 * (raw.shape[1] + 1))
    fold = {"mean": mean, "scale": scale}
    cases = [("dense, standardized float32 (former)", d["X32"], {}, target, "dense"),
             ("dense, raw uint8 folded", raw, fold, target, "dense"),
             ("compiled CSR, raw uint8 folded", raw, fold, target, "csr"),
             ("compiled CSR, raw uint8 folded, SLP off (scalar)", raw, fold, target,
              "csr-scalar"),
             ("scipy CSR, raw folded", sp.csr_matrix(raw), fold, target, "sparse")]
    fashion = fashion_mnist(raw.shape[0])
    if fashion is not None:  # denser rows (~50%): what the kernel chooser must not slow down
        f_raw, f_y = fashion
        f_mean, f_scale, _ = standardization(f_raw)
        f_fold, f_target = {"mean": f_mean, "scale": f_scale}, np.eye(10)[f_y]
        cases += [(f"Fashion-MNIST ({np.count_nonzero(f_raw) / f_raw.size:.0%} non-zero), "
                   f"{label}", f_raw, f_fold, f_target, kernel)
                  for label, kernel in (("dense, raw uint8 folded", "dense"),
                                        ("compiled CSR, raw uint8 folded", "csr"))]
    timings: dict[str, dict[str, Any]] = {}
    with threadpool_limits(1, "blas"):
        objs = {}
        for label, X, fold_, target_, kernel in cases:
            for n_threads in ((1,) if kernel == "sparse" else (1, 2)):
                start = time.perf_counter()
                obj = LinearModelLoss(MultinomialCrossEntropy, X, target_, C=C_STUDY,
                                      n_threads=n_threads, kernel=kernel.split("-")[0],
                                      **fold_)
                if kernel == "csr-scalar":
                    obj.kernel._nk = scalar_compiled_passes()
                build = time.perf_counter() - start
                start = time.perf_counter()
                obj.value_and_grad(w)
                first = time.perf_counter() - start
                key = f"{label}, {n_threads} thread{'s' if n_threads > 1 else ''}"
                objs[key] = obj
                timings[key] = {"build": build, "first": first, "wall": [], "cpu": []}
        for _ in range(max(repeats, 5)):
            for key, obj in objs.items():
                wall, cpu = time.perf_counter(), time.process_time()
                obj.value_and_grad(w)
                timings[key]["wall"].append(time.perf_counter() - wall)
                timings[key]["cpu"].append(time.process_time() - cpu)
    sk = SkLoss(base_loss=HalfMultinomialLoss(n_classes=10), fit_intercept=True)
    coef = np.zeros((10, raw.shape[1] + 1))
    sk_times = []
    for _ in range(3):
        start = time.perf_counter()
        sk.loss_gradient(coef, d["X64"], y.astype(np.float64), l2_reg_strength=1.0)
        sk_times.append(time.perf_counter() - start)
    out = {key: {"wall_ms": 1e3 * statistics.median(t["wall"]),
                 "cpu_ms": 1e3 * statistics.median(t["cpu"]),
                 "build_s": t["build"], "first_s": t["first"]} for key, t in timings.items()}
    for key, t in out.items():
        log(f"  {key}: {t['wall_ms']:.1f} ms wall, {t['cpu_ms']:.1f} ms CPU "
            f"(build {t['build_s']:.2f} s, first pass {t['first_s']:.2f} s)")
    return {"kernels": out, "sklearn_ms": 1e3 * statistics.median(sk_times),
            "density": float(np.count_nonzero(raw)) / raw.size}


PASSES_CS = (0.5, C_STUDY, 0.7)
PASSES_TIGHT_TOL = 2e-6


def run_passes(d: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Our passes over the data per fit (no scikit-learn fit): load-independent figures.

    Default tolerance at C = 0.5, 0.59 and 0.7 (pass counts jump by several from one C to a
    neighbour, so one C alone says little about a solver change), tight tolerance (tol=2e-6) at
    0.59 and the 10-C path; each with the objective it reached. Plus the one-off work of a fit
    in pass-equivalents, timed in the same run: the standardization statistics, the Gram matrix
    of the shared preconditioner and its Cholesky factor.
    """
    from threadpoolctl import threadpool_limits

    from mnist_logreg.linear_model._solvers import SharedPreconditioner

    X, y = ours_X(d), d["y"]
    folded = OURS["mode"] == "folded"
    default = []
    for C in PASSES_CS:
        run = fit_ours(X, y, C)
        default.append({"C": C, "evals": run["evals"], "n_iter": run["n_iter"],
                        "objective": objective(*model_coef(run["model"]), d["X64"], y, C)})
        log(f"  default C={C:g}: {run['evals']} passes, objective {default[-1]['objective']:.4f}")
    run = fit_ours(X, y, C_STUDY, tol=PASSES_TIGHT_TOL)
    tight = {"evals": run["evals"], "n_iter": run["n_iter"],
             "objective": objective(*model_coef(run["model"]), d["X64"], y, C_STUDY)}
    log(f"  tight: {tight['evals']} passes, objective {tight['objective']:.4f}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        path = logistic_regression_path(X, y, PATH_CS, standardize=folded)
    path_evals = [int(e) for e in path.n_evals]
    log(f"  path: {sum(path_evals)} passes ({path_evals})")
    # one-off work of a fit, in passes timed in the same run (BLAS at 1 thread, as in a fit)
    mean, scale, _ = standardization(X) if folded else (None, None, None)
    target = np.eye(10, dtype=np.float32)[y]
    with threadpool_limits(1, "blas"):
        obj = LinearModelLoss(MultinomialCrossEntropy, X, target, C=C_STUDY, mean=mean,
                              scale=scale, n_threads=min(2, os.cpu_count() or 1))
        w = np.zeros(obj.n_params)
        obj.value_and_grad(w)
        start = time.perf_counter()
        for _ in range(5):
            obj.value_and_grad(w)
        one_pass = (time.perf_counter() - start) / 5
        start = time.perf_counter()
        standardization(X)
        stats = time.perf_counter() - start
        start = time.perf_counter()
        obj.gram()
        gram = time.perf_counter() - start
        start = time.perf_counter()
        SharedPreconditioner(obj)
        factor = time.perf_counter() - start
    overheads = {"pass_ms": 1e3 * one_pass, "statistics": stats / one_pass,
                 "gram": gram / one_pass, "cholesky": factor / one_pass}
    log(f"  one-off work in passes: {overheads}")
    return {"default": default, "tight": tight, "path": path_evals,
            "path_objectives": [float(v) for v in path.objectives], "overheads": overheads}


# --------------------------------------------------------------------------------------------
# report
def machine() -> dict[str, str]:
    """Describe the machine and library versions."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    blas = ", ".join(
        f"{i['internal_api']} {i['version']} ({Path(i['filepath']).parent.name}, "
        f"{i['num_threads']} threads)"
        for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    return {
        "load": load,
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {cores} cores",
        "versions": (f"Python {platform.python_version()}, numpy {np.__version__}, scipy "
                     f"{scipy.__version__}, scikit-learn {sklearn.__version__}, threadpoolctl "
                     f"{threadpoolctl.__version__}"),
        "blas": blas,
    }


def _row(name: str, r: dict[str, Any], ratio: str) -> str:
    return (f"| {name} | {r['seconds']:.2f} | {ratio} | {r['evals']} | {r['n_iter']} | "
            f"{r['objective']:.4f} | {r['accuracy']:.4f} | {r['log_loss']:.4f} |")


def render(results: dict[str, Any], args: argparse.Namespace) -> dict[str, str]:
    """Return one Markdown block per experiment run (and one describing the run)."""
    m = results["machine"]
    n = results["n_samples"]
    run = (f"*Run {m['date']}{', --quick' if args.quick else ''}: {n} training rows, medians of "
           f"{args.repeats} alternating repeats.*")
    ours_on = "raw uint8, standardize=True" if OURS["mode"] == "folded" else "float32"
    blocks = {"machine": "\n".join([
        f"### Latest run of bench_fit.py ({m['date']})",
        "",
        f"- Machine: {m['cpu']}, shared with other developers' jobs (load average at the "
        f"start {m['load']}, at the end {machine()['load']}).",
        f"- {m['versions']}; BLAS: {m['blas']}.",
        f"- Data: bundled MNIST, pixels / 255, StandardScaler; C = {C_STUDY}. Ours "
        f"({OURS['mode']}) on {ours_on}, "
        "scikit-learn on float64. Objective = 1/2 ||W||^2 + C sum_n loss_n, recomputed in "
        "float64.",
        "",
    ])}
    out: list[str] = []
    header = ("| solver | seconds (median) | speed-up | evaluations | iterations | objective | "
              "test accuracy | test log-loss |\n|---|---|---|---|---|---|---|---|")
    if "default" in results:
        out = []
        r = results["default"]
        ratio = r["sklearn"]["seconds"] / r["ours"]["seconds"]
        out += [f"#### Default tolerances (scikit-learn tol=1e-4, ours tol="
                f"{LogisticRegression().tol:g})", "", run, "", header,
                _row("scikit-learn lbfgs", r["sklearn"], "1"),
                _row("ours", r["ours"], f"**{ratio:.1f}x**"), "",
                f"Seconds of each repeat: scikit-learn {_fmt(r['sklearn']['all_seconds'])}, "
                f"ours {_fmt(r['ours']['all_seconds'])}.", ""]
        blocks["default"] = "\n".join(out)
    if "tight" in results:
        out = []
        r = results["tight"]
        ratio = r["sklearn"]["seconds"] / r["ours"]["seconds"]
        out += [f"#### Tight: within 1e-6 of the optimum {r['optimum']:.5f} (objective <= "
                f"{r['target']:.5f})", "", run, "",
                f"Optimum from our fit at tol=1e-9 ({r['reference_evals']} evaluations). "
                f"Tolerances found by walking down a ladder: scikit-learn tol="
                f"{r['sklearn_tol']:g}, ours tol={r['ours_tol']:g}.", "", header,
                _row(f"scikit-learn lbfgs (tol={r['sklearn_tol']:g})", r["sklearn"], "1"),
                _row(f"ours (tol={r['ours_tol']:g})", r["ours"], f"**{ratio:.1f}x**"), "",
                f"Seconds of each repeat: scikit-learn {_fmt(r['sklearn']['all_seconds'])}, "
                f"ours {_fmt(r['ours']['all_seconds'])}.", ""]
        blocks["tight"] = "\n".join(out)
    if "path" in results:
        out = []
        r = results["path"]
        ratio = r["sklearn_seconds"] / r["ours_seconds"]
        out += [f"#### Path of 10 C values, 0.01 to 10: our warm-started path "
                f"{r['ours_seconds']:.2f} s, 10 cold scikit-learn fits {r['sklearn_seconds']:.1f}"
                f" s: **{ratio:.1f}x**", "", run, "",
                f"Seconds of each repeat: scikit-learn {_fmt(r['all_sklearn'])}, ours "
                f"{_fmt(r['all_ours'])}.", "",
                "| C | sklearn seconds | sklearn evals | ours evals | sklearn objective | "
                "ours objective | ours - sklearn | sklearn accuracy | ours accuracy |",
                "|---|---|---|---|---|---|---|---|---|"]
        for p in r["points"]:
            out.append(
                f"| {p['C']:.4g} | {p['sklearn_seconds']:.2f} | {p['sklearn_evals']} | "
                f"{p['ours_evals']} | {p['sklearn_objective']:.4f} | {p['ours_objective']:.4f} | "
                f"{p['ours_objective'] - p['sklearn_objective']:+.4f} | "
                f"{p['sklearn_accuracy']:.4f} | {p['ours_accuracy']:.4f} |")
        out.append("")
        blocks["path"] = "\n".join(out)
    if "memory" in results:
        out = []
        r = results["memory"]
        mb = 2**20
        X = r["X32_bytes"]
        out += ["#### Peak memory allocated during a fit (tracemalloc; X allocated before)", "",
                run, "",
                f"float32 training matrix: {X / mb:.1f} MiB; n_classes x n_samples float64: "
                f"{10 * r['n_samples'] * 8 / mb:.1f} MiB.", "",
                "| fit | peak allocated | / float32 X | X + peak, / float32 X |",
                "|---|---|---|---|",
                f"| ours, one fit ({r['ours_X_dtype']} X, {r['ours_X_bytes'] / mb:.1f} MiB) | "
                f"{r['ours'] / mb:.1f} MiB | {r['ours'] / X:.2f} | "
                f"{(r['ours_X_bytes'] + r['ours']) / X:.2f} |",
                f"| ours, path of 3 C | {r['ours_path'] / mb:.1f} MiB | {r['ours_path'] / X:.2f}"
                f" | {(r['ours_X_bytes'] + r['ours_path']) / X:.2f} |",
                f"| scikit-learn, one fit (float64 X) | {r['sklearn'] / mb:.1f} MiB | "
                f"{r['sklearn'] / X:.2f} | {1 + r['sklearn'] / X:.2f} (its X is float64: 2.00) |",
                ""]
        blocks["memory"] = "\n".join(out)
    if "kernels" in results:
        r = results["kernels"]
        out = [f"#### One loss-and-gradient pass per kernel (softmax, 10 classes; raw density "
               f"{r['density']:.1%})", "", run, "",
               "| kernel | ms per pass (wall, median) | ms CPU | build s | first pass s |",
               "|---|---|---|---|---|"]
        for key, t in r["kernels"].items():
            out.append(f"| {key} | {t['wall_ms']:.1f} | {t['cpu_ms']:.1f} | "
                       f"{t['build_s']:.2f} | {t['first_s']:.2f} |")
        out += [f"| scikit-learn loss_gradient, float64, its threads | {r['sklearn_ms']:.1f} |"
                " | | |", ""]
        blocks["kernels"] = "\n".join(out)
    if "passes" in results:
        r = results["passes"]
        o = r["overheads"]
        out = ["#### Our passes over the data per fit (counts; ours only)", "", run, "",
               "| fit | passes | iterations | objective |", "|---|---|---|---|"]
        out += [f"| default tol, C = {p['C']:g} | {p['evals']} | {p['n_iter']} | "
                f"{p['objective']:.4f} |" for p in r["default"]]
        out += [f"| tol={PASSES_TIGHT_TOL:g}, C = {C_STUDY} | {r['tight']['evals']} | "
                f"{r['tight']['n_iter']} | {r['tight']['objective']:.4f} |",
                f"| path of 10 C, 0.01-10 | {sum(r['path'])} | | per C: "
                f"{', '.join(str(e) for e in r['path'])} |", "",
                f"One-off work of a fit, in passes of {o['pass_ms']:.1f} ms timed in the same "
                f"run: statistics {o['statistics']:.1f}, Gram matrix {o['gram']:.1f}, Cholesky "
                f"factor {o['cholesky']:.1f}.", ""]
        blocks["passes"] = "\n".join(out)
    return blocks


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def write_markdown(blocks: dict[str, str], path: Path) -> None:
    """Replace each experiment's marked block in ``path``, appending blocks not there yet.

    A partial run (``--only default``) so updates its own figures and keeps the others.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    for name in ["machine", "default", "tight", "path", "memory", "kernels", "passes"]:
        if name not in blocks:
            continue
        start, end = f"<!-- bench_fit:{name}:start -->", f"<!-- bench_fit:{name}:end -->"
        block = f"{start}\n{blocks[name]}\n{end}"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            text = head + block + rest.split(end, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats per timing (median)")
    parser.add_argument("--quick", action="store_true", help="10,000 training rows")
    parser.add_argument("--only", nargs="*",
                        default=["kernels", "default", "tight", "path", "memory"],
                        choices=["default", "tight", "path", "memory", "kernels", "passes"])
    parser.add_argument("--ours", choices=["folded", "standardized"], default="folded",
                        help="ours on raw uint8 with standardize=True (default) or on the "
                             "standardized float32 matrix")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    OURS["mode"] = args.ours
    d = load_mnist(args.quick)
    results: dict[str, Any] = {"machine": machine(), "n_samples": d["X32"].shape[0]}
    for name, run in [("default", lambda: run_default(d, args.repeats, log)),
                      ("tight", lambda: run_tight(d, args.repeats, log)),
                      ("path", lambda: run_path(d, args.repeats, log)),
                      ("memory", lambda: run_memory(d)),
                      ("kernels", lambda: run_kernels(d, args.repeats, log)),
                      ("passes", lambda: run_passes(d, log))]:
        if name in args.only:
            log(f"{name} ...")
            results[name] = run()
    blocks = render(results, args)
    print("\n\n".join(blocks.values()))
    if not args.no_write:
        write_markdown(blocks, args.out)
        log(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
