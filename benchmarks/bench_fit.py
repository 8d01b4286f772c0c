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

Plus the peak memory a fit allocates (tracemalloc) against the float32 training matrix.

Our model gets the float32 matrix that our pipeline emits (PixelScaler outputs float32 and
StandardScaler preserves it); scikit-learn gets float64, what ``X / 255`` gives a scikit-learn
user. Timings on a shared machine are noisy: every figure is a median of ``--repeats`` runs and
ours and scikit-learn's alternate within each repeat.

Usage::

    python benchmarks/bench_fit.py                 # full benchmark, writes BENCHMARKS.md
    python benchmarks/bench_fit.py --quick         # 10,000 rows, smaller ladders
    python benchmarks/bench_fit.py --repeats 1 --no-write
"""

from __future__ import annotations

import argparse
import datetime as _dt
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
    }


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
    model = LogisticRegression(C=C, max_iter=10_000)
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
        "objective": objective(model.coef_, model.intercept_, X, y, C),
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
        ours.append(fit_ours(d["X32"], d["y"], C_STUDY))
        log(f"  default repeat {i + 1}: sklearn {theirs[-1]['seconds']:.1f} s "
            f"({theirs[-1]['evals']} evals), ours {ours[-1]['seconds']:.2f} s "
            f"({ours[-1]['evals']} evals)")
    return {
        "sklearn": summarize(theirs, d["X64"], d["y"], d["X64_test"], d["y_test"], C_STUDY),
        "ours": summarize(ours, d["X64"], d["y"], d["X32_test"], d["y_test"], C_STUDY),
    }


def _first_reaching(fit: Callable[[float], dict[str, Any]], ladder: list[float], target: float,
                    d: dict[str, Any], log: Callable[[str], None], name: str
                    ) -> tuple[float, dict[str, Any]]:
    """Walk down ``ladder`` until a fit's objective is <= target; return (tol, that run)."""
    for tol in ladder:
        run = fit(tol)
        value = objective(run["model"].coef_, run["model"].intercept_, d["X64"], d["y"], C_STUDY)
        log(f"  {name} tol={tol:g}: {run['seconds']:.1f} s, {run['evals']} evals, "
            f"objective {value:.5f}")
        if value <= target:
            return tol, run
    return ladder[-1], run


def run_tight(d: dict[str, Any], repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Each solver at the loosest tolerance reaching 1e-6 (relative) of the optimum."""
    start = time.perf_counter()
    reference = fit_ours(d["X32"], d["y"], C_STUDY, tol=1e-9)
    ref_model = reference["model"]
    optimum = objective(ref_model.coef_, ref_model.intercept_, d["X64"], d["y"], C_STUDY)
    log(f"  reference optimum {optimum:.6f} ({time.perf_counter() - start:.1f} s, "
        f"{reference['evals']} evals)")
    target = optimum * (1 + 1e-6)
    our_tol, our_first = _first_reaching(
        lambda tol: fit_ours(d["X32"], d["y"], C_STUDY, tol), OUR_TIGHT_LADDER, target, d, log,
        "ours")
    sk_tol, sk_first = _first_reaching(
        lambda tol: fit_sklearn(d["X64"], d["y"], C_STUDY, tol), SK_TIGHT_LADDER, target, d,
        log, "sklearn")
    ours, theirs = [our_first], [sk_first]
    for i in range(1, repeats):
        theirs.append(fit_sklearn(d["X64"], d["y"], C_STUDY, sk_tol))
        ours.append(fit_ours(d["X32"], d["y"], C_STUDY, our_tol))
        log(f"  tight repeat {i + 1}: sklearn {theirs[-1]['seconds']:.1f} s, "
            f"ours {ours[-1]['seconds']:.2f} s")
    return {
        "optimum": optimum, "target": target, "sklearn_tol": sk_tol, "ours_tol": our_tol,
        "reference_evals": reference["evals"],
        "sklearn": summarize(theirs, d["X64"], d["y"], d["X64_test"], d["y_test"], C_STUDY),
        "ours": summarize(ours, d["X64"], d["y"], d["X32_test"], d["y_test"], C_STUDY),
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
            path = logistic_regression_path(d["X32"], d["y"], PATH_CS)
            our_seconds.append(time.perf_counter() - start)
        log(f"  path repeat {i + 1}: 10 sklearn fits {total:.1f} s, our path "
            f"{our_seconds[-1]:.2f} s")
    assert path is not None
    accuracy = np.mean(path.predict(d["X32_test"]) == d["y_test"], axis=1)
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
            "ours_objective": objective(path.coefs[i], path.intercepts[i], d["X64"], d["y"],
                                        float(C)),
            "ours_accuracy": float(accuracy[i]),
        })
    return {"sklearn_seconds": statistics.median(sk_seconds), "ours_seconds":
            statistics.median(our_seconds), "all_sklearn": sk_seconds, "all_ours": our_seconds,
            "points": points}


def run_memory(d: dict[str, Any]) -> dict[str, Any]:
    """Peak bytes allocated by one fit (X itself allocated before), ours and scikit-learn's."""
    # warm up first: the first fit of a process also allocates its imports and thread pools
    fit_ours(d["X32"][:500], d["y"][:500], C_STUDY)
    fit_sklearn(d["X64"][:500], d["y"][:500], C_STUDY)
    ours = peak_memory(lambda: fit_ours(d["X32"], d["y"], C_STUDY))
    ours_path = peak_memory(lambda: logistic_regression_path(d["X32"], d["y"], PATH_CS[:3]))
    theirs = peak_memory(lambda: fit_sklearn(d["X64"], d["y"], C_STUDY))
    return {"X32_bytes": d["X32"].nbytes, "ours": ours, "ours_path": ours_path,
            "sklearn": theirs, "n_samples": d["X32"].shape[0]}


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
    return {
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
    blocks = {"machine": "\n".join([
        f"### Latest run of bench_fit.py ({m['date']})",
        "",
        f"- Machine: {m['cpu']}, shared with other developers' jobs.",
        f"- {m['versions']}; BLAS: {m['blas']}.",
        f"- Data: bundled MNIST, pixels / 255, StandardScaler; C = {C_STUDY}. Ours on float32, "
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
                f"| ours, one fit (float32 X) | {r['ours'] / mb:.1f} MiB | {r['ours'] / X:.2f} | "
                f"{1 + r['ours'] / X:.2f} |",
                f"| ours, path of 3 C | {r['ours_path'] / mb:.1f} MiB | {r['ours_path'] / X:.2f}"
                f" | {1 + r['ours_path'] / X:.2f} |",
                f"| scikit-learn, one fit (float64 X) | {r['sklearn'] / mb:.1f} MiB | "
                f"{r['sklearn'] / X:.2f} | {1 + r['sklearn'] / X:.2f} (its X is float64: 2.00) |",
                ""]
        blocks["memory"] = "\n".join(out)
    return blocks


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def write_markdown(blocks: dict[str, str], path: Path) -> None:
    """Replace each experiment's marked block in ``path``, appending blocks not there yet.

    A partial run (``--only default``) so updates its own figures and keeps the others.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    for name in ["machine", "default", "tight", "path", "memory"]:
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
    parser.add_argument("--only", nargs="*", default=["default", "tight", "path", "memory"],
                        choices=["default", "tight", "path", "memory"])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    d = load_mnist(args.quick)
    results: dict[str, Any] = {"machine": machine(), "n_samples": d["X32"].shape[0]}
    for name, run in [("default", lambda: run_default(d, args.repeats, log)),
                      ("tight", lambda: run_tight(d, args.repeats, log)),
                      ("path", lambda: run_path(d, args.repeats, log)),
                      ("memory", lambda: run_memory(d))]:
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
