"""Benchmark the study's nested cross-validation against scikit-learn's, side by side.

Runs, in one process and on the same machine:

1. a *reduced* protocol both ways on a seeded stratified subsample of bundled MNIST
   (scikit-learn: ``RandomizedSearchCV`` of ``LogisticRegression(lbfgs)`` nested in
   ``cross_validate``, plus the final search; ours: :func:`run_nested_cv` with the same folds,
   candidate count and C distribution), printing both times, the ratio and both test accuracies;
2. unless ``--skip-full``, our *full* default protocol on all 60,000 training images
   (6 outer x 5 inner x 10 candidates plus the final search), printing its time and test metrics.

With ``--count``, ours instead runs in this process on a virtual clock (:class:`VirtualRunner`):
every task is timed in CPU seconds and placed by the engine's own scheduling on ``--n-jobs``
virtual workers, and the loss-and-gradient passes are counted. Its figures (tasks, passes, rows
read, summed CPU seconds, the schedule's length and idle worker-seconds) do not depend on
what else runs on a shared machine; the makespan is what a quiet machine would need for the
tasks alone (process start-up and transfers excluded).

Usage::

    .venv/bin/python benchmarks/bench_study.py [--max-train 10000] [--outer 3] [--inner 3]
        [--candidates 5] [--n-jobs 2] [--skip-full] [--ours-only] [--count]
        [--no-expand-range]
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import os
import platform
import time
from typing import Any

import numpy as np
import sklearn
from scipy.stats import loguniform
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mnist_logreg.datasets import load_dataset
from mnist_logreg.linear_model import _linear_loss
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


class VirtualRunner:
    """Runs each task at once in this process, timed in CPU seconds, on a virtual clock.

    A task starts on the virtual worker that frees up first, never before the engine asked for
    it (the clock stands at the latest completion the engine has waited for), so the schedule is
    the engine's own on ``n_workers`` idle cores.
    """

    description = "virtual clock"

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers
        self.now = 0.0
        self.free = [0.0] * n_workers
        self.tasks: list[dict[str, Any]] = []
        self.passes = collections.Counter()
        original = _linear_loss.LinearModelLoss.value_and_grad
        counter = self.passes

        def counted(loss: Any, w: np.ndarray) -> Any:
            counter["passes"] += 1
            counter["rows"] += loss.n_samples
            return original(loss, w)

        self._original = original
        _linear_loss.LinearModelLoss.value_and_grad = counted  # type: ignore[method-assign]

    def share(self, array: np.ndarray) -> np.ndarray:
        return array

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        before = self.passes["passes"]
        start_cpu = time.process_time()
        with threadpool_limits(limits=1):
            future.set_result(fn(*args, **kwargs))
        seconds = time.process_time() - start_cpu
        worker = min(range(self.n_workers), key=lambda k: self.free[k])
        start = max(self.now, self.free[worker])
        self.free[worker] = start + seconds
        future.virtual_end = start + seconds  # type: ignore[attr-defined]
        self.tasks.append({"task": fn.__name__, "seconds": seconds,
                           "passes": self.passes["passes"] - before})
        return future

    def wait_first(self, futures: Any) -> tuple[set[Any], set[Any]]:
        futures = list(futures)
        first = min(f.virtual_end for f in futures)
        self.now = max(self.now, first)
        done = {f for f in futures if f.virtual_end <= first}
        return done, set(futures) - done

    def cancel(self, futures: Any) -> None:
        return None

    def close(self) -> None:
        _linear_loss.LinearModelLoss.value_and_grad = self._original  # type: ignore[method-assign]

    def summary(self) -> str:
        """Tasks, passes, rows read, CPU seconds, makespan and idle worker-seconds."""
        cpu = sum(t["seconds"] for t in self.tasks)
        span = max(self.free)
        kinds = collections.Counter(t["task"] for t in self.tasks)
        return (
            f"{len(self.tasks)} tasks ({kinds['_search_task']} search, {kinds['_refit_task']} "
            f"refit), {self.passes['passes']} passes reading {self.passes['rows'] / 1e6:.1f} M "
            f"rows, task CPU {cpu:.1f} s, makespan on {self.n_workers} workers {span:.1f} s "
            f"(idle {self.n_workers * span - cpu:.1f} worker-s)"
        )


def ours_counted(X, y, X_test, y_test, config: NestedCVConfig, n_jobs: int) -> str:
    """The protocol on a :class:`VirtualRunner`; returns its summary and the test accuracy."""
    runner = VirtualRunner(n_jobs)
    try:
        # compile or load the pass kernels before timing (each worker process does it once)
        from mnist_logreg.linear_model import logistic_regression_path

        logistic_regression_path(X[:3000], y[:3000], [1.0], standardize=True, max_iter=2,
                                 warn=False)
        runner.passes.clear()
        outcomes = run_nested_cv(X, y, X_test, config, pixel_max=255.0, runner=runner)
    finally:
        runner.close()
    final = outcomes[-1]
    accuracy = float(np.mean(final.classes[final.proba.argmax(axis=1)] == y_test))
    return f"{runner.summary()}, test accuracy {accuracy:.4f}"


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
    parser.add_argument("--count", action="store_true",
                        help="only ours, in-process on a virtual clock: tasks, passes, CPU "
                        "seconds, the schedule's makespan (load-independent figures)")
    parser.add_argument("--no-expand-range", action="store_true",
                        help="the reference protocol's fixed C range (default: extended)")
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
        outer=args.outer, inner=args.inner, n_candidates=args.candidates, random_state=args.seed,
        expand_range=not args.no_expand_range,
    )
    n_fits = (args.outer + 1) * (args.inner * args.candidates + 1)
    print(
        f"reduced protocol: {len(y)} rows, {args.outer} outer x {args.inner} inner x "
        f"{args.candidates} candidates + final search ({n_fits} fits)"
    )
    if args.count:
        counted = ours_counted(X, y, data.X_test, data.y_test, reduced, args.n_jobs)
        print(f"  mnist-logreg : {counted}")
        return
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
