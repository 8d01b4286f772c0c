"""Tests of ``mnist-logreg fit --scheduler``: the fit on a Dask cluster, from a deformed store."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from mnist_logreg.datasets import build_deformed_store, load_zarr_dataset
from mnist_logreg.model_selection import fit_model
from mnist_logreg.persistence import load_model, read_metadata

pytest.importorskip("distributed")
pytest.importorskip("zarr")

N, CHUNK = 3_000, 1_000


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 3,000 deformed digits in three chunks (read-only for the tests)."""
    out = tmp_path_factory.mktemp("stores") / "store"
    build_deformed_store(out, N, seed=1, chunk_size=CHUNK)
    return out


@pytest.mark.parametrize("persist", ["auto", "false"])
def test_fit_on_a_local_cluster_equals_the_in_memory_fit(
    run_cli, store, tmp_path, persist: str
) -> None:
    """Test that fit --scheduler local:2, rows persisted or streamed, saves the in-memory fit."""
    out = tmp_path / "dask.npz"
    result = run_cli("fit", "--dataset", f"zarr:{store}", "--C", "0.05", "--scheduler",
                     "local:2", "--persist", persist, "--out", out)
    assert result.code == 0, result.err
    assert "fit at C=0.05: pass 1 in" in result.err
    data = load_zarr_dataset(store)
    expected = fit_model(data.X_train, data.y_train, 0.05, pixel_max=255.0)
    model = load_model(out)
    agree = np.mean(model.predict(data.X_test) == expected.predict(data.X_test))
    assert agree > 0.999
    meta = read_metadata(out)["extra"]
    classifier = expected[-1]
    assert abs(meta["objective"] - classifier.objective_) <= 1e-6 * classifier.objective_
    assert meta["n_train"] == N and meta["scheduler"] == "local:2"
    assert meta["test_accuracy"] == np.mean(model.predict(data.X_test) == data.y_test) > 0.8


def test_C_path_picks_the_best_validation_C_and_refits(run_cli, store, tmp_path) -> None:
    """Test that --C-path scores each C on held-out rows and refits the best on every row."""
    out = tmp_path / "path.npz"
    result = run_cli("fit", "--dataset", f"zarr:{store}", "--C-path", "0.001:1:4",
                     "--validation", "0.2", "--scheduler", "local:2", "--out", out)
    assert result.code == 0, result.err
    meta = read_metadata(out)["extra"]
    assert np.allclose(meta["C_path"], [0.001, 0.01, 0.1, 1.0])
    scores = meta["validation_accuracy"]
    assert len(scores) == 4 and all(0.5 < s <= 1 for s in scores)
    assert meta["C"] == meta["C_path"][int(np.argmax(scores))]
    assert result.err.count("validation accuracy") == 4
    assert f"fit at C={meta['C']:.4g}: pass 1 in" in result.err
    assert meta["n_train"] == N


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_line_and_exit_2(run_cli, store, tmp_path) -> None:
    """Test that a scheduler nobody listens at gives one line naming it, exit 2, no file."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tmp_path / "m.npz"
    result = run_cli("fit", "--dataset", f"zarr:{store}", "--C", "1", "--scheduler", address,
                     "--connect-timeout", "1", "--out", out)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "--scheduler" in lines[0] and address in lines[0], result.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--C", "1", "--C-path", "0.1:1:3"], "--C-path"),
        (["--scheduler", "local:2"], "--C-path"),
        (["--C-path", "0.1:1:3"], "--scheduler"),
        (["--C-path", "0.1:1", "--scheduler", "local:2"], "--C-path"),
        (["--C-path", "1:0.1:3", "--scheduler", "local:2"], "--C-path"),
        (["--C-path", "0:1:3", "--scheduler", "local:2"], "--C-path"),
        (["--C-path", "0.1:1:1", "--scheduler", "local:2"], "--C-path"),
        (["--C-path", "0.1:1:3", "--validation", "1.5", "--scheduler", "local:2"],
         "--validation"),
        (["--C", "1", "--scheduler", "local:0"], "--scheduler"),
        (["--C", "1", "--scheduler", "local:100000"], "--scheduler"),
        (["--C", "1", "--scheduler", "host:8786"], "--scheduler"),
        (["--C", "1", "--scheduler", "local:2", "--connect-timeout", "0"], "--connect-timeout"),
        (["--C", "1", "--scheduler", "local:2", "--persist", "maybe"], "--persist"),
        (["--C", "1", "--persist", "true"], "--persist"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(
    run_cli, store, tmp_path, args: list[str], flag: str
) -> None:
    """Test that each impossible option combination gives one line naming a flag, exit 2."""
    out = tmp_path / "m.npz"
    result = run_cli("fit", "--dataset", f"zarr:{store}", *args, "--out", out)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0], result.err
    assert list(tmp_path.iterdir()) == []
