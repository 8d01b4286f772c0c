"""Tests of model files: round trips and every kind of damage."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import DataFormatError, InputError
from mnist_logreg.model_selection import build_model
from mnist_logreg.persistence import FORMAT_VERSION, load_model, read_metadata, save_model


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module", params=["multinomial", "ovr"])
def fitted(request, digits):
    model = build_model(0.5, pixel_max=16, strategy=request.param)
    return model.fit(digits.X_train, digits.y_train)


@pytest.fixture
def saved(fitted, tmp_path) -> Path:
    path = tmp_path / "model.npz"
    save_model(fitted, path, extra={"dataset": "digits"})
    return path


def _rewrite(path: Path, target: Path, edit) -> None:
    """Copy a model archive, letting ``edit(name, bytes) -> bytes | None`` change entries."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = edit(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)


def test_round_trip_predicts_identically_from_raw_pixels(fitted, saved, digits) -> None:
    """Test that a loaded pipeline gives exactly the saved one's probabilities on raw pixels."""
    loaded = load_model(saved)
    np.testing.assert_array_equal(
        loaded.predict_proba(digits.X_test), fitted.predict_proba(digits.X_test)
    )
    np.testing.assert_array_equal(loaded.predict(digits.X_test), fitted.predict(digits.X_test))
    meta = read_metadata(saved)
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["extra"] == {"dataset": "digits"}
    assert meta["classes"] == list(range(10))
    assert [s["kind"] for s in meta["steps"]][:2] == ["PixelScaler", "StandardScaler"]


def test_tampered_array_fails_its_checksum(saved, tmp_path) -> None:
    """Test that changing one coefficient is detected by the SHA-256 check."""
    target = tmp_path / "tampered.npz"

    def edit(name, data):
        if name.endswith("coef_.npy"):
            array = bytearray(data)
            array[-1] ^= 0xFF
            return bytes(array)
        return data

    _rewrite(saved, target, edit)
    with pytest.raises(DataFormatError, match="SHA-256"):
        load_model(target)


def test_truncated_file_is_a_clear_error(saved, tmp_path) -> None:
    """Test that a truncated model file raises a one-line DataFormatError."""
    target = tmp_path / "truncated.npz"
    target.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupted") as info:
        load_model(target)
    assert "\n" not in str(info.value)


def test_newer_format_version_is_refused(saved, tmp_path) -> None:
    """Test that a file from a newer format version asks the user to upgrade."""
    target = tmp_path / "newer.npz"

    def edit(name, data):
        if name == "metadata.npy":
            header_end = data.index(b'{"format"')
            meta = json.loads(data[header_end:].decode())
            meta["format_version"] = FORMAT_VERSION + 1
            payload = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
            import io

            buffer = io.BytesIO()
            np.save(buffer, payload)
            return buffer.getvalue()
        return data

    _rewrite(saved, target, edit)
    with pytest.raises(DataFormatError, match="upgrade"):
        load_model(target)


def test_pickled_object_arrays_are_never_loaded(saved, tmp_path) -> None:
    """Test that an archive entry holding a pickled object array is refused, not executed."""
    target = tmp_path / "evil.npz"
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"boom": 1}], dtype=object), allow_pickle=True)

    def edit(name, data):
        return buffer.getvalue() if name.endswith("coef_.npy") else data

    _rewrite(saved, target, edit)
    with pytest.raises(DataFormatError):
        load_model(target)


def test_missing_array_and_foreign_files_are_rejected(saved, tmp_path) -> None:
    """Test that a missing array, a non-model npz and a non-zip file all raise DataFormatError."""
    missing = tmp_path / "missing.npz"
    _rewrite(saved, missing, lambda name, data: None if name.endswith("coef_.npy") else data)
    with pytest.raises(DataFormatError, match="do not match"):
        load_model(missing)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(DataFormatError, match="no metadata"):
        load_model(foreign)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(DataFormatError):
        load_model(text)
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "absent.npz")


def test_unfitted_and_unknown_models_cannot_be_saved(tmp_path) -> None:
    """Test that saving an unfitted pipeline or a foreign estimator is a clear InputError."""
    from sklearn.tree import DecisionTreeClassifier

    with pytest.raises(InputError, match="not fitted"):
        save_model(build_model(1.0, pixel_max=255), tmp_path / "m.npz")
    with pytest.raises(InputError, match="DecisionTreeClassifier"):
        save_model(DecisionTreeClassifier(), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
