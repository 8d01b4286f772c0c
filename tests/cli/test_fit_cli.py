"""Tests of ``mnist-logreg fit``."""

from __future__ import annotations

import numpy as np
import pytest

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


@pytest.mark.parametrize("C", ["1e308", "nan", "inf", "-inf", "0", "-1", "1e-300", "abc"])
def test_fit_refuses_every_impossible_C_before_writing(run_cli, tmp_path, C) -> None:
    """Test that huge, non-finite, zero, negative, tiny or non-numeric --C give one line, exit 2."""
    out = tmp_path / "m.npz"
    result = run_cli("fit", "--dataset", "digits", "--C", C, "--out", out)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "--C" in lines[0], result.err
    assert list(tmp_path.iterdir()) == []


def test_fit_force_overwrites_only_a_model_file(run_cli, tmp_path) -> None:
    """Test that --force refuses to overwrite a file that is not a model, and replaces a model."""
    notes = tmp_path / "notes.npz"
    notes.write_bytes(b"not a model at all")
    result = run_cli("fit", "--dataset", "digits", "--C", "1", "--out", notes, "--force")
    assert result.code == 2 and "overwrites only an mnist-logreg model file" in result.err
    assert notes.read_bytes() == b"not a model at all"
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run_cli("fit", "--dataset", "digits", "--C", "1", "--out", folder, "--force")
    assert result.code == 2 and "is a folder" in result.err
    model = tmp_path / "m.npz"
    assert run_cli("fit", "--dataset", "digits", "--C", "1", "--out", model).code == 0
    again = run_cli("fit", "--dataset", "digits", "--C", "0.25", "--out", model, "--force")
    assert again.code == 0, again.err
    assert read_metadata(model)["extra"]["C"] == 0.25
