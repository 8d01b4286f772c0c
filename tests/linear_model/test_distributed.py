"""Tests of the data-parallel fit on Dask: same optimum as in memory, on real clusters."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mnist_logreg.errors import InputError
from mnist_logreg.linear_model import LogisticRegression, path_estimators
from mnist_logreg.linear_model._distributed import (
    connect_scheduler,
    dask_logistic_regression_path,
)
from mnist_logreg.linear_model._path import logistic_regression_path

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

UNEVEN = (500, 300, 1, 699, 297)  # 1,797 digits in chunks of uneven sizes


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as uint8 pixels, labels, and fixed positive sample weights."""
    X, y = load_digits(return_X_y=True)
    weights = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    return X.astype(np.uint8), y, weights


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """A LocalCluster of two single-threaded worker processes on 127.0.0.1 (closed after)."""
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 host="127.0.0.1", dashboard_address=None) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("persist", [True, False], ids=["persisted", "streamed"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_dask_fit_reaches_the_in_memory_optimum(
    client: object, digits: tuple, persist: bool, weighted: bool
) -> None:
    """Test that a fit on uneven Dask chunks equals the in-memory fit (objective, predictions)."""
    X, y, weights = digits
    sw = weights if weighted else None
    params = {"C": 0.3, "standardize": True, "tol": 1e-5}
    expected = LogisticRegression(**params).fit(X, y, sample_weight=sw)
    X_dask = da.from_array(X, chunks=(UNEVEN, (64,)))
    sw_dask = None if sw is None else da.from_array(sw, chunks=((900, 897),))
    path = dask_logistic_regression_path(
        X_dask, da.from_array(y, chunks=((1000, 797),)), [0.3], sample_weight=sw_dask,
        tol=1e-5, standardize=True, client=client, persist=persist,
    )
    assert _relative(path.objectives[0], expected.objective_) < 1e-6
    assert np.allclose(path.mean, expected.mean_) and np.allclose(path.scale, expected.scale_)
    got = path_estimators(path)[0]
    assert np.array_equal(got.predict(X), expected.predict(X))
    assert np.abs(got.coef_ - expected.coef_).max() <= 1e-5 * np.abs(expected.coef_).max()


def test_estimator_fit_accepts_dask_arrays(client: object, digits: tuple) -> None:
    """Test that LogisticRegression.fit on Dask arrays sets the in-memory fit's attributes."""
    X, y, _ = digits
    expected = LogisticRegression(C=0.05).fit(X, y)
    model = LogisticRegression(C=0.05).fit(
        da.from_array(X, chunks=((400, 1397), (64,))), da.from_array(y, chunks=400)
    )
    assert _relative(model.objective_, expected.objective_) < 1e-6
    assert model.n_evals_ == expected.n_evals_
    assert np.array_equal(model.classes_, expected.classes_)
    assert model.n_features_in_ == 64
    assert np.array_equal(model.predict(X), expected.predict(X))
    assert not hasattr(model, "mean_")


@pytest.mark.parametrize(
    ("dtype", "expected_dtype"),
    [(np.float32, np.float32), (np.float64, np.float64), (np.float16, np.float64),
     (np.uint8, np.float64)],
)
def test_fitted_attributes_keep_the_in_memory_dtype(
    client: object, digits: tuple, dtype: type, expected_dtype: type
) -> None:
    """Test that a Dask fit's coefficients have the in-memory fit's dtype (float32 stays)."""
    X, y, _ = digits
    X = (X / 16.0).astype(dtype) if np.dtype(dtype).kind == "f" else X.astype(dtype)
    expected = LogisticRegression(C=0.1, standardize=True).fit(X, y)
    model = LogisticRegression(C=0.1, standardize=True).fit(
        da.from_array(X, chunks=((900, 897), (64,))), y
    )
    for name in ("coef_", "intercept_", "standardized_coef_", "standardized_intercept_"):
        assert getattr(expected, name).dtype == expected_dtype
        assert getattr(model, name).dtype == expected_dtype, name
    path = dask_logistic_regression_path(
        da.from_array(X, chunks=((900, 897), (64,))), y, [0.1, 1.0], client=client
    )
    assert path.coef_dtype == expected_dtype
    assert {e.coef_.dtype for e in path_estimators(path)} == {np.dtype(expected_dtype)}
    assert np.array_equal(model.predict(X), expected.predict(X))


def test_warm_started_path_and_binary_model_match(client: object, digits: tuple) -> None:
    """Test that a path of C values (and a two-class model) equals the in-memory path."""
    X, y, weights = digits
    Cs = [0.01, 0.1, 1.0]
    expected = logistic_regression_path(X, y, Cs, standardize=True, tol=1e-5)
    got = dask_logistic_regression_path(
        da.from_array(X, chunks=(UNEVEN, (64,))), y, Cs, standardize=True, tol=1e-5,
        client=client,
    )
    for a, b in zip(got.objectives, expected.objectives, strict=True):
        assert _relative(a, b) < 1e-6
    assert np.array_equal(got.predict(X), expected.predict(X))
    binary = y < 5
    expected_b = logistic_regression_path(X, binary, [0.2], sample_weight=weights, tol=1e-5)
    got_b = dask_logistic_regression_path(
        da.from_array(X, chunks=(UNEVEN, (64,))), binary, [0.2], sample_weight=weights,
        tol=1e-5, client=client,
    )
    assert got_b.coefs.shape == (1, 1, 64)
    assert _relative(got_b.objectives[0], expected_b.objectives[0]) < 1e-6


def test_tight_tolerance_uses_distributed_curvature_blocks(client: object, digits: tuple) -> None:
    """Test that a tolerance asking for the block preconditioner converges to the optimum."""
    X, y, _ = digits
    expected = logistic_regression_path(X, y, [1.0], standardize=True, tol=1e-7)
    got = dask_logistic_regression_path(
        da.from_array(X, chunks=(UNEVEN, (64,))), y, [1.0], standardize=True, tol=1e-7,
        client=client,
    )
    assert got.converged[0]
    assert _relative(got.objectives[0], expected.objectives[0]) < 1e-8


def test_streamed_fit_reads_the_zarr_store(client: object, tmp_path: Path) -> None:
    """Test that a fit streamed from a zarr:DIR store equals the in-memory fit of its rows."""
    from mnist_logreg.datasets import build_deformed_store, open_zarr_dataset

    build_deformed_store(tmp_path / "store", 250, seed=3, chunk_size=100)
    lazy = open_zarr_dataset(tmp_path / "store")
    memory = lazy.to_dataset()
    expected = LogisticRegression(C=0.1, standardize=True).fit(memory.X_train, memory.y_train)
    path = dask_logistic_regression_path(
        lazy.X_train, lazy.y_train, [0.1], standardize=True, client=client, persist=False
    )
    assert _relative(path.objectives[0], expected.objective_) < 1e-6
    assert np.array_equal(path.predict(memory.X_test)[0], expected.predict(memory.X_test))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask_command() -> list[str]:
    script = Path(sys.executable).parent / "dask"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dask"]


def test_fit_on_real_scheduler_and_worker_processes(digits: tuple) -> None:
    """Test that `dask scheduler` + `dask worker` processes give the in-memory optimum."""
    X, y, weights = digits
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    scheduler = subprocess.Popen(
        [*_dask_command(), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", ":0"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [*_dask_command(), "worker", address, "--nthreads", "1", "--nworkers", "2",
         "--host", "127.0.0.1", "--no-dashboard"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        expected = LogisticRegression(C=0.3, standardize=True).fit(X, y, sample_weight=weights)
        deadline = time.monotonic() + 60
        while True:  # the scheduler needs a moment to listen
            try:
                with connect_scheduler(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=60)
                    model = LogisticRegression(C=0.3, standardize=True)
                    model = model.fit(da.from_array(X, chunks=(UNEVEN, (64,))), y,
                                      sample_weight=weights)
                break
            except InputError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert _relative(model.objective_, expected.objective_) < 1e-6
        assert np.array_equal(model.predict(X), expected.predict(X))
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_unreachable_scheduler_is_named_in_one_line() -> None:
    """Test that an address where no scheduler listens gives a one-line error naming it."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(InputError) as info, connect_scheduler(address, timeout=1):
        pass
    message = str(info.value)
    assert "\n" not in message
    assert f"could not connect to the Dask scheduler at {address}" in message


@pytest.mark.parametrize("value", ["local:0", "local:x", "127.0.0.1:8786"])
def test_malformed_scheduler_values_are_refused(value: str) -> None:
    """Test that a malformed scheduler value is refused before anything starts."""
    with pytest.raises(InputError, match="scheduler"), connect_scheduler(value):
        pass


def test_mismatched_lengths_are_named(client: object, digits: tuple) -> None:
    """Test that labels of another length than X's rows are refused naming y."""
    X, y, _ = digits
    with pytest.raises(InputError, match=r"y must be 1-D with one value per row of X \(1797\)"):
        dask_logistic_regression_path(da.from_array(X, chunks=(600, 64)), y[:-1], [1.0],
                                      client=client)


def test_gram_chunks_align_on_the_float32_accumulation_unit() -> None:
    """Test that Gram blocks keep aligned chunks and otherwise get bounds on 4,096 rows."""
    from mnist_logreg.linear_model._distributed import _gram_aligned_chunks

    assert _gram_aligned_chunks((8192, 8192, 100)) == (8192, 8192, 100)
    assert _gram_aligned_chunks((12000,) * 5) == (12288,) * 4 + (10848,)
    assert _gram_aligned_chunks(UNEVEN) == (1797,)
    assert sum(_gram_aligned_chunks((7000, 13000, 25000, 15000))) == 60000


def test_persisted_blocks_are_spread_evenly_over_the_workers(client: object) -> None:
    """Test that persisted blocks go largest first to the worker with the fewest rows."""
    import dask

    from mnist_logreg.linear_model._distributed import _persist_balanced

    rows = list(UNEVEN)
    x = da.from_array(np.zeros((sum(rows), 2)), chunks=((*rows,), 2)).to_delayed().ravel()
    futures = _persist_balanced(
        client, lambda i: dask.delayed(np.asarray, pure=False)(x[i]), rows
    )
    distributed.wait(futures)
    who_has = client.who_has(futures)
    load: dict[str, int] = {}
    for future, n in zip(futures, rows, strict=True):
        (address,) = who_has[future.key]
        load[address] = load.get(address, 0) + n
    # 699 | 500, then 300 -> 800, 297 -> 996, 1 -> 801
    assert sorted(load.values()) == [801, 996]


def test_holdout_ranges_hold_out_the_last_share_of_every_period() -> None:
    """Test that validation rows are the last share of each period and cover every row once."""
    from mnist_logreg.linear_model._distributed import holdout_ranges

    fit, val = holdout_ranges(250, 0.2, 100)
    assert fit == [(0, 80), (100, 180), (200, 250)]
    assert val == [(80, 100), (180, 200)]
    fit, val = holdout_ranges(1000, 0.1, 5000)  # period longer than the rows: the last 10%
    assert fit == [(0, 900)] and val == [(900, 1000)]
    with pytest.raises(InputError, match="fraction"):
        holdout_ranges(10, 0.01, 10)


def test_kernel_is_chosen_like_the_in_memory_rule(client: object, caplog) -> None:
    """Test that the workers get the in-memory kernel when exact and sampled densities differ."""
    import logging
    import re

    from mnist_logreg.linear_model._kernels import _CSR_MAX_DENSITY, select_kernel

    rng = np.random.default_rng(0)
    n = 4000  # the in-memory rule samples every 2nd row (2,000 of them)
    X = np.zeros((n, 784), dtype=np.uint8)
    # sampled (even) rows below the CSR limit, the others far enough above it
    density = np.where(np.arange(n) % 2 == 0, _CSR_MAX_DENSITY - 0.05,
                       _CSR_MAX_DENSITY + 0.1)[:, None]
    X[rng.random((n, 784)) < density] = 7
    y = np.arange(n) % 10
    exact = np.count_nonzero(X) / X.size
    assert exact > _CSR_MAX_DENSITY  # the exact density is on the dense kernel's side
    assert select_kernel(X, loss="multinomial", n_outputs=10).name == "csr"
    with caplog.at_level(logging.DEBUG, logger="mnist_logreg.linear_model._distributed"):
        dask_logistic_regression_path(
            da.from_array(X, chunks=((1001, 1500, 1499), (784,))), y, [0.1], max_iter=1,
            warn=False, client=client, persist=True,
        )
    found = re.search(r"pass kernel (\w+) \(density ([\d.]+) in the in-memory rule's sample, "
                      r"([\d.]+) exact\)", caplog.text)
    assert found is not None and found.group(1) == "csr"
    assert float(found.group(2)) < _CSR_MAX_DENSITY < float(found.group(3))
    assert abs(float(found.group(3)) - exact) < 1e-4


def test_persisted_passes_are_actor_calls_with_a_task_fallback(client: object, caplog) -> None:
    """Test that a pass is one actor call per worker and a failed actor falls back to tasks."""
    import dask

    from mnist_logreg.linear_model._distributed import DaskPassKernel, _persist_balanced

    rows = list(UNEVEN)
    X = np.random.default_rng(1).normal(size=(sum(rows), 2))
    x = da.from_array(X, chunks=((*rows,), 2)).to_delayed().ravel()
    futures = _persist_balanced(client, lambda i: dask.delayed(np.asarray, pure=False)(x[i]), rows)
    distributed.wait(futures)
    kernel = DaskPassKernel(client, futures, persisted=True, n_samples=X.shape[0],
                            n_features=2, stored_dtype=X.dtype, name="dense")
    try:
        assert np.allclose(kernel.map_reduce(np.sum, 0), X.sum(axis=0))  # sum(block, 0)
        assert len(kernel._actors) == 2

        class LostWorker:
            def sum(self, *args: object) -> object:
                raise OSError("connection to the worker lost")

        kernel._actors[0] = LostWorker()
        assert np.allclose(kernel.map_reduce(np.sum, 0), X.sum(axis=0))
        assert kernel._actors == [] and "passes continue as tasks" in caplog.text
        assert np.allclose(kernel.map_reduce(np.sum, 0), X.sum(axis=0))
    finally:
        kernel.close()
