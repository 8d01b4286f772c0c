"""Tests of ``mnist-logreg export --onnx``: the file, overwriting rules and errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_logreg.datasets import load_dataset
from mnist_logreg.model_selection import build_model
from mnist_logreg.persistence import load_model, save_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multinomial model fitted on 2,000 MNIST training images, saved as a model file."""
    data = load_dataset("mnist")
    model = build_model(0.05, pixel_max=255.0).fit(data.X_train[:2000], data.y_train[:2000])
    path = tmp_path_factory.mktemp("export") / "model.npz"
    save_model(model, path, extra={"image_shape": [28, 28], "pixel_max": 255.0})
    return path


def test_export_writes_a_working_onnx_file(model_file: Path, tmp_path: Path, run_cli) -> None:
    """Test that the written file runs in onnxruntime and gives the model's probabilities."""
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "model.onnx"
    result = run_cli("export", model_file, "--onnx", out)
    assert result.code == 0, result.err
    assert "opset 17" in result.out and "'pixels' float32 [N, 784]" in result.out
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary file left
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    X = load_dataset("mnist").X_test[:500]
    proba, labels = session.run(None, {"pixels": X.astype(np.float32)})
    model = load_model(model_file)
    assert np.abs(proba - model.predict_proba(X)).max() <= 1e-5
    assert np.array_equal(labels, model.predict(X))


def test_existing_file_needs_force(model_file: Path, tmp_path: Path, run_cli) -> None:
    """Test that an existing file is refused (exit 2) unless --force is given."""
    pytest.importorskip("onnx")
    out = tmp_path / "model.onnx"
    out.write_bytes(b"old")
    refused = run_cli("export", model_file, "--onnx", out)
    assert refused.code == 2 and "file exists; use --force" in refused.err
    assert out.read_bytes() == b"old"
    forced = run_cli("export", model_file, "--onnx", out, "--force")
    assert forced.code == 0 and out.read_bytes() != b"old"


def test_bad_arguments_exit_2(model_file: Path, tmp_path: Path, run_cli) -> None:
    """Test a missing folder, a folder as output, a missing or a corrupt model."""
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 broken")
    cases = [
        (("export", model_file, "--onnx", tmp_path / "no" / "m.onnx"), "does not exist"),
        (("export", model_file, "--onnx", tmp_path), "is a folder"),
        (("export", tmp_path / "none.npz", "--onnx", tmp_path / "a.onnx"), "not found"),
        (("export", corrupt, "--onnx", tmp_path / "b.onnx"), "corrupt.npz"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.code == 2, (args, result.err)
        assert message in result.err and len(result.err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.npz"]


def test_missing_onnx_package_is_a_clear_error(
    model_file: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that without the onnx package the command says which extra to install (exit 1)."""
    monkeypatch.setitem(sys.modules, "mnist_logreg.onnx_export", None)
    result = run_cli("export", model_file, "--onnx", tmp_path / "m.onnx")
    assert result.code == 1
    assert "pip install 'mnist-logreg[onnx]'" in result.err


def test_key_in_the_environment_is_required_and_checked(
    model_file: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that with MNIST_LOGREG_MODEL_KEY set, unsigned or wrongly signed models exit 2."""
    pytest.importorskip("onnx")
    signed = tmp_path / "signed.npz"
    save_model(load_model(model_file), signed, key="k1")
    monkeypatch.setenv("MNIST_LOGREG_MODEL_KEY", "k1")
    unsigned = run_cli("export", model_file, "--onnx", tmp_path / "a.onnx")
    assert unsigned.code == 2 and "no HMAC signature, but a key was given" in unsigned.err
    assert run_cli("export", signed, "--onnx", tmp_path / "b.onnx").code == 0
    monkeypatch.setenv("MNIST_LOGREG_MODEL_KEY", "k2")
    wrong = run_cli("export", signed, "--onnx", tmp_path / "c.onnx")
    assert wrong.code == 2 and "HMAC signature does not match the key" in wrong.err
    assert len(wrong.err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.onnx", "signed.npz"]
