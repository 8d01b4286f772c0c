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


@pytest.mark.parametrize("strategy", ["multinomial", "ovr"])
def test_fit_uses_the_folded_fit_and_matches_the_float_pipeline(
    run_cli, tmp_path, monkeypatch, strategy
) -> None:
    """Test that fit hands raw uint8 pixels to the classifier and equals the old float pipeline."""
    from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression
    from mnist_logreg.model_selection import build_model, fit_model

    seen: list[tuple[np.dtype, bool]] = []
    for cls in (LogisticRegression, OneVsRestLogisticRegression):
        original = cls.fit

        def spy(self, X, y, *args, _original=original, **kwargs):
            seen.append((np.asarray(X).dtype, bool(getattr(self, "standardize", False))))
            return _original(self, X, y, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", spy)
    out = tmp_path / "m.npz"
    args = ("--dataset", "digits", "--C", "0.5", "--strategy", strategy, "--out", out)
    result = run_cli("fit", *args)
    assert result.code == 0, result.err
    assert seen[0] == (np.dtype(np.uint8), True)  # raw pixels, standardization folded
    monkeypatch.undo()
    data = load_dataset("digits")
    folded = load_model(out)
    before = build_model(0.5, pixel_max=16.0, strategy=strategy).fit(data.X_train, data.y_train)
    assert [name for name, _ in folded.steps] == [name for name, _ in before.steps]
    # Same default tolerance: the two solver runs stop at slightly different points.
    gap = folded.predict_proba(data.X_test) - before.predict_proba(data.X_test)
    assert np.abs(gap).max() < 2e-2
    assert np.mean(folded.predict(data.X_test) == before.predict(data.X_test)) >= 0.99
    # Driven to the optimum, the folded model equals the float pipeline to float tolerance.
    tight = {"tol": 1e-8, "max_iter": 2000}
    exact = fit_model(data.X_train, data.y_train, 0.5, pixel_max=16.0, strategy=strategy, **tight)
    reference = build_model(0.5, pixel_max=16.0, strategy=strategy, **tight)
    reference.fit(data.X_train, data.y_train)
    difference = exact.predict_proba(data.X_test) - reference.predict_proba(data.X_test)
    assert np.abs(difference).max() < 1e-5
    assert np.array_equal(exact.predict(data.X_test), reference.predict(data.X_test))


def test_fit_then_predict_and_export_give_the_same_probabilities(run_cli, tmp_path) -> None:
    """Test that a model from fit predicts .npy images via predict --json and exports to ONNX."""
    import json

    ort = pytest.importorskip("onnxruntime")
    model_path = tmp_path / "m.npz"
    assert run_cli("fit", "--dataset", "digits", "--C", "0.5", "--out", model_path).code == 0
    data = load_dataset("digits")
    npy = tmp_path / "four.npy"
    np.save(npy, data.X_test[:4].reshape(4, 8, 8))
    predicted = run_cli("predict", model_path, npy, "--json", "--top", "10")
    assert predicted.code == 0, predicted.err
    proba = load_model(model_path).predict_proba(data.X_test[:4])
    for entry, row in zip(json.loads(predicted.out), proba, strict=True):
        got = {t["label"]: t["probability"] for t in entry["top"]}
        assert np.allclose([got[k] for k in range(10)], row, atol=1e-12)
    onnx_path = tmp_path / "m.onnx"
    exported = run_cli("export", model_path, "--onnx", onnx_path)
    assert exported.code == 0, exported.err
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_proba, _ = session.run(None, {"pixels": data.X_test[:4].astype(np.float32)})
    assert np.abs(onnx_proba - proba).max() <= 1e-5
