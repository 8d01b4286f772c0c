"""Benchmark the study's nested cross-validation against scikit-learn's, side by side.

Runs, in one process and on the same machine:

1. a *reduced* protocol both ways on a seeded stratified subsample of bundled MNIST
   (scikit-learn: ``RandomizedSearchCV`` of ``LogisticRegression(lbfgs)`` nested in
   ``cross_validate``, plus the final search; ours: :func:`run_nested_cv` with the same folds,
   candidate count and C distribution), printing both times, the ratio and both test accuracies;
2. unless ``--skip-full``, our *full* default protocol on all 60,000 training images
   (6 outer x 5 inner x 10 candidates plus the final search), printing its time and test metrics.

Usage::

    .venv/bin/python benchmarks/bench_study.py [--max-train 10000] [--outer 3] [--inner 3]
        [--candidates 5] [--n-jobs 2] [--skip-full] [--ours-only]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import sklearn
from scipy.stats import loguniform
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mnist_logreg.datasets import load_dataset
from mnist_logreg.model_selection import NestedCVConfig, make_runner, run_nested_cv
from mnist_logreg.preprocessing import PixelScaler
from mnist_logreg.study import training_rows


def sklearn_nested(
    X, y, X_test, y_test, config: NestedCVConfig, n_jobs: int
) -> tuple[float, float]:
    """The reference protocol with scikit-learn only; returns (seconds, test accuracy)."""
    pipeline = Pipeline(
        [
            ("scale", PixelScaler(255.0, dtype=np.float64)),
            ("standardize", StandardScaler()),
            ("classifier", SkLogisticRegression(max_iter=1000)),
        ]
    )
    search = RandomizedSearchCV(
        pipeline,
        {"classifier__C": loguniform(config.c_min, config.c_max)},
        n_iter=config.n_candidates,
        cv=StratifiedKFold(config.inner, shuffle=True, random_state=config.random_state),
        scoring=config.scoring,
        random_state=config.random_state,
        n_jobs=n_jobs,
    )
    start = time.perf_counter()
    outer = StratifiedKFold(config.outer, shuffle=True, random_state=config.random_state)
    cross_validate(search, X, y, cv=outer, scoring=config.scoring)
    search.fit(X, y)
    seconds = time.perf_counter() - start
    return seconds, float(search.score(X_test, y_test))


def ours_nested(X, y, X_test, y_test, config: NestedCVConfig, n_jobs: int) -> tuple[float, float]:
    """The same protocol with mnist-logreg; returns (seconds, test accuracy)."""
    start = time.perf_counter()
    runner = make_runner(n_jobs=n_jobs)
    try:
        outcomes = run_nested_cv(X, y, X_test, config, pixel_max=255.0, runner=runner)
    finally:
        runner.close()
    seconds = time.perf_counter() - start
    final = outcomes[-1]
    accuracy = float(np.mean(final.classes[final.proba.argmax(axis=1)] == y_test))
    return seconds, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-train", type=int, default=10000)
    parser.add_argument("--outer", type=int, default=3)
    parser.add_argument("--inner", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--ours-only", action="store_true",
                        help="time only ours on the reduced protocol (no scikit-learn run)")
    args = parser.parse_args()

    data = load_dataset("mnist")
    print(
        f"# bench_study: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, n_jobs={args.n_jobs}, "
        f"load average {_load()}"
    )
    rows = training_rows(data, args.max_train, args.seed)
    X, y = data.X_train[rows], data.y_train[rows]
    reduced = NestedCVConfig(
        outer=args.outer, inner=args.inner, n_candidates=args.candidates, random_state=args.seed
    )
    n_fits = (args.outer + 1) * (args.inner * args.candidates + 1)
    print(
        f"reduced protocol: {len(y)} rows, {args.outer} outer x {args.inner} inner x "
        f"{args.candidates} candidates + final search ({n_fits} fits)"
    )
    ours_s, ours_acc = ours_nested(X, y, data.X_test, data.y_test, reduced, args.n_jobs)
    print(f"  mnist-logreg : {ours_s:8.1f} s   test accuracy {ours_acc:.4f}")
    if not args.ours_only:
        sk_s, sk_acc = sklearn_nested(X, y, data.X_test, data.y_test, reduced, args.n_jobs)
        print(f"  scikit-learn : {sk_s:8.1f} s   test accuracy {sk_acc:.4f}")
        print(f"  speed-up     : {sk_s / ours_s:8.1f} x")

    if not args.skip_full:
        full = NestedCVConfig(random_state=args.seed)
        seconds, accuracy = ours_nested(
            data.X_train, data.y_train, data.X_test, data.y_test, full, args.n_jobs
        )
        print(
            f"full default protocol (60000 rows, 6 x 5 x 10 + final): {seconds:.1f} s "
            f"({seconds / 60:.1f} min), test accuracy {accuracy:.4f}"
        )
    print(f"# load average at the end {_load()}")


def _load() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared)."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
