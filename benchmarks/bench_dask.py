"""Benchmark of the data-parallel fit on Dask (issue 11): overhead, scaling with rows, Spark.

Three experiments, each printing a table (and ``--json FILE`` writing the figures):

``mnist``
    The bundled MNIST (60,000 rows, uint8 pixels, standardization folded, C=0.1): the Dask fit on
    a LocalCluster of ``--workers`` single-threaded workers (chunks of 10,000 rows, persisted)
    against the in-memory fit (all cores). Per engine: milliseconds per pass (median of the
    passes of the fit; for the in-memory engine, the median of ``--passes`` passes of its pass
    kernel at the solution, as the Dask figure also times the pass alone), passes, seconds,
    objective, their relative difference and the test predictions that differ.
``scaling``
    Deformed-digit stores of ``--sizes`` rows (built under ``--store-dir``, reused when present
    and complete), each fitted on a LocalCluster: seconds per pass, total fit seconds, passes,
    peak resident memory of the client and of the workers (psutil, the sum over the worker
    processes, sampled every 0.2 s), test accuracy on MNIST's 10,000 test images and its gain
    over the same fit on the 60,000 originals; with ``--in-memory-passes K`` also the in-memory
    engine's seconds per pass on the same rows (read whole into memory) and the ratio.
``passes``
    Side by side in one run: the in-memory engine's pass (all cores) and the Dask pass (the
    fit's own :class:`DaskPassKernel`, blocks persisted on ``--workers`` workers), alternated
    ``--passes`` times at the same coefficients on the bundled MNIST (``--rows 60000``) or
    the first ``--rows`` rows of a deformed store: median milliseconds of each, their ratio,
    the kernel each engine runs, and the workers' CPU seconds per pass against the
    in-memory process's (per-row cost without the machine's load in it).
``spark``
    Spark MLlib's multinomial ``LogisticRegression`` (pyspark ``local[2]``) on the first
    ``--rows`` rows of a store, against our Dask fit of the same rows. Ours minimizes
    ``sum_n loss_n + ||V||^2 / (2C)`` with V the weights of the standardized features; Spark
    minimizes ``(1/n) sum_n loss_n + regParam/2 ||V||^2`` where, with ``standardization=True``,
    the penalty is on the standardized coefficients too (Spark scales by the sample standard
    deviation, ours by the population one: a factor sqrt(n/(n-1)), 1 + 8e-7 at 600,000 rows).
    Dividing ours by ``n`` gives Spark's with ``regParam = 1 / (C n)`` and
    ``elasticNetParam = 0``. Spark's coefficients (raw feature space) are scored by OUR loss
    (``LinearModelLoss.objective`` on the same rows), in scikit-learn's scale ``C * ours``.
    pyspark is not a dependency: ``--install-spark`` pip-installs it into ``--spark-lib`` (a
    folder of its own, added to ``sys.path`` of the Spark job only); Java must be on PATH
    (Debian: ``apt-get install -y default-jre-headless``, as root). dask-ml cannot stand in: its
    LogisticRegression has no multinomial model (dask/dask-ml issue 761).

The machine's load (``/proc/loadavg``) is recorded with every figure: timings on a shared
machine are noisy.

Usage::

    python benchmarks/bench_dask.py mnist
    python benchmarks/bench_dask.py scaling --sizes 60000,600000 --store-dir /tmp/h11-stores
    python benchmarks/bench_dask.py spark --rows 600000 --store-dir /tmp/h11-stores --install-spark
    python benchmarks/bench_dask.py passes --rows 60000 --passes 20
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# The benchmarks send in-memory rows to the cluster inside the graph on purpose.
warnings.filterwarnings("ignore", message="Sending large graph")

C_DEFAULT = 0.1
CHUNK_ROWS = 10_000


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A client of a LocalCluster of single-threaded worker processes (quiet shutdown)."""
    from mnist_logreg.linear_model._distributed import local_cluster as cluster_client

    with cluster_client(workers) as client:
        yield client


def in_memory_pass_ms(X: np.ndarray, y: np.ndarray, path: Any, passes: int) -> float:
    """Median milliseconds of one pass of the in-memory engine's kernel at ``path``'s solution."""
    import mnist_logreg.linear_model._path as P
    from mnist_logreg.linear_model._linear_loss import LinearModelLoss
    from mnist_logreg.linear_model._standardize import standardization

    dtype = np.dtype(np.float32)
    loss, target, _ = P._encode_targets(y, np.unique(y), "multinomial", dtype)
    mean, scale, _ = standardization(X, None)
    n_threads = P._available_threads()
    with P._blas_controller().limit(limits=1, user_api="blas"):
        base = LinearModelLoss(loss, X, target, np.ones(len(y), dtype), C=1.0,
                               fit_intercept=True, n_threads=n_threads, mean=mean, scale=scale)
        W, b = base.fold(path.standardized_coefs[0], path.standardized_intercepts[0])
        times = []
        for _ in range(passes):
            start = time.perf_counter()
            base.kernel.loss_gradient(loss, W, b, base.target, base.sample_weight,
                                      np.dtype(base.compute_dtype))
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


class PeakMemory:
    """Peak resident memory of this process and of the cluster's workers (sampled)."""

    def __init__(self, client: Any) -> None:
        import psutil

        self.me = psutil.Process()
        pids = client.run(os.getpid).values()
        self.workers = [psutil.Process(pid) for pid in pids]
        self.client_peak = self.workers_peak = self.total_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        mine = self.me.memory_info().rss
        theirs = sum(p.memory_info().rss for p in self.workers)
        self.client_peak = max(self.client_peak, mine)
        self.workers_peak = max(self.workers_peak, theirs)
        self.total_peak = max(self.total_peak, mine + theirs)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def bench_mnist(args: argparse.Namespace) -> dict[str, Any]:
    """The Dask fit on a LocalCluster against the in-memory fit, bundled MNIST."""
    import dask.array as da

    from mnist_logreg.datasets import load_dataset
    from mnist_logreg.linear_model import LogisticRegression, path_estimators
    from mnist_logreg.linear_model._distributed import dask_logistic_regression_path

    data = load_dataset("mnist")
    X, y = data.X_train, data.y_train
    start = time.perf_counter()
    model = LogisticRegression(C=args.C, standardize=True).fit(X, y)
    mem_seconds = time.perf_counter() - start
    mem = {"passes": int(model.n_evals_), "seconds": mem_seconds,
           "objective": float(model.objective_), "load": load()}
    with local_cluster(args.workers) as client:
        pass_seconds: list[float] = []
        start = time.perf_counter()
        path = dask_logistic_regression_path(
            da.from_array(X, chunks=(CHUNK_ROWS, -1)), da.from_array(y, chunks=CHUNK_ROWS),
            [args.C], standardize=True, client=client, persist=True,
            on_pass=lambda i, s: pass_seconds.append(s),
        )
        dask_seconds = time.perf_counter() - start
        dask_load = load()
    mem["ms_per_pass"] = in_memory_pass_ms(X, y, path, args.passes)
    mem["ms_per_pass_load"] = load()
    got = path_estimators(path)[0]
    dsk = {"passes": int(path.n_evals[0]), "seconds": dask_seconds,
           "objective": float(path.objectives[0]),
           "ms_per_pass": float(np.median(pass_seconds) * 1e3), "load": dask_load}
    out = {
        "rows": len(y), "C": args.C, "workers": args.workers, "in_memory": mem, "dask": dsk,
        "pass_ratio": dsk["ms_per_pass"] / mem["ms_per_pass"],
        "relative_objective_difference": abs(dsk["objective"] - mem["objective"])
        / mem["objective"],
        "test_predictions_differing": int(np.sum(got.predict(data.X_test)
                                                 != model.predict(data.X_test))),
    }
    print(f"MNIST, {len(y)} rows, C={args.C}, LocalCluster of {args.workers} workers")
    print(f"{'engine':<10} {'ms/pass':>8} {'passes':>6} {'seconds':>8} {'objective':>14}  load")
    for name, r in (("in-memory", mem), ("dask", dsk)):
        print(f"{name:<10} {r['ms_per_pass']:8.1f} {r['passes']:6d} {r['seconds']:8.2f} "
              f"{r['objective']:14.6f}  {r['load']}")
    print(f"ratio {out['pass_ratio']:.2f}x per pass; relative objective difference "
          f"{out['relative_objective_difference']:.2e}; test predictions differing: "
          f"{out['test_predictions_differing']}")
    return out


def ensure_store(store_dir: Path, n: int, jobs: int, chunk: int) -> tuple[Path, float | None]:
    """The store of ``n`` deformed digits under ``store_dir`` (built unless complete)."""
    from mnist_logreg.datasets import build_deformed_store, read_manifest

    out = store_dir / f"deformed-{n}-seed0-chunk{chunk}"
    if out.exists():
        manifest = read_manifest(out)
        if len(manifest.chunks) == -(-n // chunk):
            return out, None
        resume = True
    else:
        store_dir.mkdir(parents=True, exist_ok=True)
        resume = False
    start = time.perf_counter()
    if resume:
        build_deformed_store(out, n, resume=True, n_jobs=jobs)
    else:
        build_deformed_store(out, n, seed=0, chunk_size=chunk, n_jobs=jobs)
    return out, time.perf_counter() - start


def bench_scaling(args: argparse.Namespace) -> dict[str, Any]:
    """Fits of growing deformed stores on a LocalCluster."""
    from mnist_logreg.datasets import load_dataset, load_zarr_dataset, open_zarr_dataset
    from mnist_logreg.linear_model import LogisticRegression, path_estimators
    from mnist_logreg.linear_model._distributed import dask_logistic_regression_path

    mnist = load_dataset("mnist")
    base = LogisticRegression(C=args.C, standardize=True).fit(mnist.X_train, mnist.y_train)
    base_accuracy = float(np.mean(base.predict(mnist.X_test) == mnist.y_test))
    print(f"originals: 60000 rows, C={args.C}, test accuracy {base_accuracy:.4f}")
    rows_out = []
    header = (f"{'rows':>9} {'s/pass':>7} {'fit s':>7} {'passes':>6} {'client MB':>9} "
              f"{'workers MB':>10} {'total MB':>8} {'test acc':>8} {'gain':>7} "
              f"{'mem s/pass':>10} {'ratio':>5}  load")
    for n in args.sizes:
        store, build_seconds = ensure_store(args.store_dir, n, args.jobs, args.chunk)
        if build_seconds is not None:
            print(f"built {store} in {build_seconds:.0f} s")
        data = open_zarr_dataset(store)
        with local_cluster(args.workers) as client:
            pass_seconds: list[float] = []
            with PeakMemory(client) as peak:
                start = time.perf_counter()
                path = dask_logistic_regression_path(
                    data.X_train, data.y_train, [args.C], standardize=True, client=client,
                    persist=args.persist, on_pass=lambda i, s, acc=pass_seconds: acc.append(s),
                )
                seconds = time.perf_counter() - start
            fit_load = load()
        model = path_estimators(path)[0]
        accuracy = float(np.mean(model.predict(data.X_test) == data.y_test))
        row = {
            "rows": n, "seconds_per_pass": float(np.median(pass_seconds)), "fit_seconds": seconds,
            "passes": int(path.n_evals[0]), "objective": float(path.objectives[0]),
            "client_peak_mb": peak.client_peak / 2**20,
            "workers_peak_mb": peak.workers_peak / 2**20,
            "total_peak_mb": peak.total_peak / 2**20, "test_accuracy": accuracy,
            "gain_over_originals": accuracy - base_accuracy, "build_seconds": build_seconds,
            "load": fit_load, "persist": args.persist,
        }
        if args.in_memory_passes:
            full = load_zarr_dataset(store)
            row["in_memory_seconds_per_pass"] = in_memory_pass_ms(
                full.X_train, full.y_train, path, args.in_memory_passes) / 1e3
            row["ratio"] = row["seconds_per_pass"] / row["in_memory_seconds_per_pass"]
            row["in_memory_load"] = load()
            del full
        rows_out.append(row)
        print(header)
        for r in rows_out:
            mem = r.get("in_memory_seconds_per_pass")
            mem_text = "" if mem is None else f"{mem:10.3f}"
            ratio_text = "" if mem is None else f"{r['ratio']:5.2f}"
            print(f"{r['rows']:9d} {r['seconds_per_pass']:7.3f} {r['fit_seconds']:7.1f} "
                  f"{r['passes']:6d} {r['client_peak_mb']:9.0f} {r['workers_peak_mb']:10.0f} "
                  f"{r['total_peak_mb']:8.0f} {r['test_accuracy']:8.4f} "
                  f"{r['gain_over_originals']:+7.4f} "
                  f"{mem_text:>10} {ratio_text:>5}  {r['load']}")
    return {"C": args.C, "workers": args.workers, "originals_test_accuracy": base_accuracy,
            "rows": rows_out}


def bench_passes(args: argparse.Namespace) -> dict[str, Any]:
    """The in-memory pass and the Dask pass alternated at the same coefficients."""
    import dask
    import dask.array as da
    import psutil
    from distributed import wait

    import mnist_logreg.linear_model._distributed as D
    import mnist_logreg.linear_model._path as P
    from mnist_logreg.datasets import load_dataset, open_zarr_dataset
    from mnist_logreg.linear_model._linear_loss import LinearModelLoss
    from mnist_logreg.linear_model._standardize import standardization

    if args.rows == 60_000:
        mnist = load_dataset("mnist")
        X, y, name = mnist.X_train, mnist.y_train, "bundled MNIST"
    else:
        store, _ = ensure_store(args.store_dir, args.rows, args.jobs, args.chunk)
        data = open_zarr_dataset(store)
        X, y = data.X_train.compute(), data.y_train.compute()
        name = f"deformed digits ({store.name})"
    classes = np.unique(y)
    loss, target, _ = P._encode_targets(y, classes, "multinomial", np.dtype(np.float32))
    mean, scale, _ = standardization(X, None)
    n_threads = P._available_threads()
    V = np.random.default_rng(0).normal(scale=0.01, size=(len(classes), X.shape[1]))
    me = psutil.Process()
    rows = []
    with local_cluster(args.workers) as client, \
            P._blas_controller().limit(limits=1, user_api="blas"):
        memory = LinearModelLoss(loss, X, target, np.ones(len(y), np.float32), C=1.0,
                                 fit_intercept=True, n_threads=n_threads, mean=mean, scale=scale)
        W, b = memory.fold(V, np.zeros(len(classes)))
        chunks = (CHUNK_ROWS, -1)
        x_chunks = da.from_array(X, chunks=chunks).to_delayed(optimize_graph=False).ravel()
        y_chunks = da.from_array(y, chunks=CHUNK_ROWS).to_delayed(optimize_graph=False).ravel()
        step = max(1, len(y) // 2000)
        parts = [D._describe_chunk(X[i : i + CHUNK_ROWS], y[i : i + CHUNK_ROWS], None, False,
                                   i, step) for i in range(0, len(y), CHUNK_ROWS)]
        sampled = [sum(p["sampled"][k] for p in parts) for k in (0, 1)]
        kernel = D._choose_kernel("auto", X.size, sampled[0] / sampled[1], loss.name,
                                  len(classes))
        spec = client.scatter(D._BlockSpec(loss.name, classes, "multinomial", None, True, mean,
                                           scale, kernel), broadcast=True, hash=False)
        blocks = D._persist_balanced(
            client, lambda j: dask.delayed(D._make_block, pure=False)(x_chunks[j], y_chunks[j],
                                                                      None, spec),
            [int(c) for c in da.from_array(y, chunks=CHUNK_ROWS).chunks[0]])
        wait(blocks)
        dask_kernel = D.DaskPassKernel(client, blocks, persisted=True, n_samples=len(y),
                                       n_features=X.shape[1], stored_dtype=X.dtype, name=kernel)
        workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]

        def cpu(procs: list[Any]) -> float:
            return sum(sum(p.cpu_times()[:2]) for p in procs)

        dtype = np.dtype(np.float64) if kernel == "csr" else np.dtype(np.float32)
        for _ in range(args.passes):
            start, c0 = time.perf_counter(), cpu([me])
            memory.kernel.loss_gradient(loss, W, b, memory.target, memory.sample_weight,
                                        np.dtype(memory.compute_dtype))
            mem = (time.perf_counter() - start, cpu([me]) - c0)
            start, c0 = time.perf_counter(), cpu(workers)
            dask_kernel.loss_gradient(loss, W, b, None, None, dtype)
            rows.append((*mem, time.perf_counter() - start, cpu(workers) - c0))
        dask_kernel.close()
        spec.release()
    med = np.median(np.array(rows), axis=0)
    out = {"rows": len(y), "data": name, "workers": args.workers,
           "in_memory_kernel": memory.kernel.name, "dask_kernel": kernel,
           "in_memory_ms": med[0] * 1e3, "dask_ms": med[2] * 1e3, "ratio": med[2] / med[0],
           "in_memory_cpu_ms": med[1] * 1e3, "dask_workers_cpu_ms": med[3] * 1e3,
           "passes": args.passes, "load": load()}
    print(f"{name}, {len(y)} rows: passes alternated {args.passes} times, LocalCluster of "
          f"{args.workers} workers; kernels: in-memory {memory.kernel.name} ({n_threads} "
          f"threads), Dask {kernel}")
    print(f"median ms per pass: in-memory {out['in_memory_ms']:.1f}, Dask {out['dask_ms']:.1f}: "
          f"ratio {out['ratio']:.2f}x; CPU ms per pass: in-memory {out['in_memory_cpu_ms']:.1f}, "
          f"Dask workers {out['dask_workers_cpu_ms']:.1f}; load {out['load']}")
    return out


SPARK_JOB = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    from pyspark.sql import SparkSession
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import Vectors
    X_path, y_path, reg, out, partitions = sys.argv[1:6]
    spark = (SparkSession.builder.master("local[2]").appName("bench_dask")
             .config("spark.driver.memory", "6g").getOrCreate())
    n = len(np.load(y_path, mmap_mode="r"))
    bounds = np.linspace(0, n, int(partitions) + 1).astype(int)

    def rows(i):
        X = np.load(X_path, mmap_mode="r"); y = np.load(y_path, mmap_mode="r")
        for j in range(bounds[i], bounds[i + 1]):
            idx = np.flatnonzero(X[j])
            yield (float(y[j]), Vectors.sparse(X.shape[1], idx, X[j][idx].astype(float)))

    rdd = spark.sparkContext.parallelize(range(int(partitions)), int(partitions)).flatMap(rows)
    df = spark.createDataFrame(rdd, ["label", "features"]).cache()
    start = time.perf_counter(); df.count(); load_s = time.perf_counter() - start
    lr = LogisticRegression(family="multinomial", regParam=float(reg), elasticNetParam=0.0,
                            standardization=True, fitIntercept=True, maxIter=100, tol=1e-6)
    start = time.perf_counter(); m = lr.fit(df); fit_s = time.perf_counter() - start
    json.dump({"fit_seconds": fit_s, "load_seconds": load_s,
               "iterations": m.summary.totalIterations,
               "coef": m.coefficientMatrix.toArray().tolist(),
               "intercept": m.interceptVector.toArray().tolist()}, open(out, "w"))
    spark.stop()
''')


def bench_spark(args: argparse.Namespace) -> dict[str, Any]:
    """Spark MLlib against our Dask fit on the same rows; both scored by our objective."""
    from mnist_logreg.datasets import open_zarr_dataset
    from mnist_logreg.linear_model._distributed import dask_logistic_regression_path
    from mnist_logreg.linear_model._linear_loss import LinearModelLoss
    from mnist_logreg.linear_model._loss import MultinomialCrossEntropy
    from mnist_logreg.linear_model._standardize import standardization

    if args.install_spark:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target",
                        str(args.spark_lib), "pyspark"], check=True)
    store, _ = ensure_store(args.store_dir, args.rows, args.jobs, args.chunk)
    data = open_zarr_dataset(store)
    X = data.X_train[: args.rows].compute()
    y = data.y_train[: args.rows].compute()
    n = len(y)
    reg = 1.0 / (args.C * n)
    with tempfile.TemporaryDirectory(dir=args.store_dir) as tmp:
        np.save(Path(tmp, "X.npy"), X)
        np.save(Path(tmp, "y.npy"), y)
        job = Path(tmp, "job.py")
        job.write_text(SPARK_JOB)
        env = {**os.environ, "PYTHONPATH": str(args.spark_lib),
               "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
        start = time.perf_counter()
        subprocess.run([sys.executable, str(job), str(Path(tmp, "X.npy")),
                        str(Path(tmp, "y.npy")), repr(reg), str(Path(tmp, "out.json")), "8"],
                       check=True, env=env)
        spark_wall = time.perf_counter() - start
        spark = json.loads(Path(tmp, "out.json").read_text())
    spark_load = load()
    # our objective (scikit-learn's scale, 1/2 ||V||^2 + C sum loss) of Spark's raw-space model
    _, target, _ = __import__("mnist_logreg.linear_model._path", fromlist=["x"])._encode_targets(
        y, np.unique(y), "multinomial", np.dtype(np.float32))
    mean, scale, _ = standardization(X, None)
    objective = LinearModelLoss(MultinomialCrossEntropy, X, target, np.ones(n, np.float32),
                                C=args.C, fit_intercept=True, n_threads=2, mean=mean,
                                scale=scale)
    W = np.asarray(spark["coef"])
    b = np.asarray(spark["intercept"])
    spark_objective = objective.objective(W * scale, b + W @ mean)
    with local_cluster(args.workers) as client:
        import dask.array as da

        start = time.perf_counter()
        path = dask_logistic_regression_path(
            da.from_array(X, chunks=(CHUNK_ROWS * 5, -1)), da.from_array(y, chunks=CHUNK_ROWS * 5),
            [args.C], standardize=True, client=client, persist=True)
        ours_seconds = time.perf_counter() - start
        ours_load = load()
    ours_objective = objective.objective(path.standardized_coefs[0],
                                         path.standardized_intercepts[0])
    out = {"rows": n, "C": args.C, "regParam": reg,
           "spark": {"fit_seconds": spark["fit_seconds"], "wall_seconds": spark_wall,
                     "load_seconds": spark["load_seconds"], "iterations": spark["iterations"],
                     "objective": spark_objective, "load": spark_load},
           "ours": {"fit_seconds": ours_seconds, "passes": int(path.n_evals[0]),
                    "objective": ours_objective, "load": ours_load}}
    out["speedup"] = spark["fit_seconds"] / ours_seconds
    print(f"{n} rows, C={args.C} (Spark regParam={reg:.3e}), local[2] against "
          f"{args.workers} Dask workers; objectives by our loss, scikit-learn's scale")
    print(f"spark: {spark['fit_seconds']:.1f} s fit ({spark['iterations']} iterations, "
          f"{spark['load_seconds']:.1f} s to load the rows), objective {spark_objective:.6f}  "
          f"{spark_load}")
    print(f"ours : {ours_seconds:.1f} s fit ({path.n_evals[0]} passes), objective "
          f"{ours_objective:.6f}  {ours_load}")
    print(f"speed-up {out['speedup']:.2f}x; objective ours - spark = "
          f"{ours_objective - spark_objective:+.6f}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="experiment", required=True)
    for name in ("mnist", "scaling", "spark", "passes"):
        p = sub.add_parser(name)
        p.add_argument("--C", type=float, default=C_DEFAULT)
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--json", type=Path, default=None, help="Write the figures here.")
        if name in ("mnist", "passes"):
            p.add_argument("--passes", type=int, default=20,
                           help="In-memory kernel passes timed (median).")
        if name == "passes":
            p.add_argument("--rows", type=int, default=60_000,
                           help="60000: the bundled MNIST; else a deformed store's rows.")
        if name != "mnist":
            p.add_argument("--store-dir", type=Path, default=Path("/tmp/h11-stores"))
            p.add_argument("--jobs", type=int, default=1, help="Processes building a store.")
            p.add_argument("--chunk", type=int, default=CHUNK_ROWS, help="Rows per store chunk.")
        if name == "scaling":
            p.add_argument("--sizes", default="60000,600000",
                           type=lambda s: [int(v) for v in s.split(",")])
            p.add_argument("--persist", default="auto", type=lambda s: s if s == "auto"
                           else s == "true", help="auto, true or false")
            p.add_argument("--in-memory-passes", type=int, default=0)
        if name == "spark":
            p.add_argument("--rows", type=int, default=600_000)
            p.add_argument("--spark-lib", type=Path, default=Path("/tmp/h11-spark/pylib"),
                           help="Folder holding pyspark (not a dependency of the package).")
            p.add_argument("--install-spark", action="store_true",
                           help="pip install pyspark into --spark-lib first.")
    args = parser.parse_args(argv)
    run = {"mnist": bench_mnist, "scaling": bench_scaling, "spark": bench_spark,
           "passes": bench_passes}
    result = run[args.experiment](args)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
