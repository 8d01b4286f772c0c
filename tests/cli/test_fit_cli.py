"""Tests of ``mnist-logreg fit``."""

from __future__ import annotations

import numpy as np

from mnist_logreg.datasets import load_dataset
from mnist_logreg.persistence import load_model, read_metadata


def test_fit_saves_a_model_that_predicts_raw_pixels(run_cli, tmp_path) -> None:
    """Test that fit trains on digits, saves a model file, and the file predicts raw pixels."""
    out = tmp_path / "digits.npz"
    result = run_cli("fit", "--dataset", "digits", "--C", "0.5", "--out", out)
    assert result.code == 0, result.err
    assert "test accuracy" in result.out
    data = load_dataset("digits")
    model = load_model(out)
    accuracy = np.mean(model.predict(data.X_test) == data.y_test)
    assert accuracy > 0.95
    meta = read_metadata(out)
    assert meta["extra"]["C"] == 0.5
    assert meta["extra"]["test_accuracy"] == accuracy


def test_fit_refuses_bad_C_and_existing_output(run_cli, tmp_path) -> None:
    """Test that a non-positive C and an existing --out give one-line errors and exit 2."""
    out = tmp_path / "m.npz"
    bad = run_cli("fit", "--dataset", "digits", "--C", "-1", "--out", out)
    assert bad.code == 2
    assert "--C" in bad.err and len(bad.err.strip().splitlines()) == 1
    out.write_bytes(b"keep me")
    exists = run_cli("fit", "--dataset", "digits", "--C", "1", "--out", out)
    assert exists.code == 2
    assert "--force" in exists.err
    assert out.read_bytes() == b"keep me"
