"""Tests of the named sources, the Dataset they return and the source listing."""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.error
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.utils import Bunch

from mnist_logreg.datasets import (
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_ENV,
    IDX_FILE_NAMES,
    Dataset,
    bundled_mnist_dir,
    list_sources,
    load_dataset,
    write_idx,
)
from mnist_logreg.errors import DataFormatError, InputError, MnistLogregError

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def make_idx_folder(
    folder: Path,
    *,
    n_train: int = 30,
    n_test: int = 10,
    image_shape: tuple[int, ...] = (4, 5),
    n_classes: int = 10,
    gz: tuple[bool, ...] = (False, True, False, True),
) -> Path:
    """Write a tiny MNIST-style IDX folder with random uint8 pixels and labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, size=(n_train, *image_shape), dtype=np.uint8),
        (np.arange(n_train) % n_classes).astype(np.uint8),
        rng.integers(0, 256, size=(n_test, *image_shape), dtype=np.uint8),
        (np.arange(n_test) % n_classes).astype(np.uint8),
    ]
    for name, array, compress in zip(IDX_FILE_NAMES, arrays, gz, strict=True):
        write_idx(folder / (f"{name}.gz" if compress else name), array)
    return folder


def _idx_path(folder: Path, name: str) -> Path:
    plain = folder / name
    return plain if plain.exists() else folder / f"{name}.gz"


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    """The bundled MNIST, loaded once for this module."""
    return load_dataset("mnist")


# ----------------------------------------------------------------------------- mnist


def test_mnist_shapes_dtypes_and_first_labels(mnist: Dataset) -> None:
    """Test that bundled MNIST is 60000/10000 x 784 uint8 with first labels 5, 0, 4, 1, 9."""
    assert mnist.X_train.shape == (60000, 784) and mnist.X_test.shape == (10000, 784)
    assert mnist.X_train.dtype == np.uint8 and mnist.X_test.dtype == np.uint8
    assert mnist.y_train.dtype == np.int64 and mnist.y_test.dtype == np.int64
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert mnist.image_shape == (28, 28) and mnist.pixel_max == 255
    assert mnist.class_names == tuple("0123456789") and mnist.n_classes == 10
    assert "LeCun" in mnist.source and "Cortes" in mnist.source and "Burges" in mnist.source


def test_mnist_class_counts_and_checksums(mnist: Dataset) -> None:
    """Test that MNIST's class counts and recorded checksums are the known ones."""
    assert mnist.class_counts("train").tolist() == MNIST_TRAIN_COUNTS
    assert mnist.class_counts("test").tolist() == MNIST_TEST_COUNTS
    sums = (bundled_mnist_dir() / "SHA256SUMS").read_text(encoding="utf-8").split()
    assert mnist.checksums == dict(zip(sums[1::2], sums[0::2], strict=True))


def test_mnist_summary_is_json_ready(mnist: Dataset) -> None:
    """Test that the summary holds shapes, dtype, pixel range, counts and checksums as JSON."""
    summary = json.loads(json.dumps(mnist.summary()))
    assert summary["train"]["X_shape"] == [60000, 784]
    assert summary["test"]["X_shape"] == [10000, 784]
    assert summary["train"]["X_dtype"] == "uint8"
    assert summary["train"]["pixel_range"] == [0, 255]
    assert summary["train"]["class_counts"] == MNIST_TRAIN_COUNTS
    assert summary["test"]["class_counts"] == MNIST_TEST_COUNTS
    assert len(summary["checksums"]) == 4


def test_tampered_mnist_copy_is_reported(tmp_path: Path) -> None:
    """Test that a tampered copy of bundled MNIST loaded by idx:DIR names file and both hashes."""
    for path in bundled_mnist_dir().iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    target = tmp_path / "train-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[-20] ^= 0x55
    target.write_bytes(bytes(data))
    expected = dict(
        reversed(line.split()) for line in (tmp_path / "SHA256SUMS").read_text().splitlines()
    )[target.name]
    with pytest.raises(DataFormatError) as info:
        load_dataset(f"idx:{tmp_path}")
    message = str(info.value)
    assert str(target) in message and expected in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message


# ----------------------------------------------------------------------------- idx:DIR


def test_idx_folder_loads_plain_and_gz_files(tmp_path: Path) -> None:
    """Test that idx:DIR loads a folder mixing plain and gzipped files, flattening the images."""
    folder = make_idx_folder(tmp_path / "data")
    data = load_dataset(f"idx:{folder}")
    assert data.X_train.shape == (30, 20) and data.X_test.shape == (10, 20)
    assert data.image_shape == (4, 5) and data.pixel_max == 255
    assert data.class_names == tuple(str(i) for i in range(10))
    assert data.name == f"idx:{folder}" and str(folder) in data.source
    assert set(data.checksums) == {
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte.gz",
    }
    assert (
        data.checksums["t10k-images-idx3-ubyte"]
        == hashlib.sha256((folder / "t10k-images-idx3-ubyte").read_bytes()).hexdigest()
    )


def test_idx_folder_with_sha256sums_is_verified(tmp_path: Path) -> None:
    """Test that a SHA256SUMS file in an idx folder is checked against the files."""
    folder = make_idx_folder(tmp_path / "data", gz=(False,) * 4)
    lines = [f"{'0' * 64}  {IDX_FILE_NAMES[2]}"]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="checksum mismatch") as info:
        load_dataset(f"idx:{folder}")
    assert str(folder / IDX_FILE_NAMES[2]) in str(info.value)


def test_idx_class_names_option(tmp_path: Path) -> None:
    """Test that idx:DIR takes class names, and labels beyond them are refused naming the file."""
    folder = make_idx_folder(tmp_path / "data", n_classes=3)
    data = load_dataset(f"idx:{folder}", class_names=["a", "b", "c"])
    assert data.class_names == ("a", "b", "c")
    with pytest.raises(DataFormatError, match=r"label 2 at index 2 is outside 0\.\.1") as info:
        load_dataset(f"idx:{folder}", class_names=["a", "b"])
    assert str(_idx_path(folder, "train-labels-idx1-ubyte")) in str(info.value)


def test_idx_missing_folder_and_file(tmp_path: Path) -> None:
    """Test that a missing folder or file raises InputError naming it."""
    with pytest.raises(InputError, match="does not exist") as info:
        load_dataset(f"idx:{tmp_path / 'nope'}")
    assert str(tmp_path / "nope") in str(info.value)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError, match="is not a folder"):
        load_dataset(f"idx:{tmp_path / 'file'}")
    folder = make_idx_folder(tmp_path / "data")
    _idx_path(folder, "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(InputError, match="has no t10k-labels-idx1-ubyte") as info:
        load_dataset(f"idx:{folder}")
    assert str(folder) in str(info.value)
    with pytest.raises(InputError, match="needs a folder"):
        load_dataset("idx:")


def test_idx_image_label_count_mismatch_names_both_files(tmp_path: Path) -> None:
    """Test that differing image and label counts raise DataFormatError naming both files."""
    folder = make_idx_folder(tmp_path / "data", gz=(False,) * 4)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))
    with pytest.raises(DataFormatError, match=r"holds 10 images but .* holds 9 labels") as info:
        load_dataset(f"idx:{folder}")
    assert str(folder / "t10k-images-idx3-ubyte") in str(info.value)
    assert str(folder / "t10k-labels-idx1-ubyte") in str(info.value)


@pytest.mark.parametrize(
    ("file_name", "array", "problem"),
    [
        ("train-labels-idx1-ubyte", np.zeros(30, np.float32), "labels must be a 1-D integer"),
        ("train-labels-idx1-ubyte", np.zeros((30, 1), np.uint8), "labels must be a 1-D integer"),
        ("train-images-idx3-ubyte", np.zeros(30, np.uint8), "at least 2 dimensions"),
        ("t10k-images-idx3-ubyte", np.zeros((10, 5, 4), np.uint8), r"images of shape \(5, 4\)"),
    ],
)
def test_idx_bad_arrays_name_the_file(
    tmp_path: Path, file_name: str, array: np.ndarray, problem: str
) -> None:
    """Test that wrongly shaped or typed images and labels raise DataFormatError naming the file."""
    folder = make_idx_folder(tmp_path / "data", gz=(False,) * 4)
    write_idx(folder / file_name, array)
    with pytest.raises(DataFormatError, match=problem) as info:
        load_dataset(f"idx:{folder}")
    assert str(folder / file_name) in str(info.value)


def test_idx_corrupted_file_is_named(tmp_path: Path) -> None:
    """Test that a corrupted IDX file in the folder raises DataFormatError naming that file."""
    folder = make_idx_folder(tmp_path / "data")
    path = _idx_path(folder, "train-images-idx3-ubyte")
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DataFormatError, match="truncated payload") as info:
        load_dataset(f"idx:{folder}")
    assert str(path) in str(info.value)


# ----------------------------------------------------------------------------- fashion-mnist


def test_fashion_mnist_from_env_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that fashion-mnist reads the folder of the environment variable with its class names."""
    folder = make_idx_folder(tmp_path / "fashion")
    monkeypatch.setenv(FASHION_MNIST_ENV, str(folder))
    data = load_dataset("fashion-mnist")
    assert data.class_names == FASHION_MNIST_CLASSES
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"
    assert data.X_train.shape == (30, 20) and data.name == "fashion-mnist"
    assert "Zalando" in data.source and str(folder) in data.source


def test_fashion_mnist_path_option_beats_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that the path option takes precedence over the environment variable."""
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "missing"))
    folder = make_idx_folder(tmp_path / "other", n_train=12)
    assert load_dataset("fashion-mnist", path=folder).X_train.shape[0] == 12


def test_fashion_mnist_missing_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that a missing Fashion-MNIST folder raises InputError naming it and how to get it."""
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "missing"))
    with pytest.raises(InputError) as info:
        load_dataset("fashion-mnist")
    message = str(info.value)
    assert str(tmp_path / "missing") in message
    assert "apt-get install dataset-fashion-mnist" in message and FASHION_MNIST_ENV in message


def test_fashion_mnist_label_out_of_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that a label 10 in a Fashion-MNIST folder is refused, naming the label file."""
    folder = make_idx_folder(tmp_path / "fashion", n_classes=11, gz=(False,) * 4)
    monkeypatch.setenv(FASHION_MNIST_ENV, str(folder))
    with pytest.raises(DataFormatError, match=r"label 10 at index 10 is outside 0\.\.9") as info:
        load_dataset("fashion-mnist")
    assert str(folder / "train-labels-idx1-ubyte") in str(info.value)


@pytest.mark.skipif(
    not (DEFAULT_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install it to run this)",
)
def test_real_fashion_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that Debian's Fashion-MNIST is 60000/10000 x 784 uint8, 6000/1000 per class."""
    monkeypatch.delenv(FASHION_MNIST_ENV, raising=False)
    data = load_dataset("fashion-mnist")
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X_train.dtype == np.uint8 and data.image_shape == (28, 28)
    assert data.class_counts("train").tolist() == [6000] * 10
    assert data.class_counts("test").tolist() == [1000] * 10
    assert len(data.checksums) == 4


# ----------------------------------------------------------------------------- digits


def test_digits_split_is_seeded_and_stratified() -> None:
    """Test that digits is 1347/450 x 64 uint8, pixel_max 16, stratified and reproducible."""
    data = load_dataset("digits")
    assert data.X_train.shape == (1347, 64) and data.X_test.shape == (450, 64)
    assert data.X_train.dtype == np.uint8 and data.pixel_max == 16
    assert data.image_shape == (8, 8) and int(data.X_train.max()) == 16
    total = data.class_counts("train") + data.class_counts("test")
    assert np.all(np.abs(data.class_counts("test") - 0.25 * total) <= 1)
    again = load_dataset("digits")
    np.testing.assert_array_equal(data.y_test, again.y_test)
    np.testing.assert_array_equal(data.X_train, again.X_train)
    assert load_dataset("digits", test_size=0.5).X_test.shape == (899, 64)
    with pytest.raises(InputError, match="test_size"):
        load_dataset("digits", test_size=2.5)


# ----------------------------------------------------------------------------- openml


class FakeFetch:
    """Stand-in for sklearn.datasets.fetch_openml returning a small local fixture."""

    def __init__(self, data: np.ndarray, target: np.ndarray) -> None:
        self.data, self.target = data, target
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Bunch:
        self.calls.append((args, kwargs))
        return Bunch(
            data=self.data, target=self.target, details={"id": 554, "version": kwargs["version"]}
        )


@pytest.fixture
def fake_openml(monkeypatch: pytest.MonkeyPatch) -> FakeFetch:
    """Replace fetch_openml by a 30-row, 16-feature local fixture with labels '2', '10', '9'."""
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(30, 16)).astype(np.float64)
    target = np.array(["2", "10", "9"] * 10, dtype=object)
    fake = FakeFetch(data, target)
    monkeypatch.setattr("sklearn.datasets.fetch_openml", fake)
    return fake


def test_openml_split_labels_and_pixels(fake_openml: FakeFetch, tmp_path: Path) -> None:
    """Test that openml:NAME keeps row order, puts the last test_size rows in test, maps labels."""
    data = load_dataset("openml:mnist_784", test_size=10, data_home=tmp_path)
    ((args, kwargs),) = fake_openml.calls
    assert args == ("mnist_784",) and kwargs["as_frame"] is False
    assert kwargs["version"] == 1 and kwargs["data_home"] == tmp_path
    assert data.X_train.shape == (20, 16) and data.X_test.shape == (10, 16)
    assert data.X_train.dtype == np.uint8 and data.pixel_max == 255
    np.testing.assert_array_equal(data.X_train, fake_openml.data[:20])
    np.testing.assert_array_equal(data.X_test, fake_openml.data[20:])
    assert data.class_names == ("2", "9", "10")  # numeric order, original strings
    assert data.y_train[:3].tolist() == [0, 2, 1]
    assert data.image_shape == (4, 4) and data.name == "openml:mnist_784"
    assert "id 554" in data.source and data.checksums == {}


def test_openml_default_test_size_needs_enough_rows(fake_openml: FakeFetch) -> None:
    """Test that the default 10,000-row test set is refused for a 30-row data set."""
    with pytest.raises(InputError, match="test_size must be an integer between 1 and 29"):
        load_dataset("openml:tiny")


def test_openml_float_features_stay_float(fake_openml: FakeFetch) -> None:
    """Test that non-integral features stay float64 with pixel_max their largest magnitude."""
    fake_openml.data = fake_openml.data / 7.0 - 3.0
    data = load_dataset("openml:floaty", test_size=5, image_shape=(2, 8))
    assert data.X_train.dtype == np.float64 and data.image_shape == (2, 8)
    assert data.pixel_max == pytest.approx(np.abs(fake_openml.data).max())


def test_openml_missing_values_are_refused(fake_openml: FakeFetch) -> None:
    """Test that NaN features raise DataFormatError naming the data set."""
    fake_openml.data[3, 3] = np.nan
    with pytest.raises(DataFormatError, match="openml:holes: has missing"):
        load_dataset("openml:holes", test_size=5)


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.URLError("[Errno -3] Temporary failure in name resolution"),
        urllib.error.HTTPError("https://openml.org", 503, "Service Unavailable", None, None),  # type: ignore[arg-type]
        TimeoutError("timed out"),
        ConnectionResetError("reset"),
    ],
)
def test_openml_offline_gives_clear_message(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """Test that a network failure raises one clear 'could not download ... (offline?)' error."""

    def offline(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr("sklearn.datasets.fetch_openml", offline)
    with pytest.raises(
        MnistLogregError, match=r"could not download OpenML dataset mnist_784 \(offline\?"
    ) as info:
        load_dataset("openml:mnist_784")
    assert "\n" not in str(info.value)


def test_openml_unknown_name_is_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that scikit-learn's ValueError for an unknown OpenML name becomes an InputError."""

    def unknown(*args: Any, **kwargs: Any) -> None:
        raise ValueError("No active dataset nope found.")

    monkeypatch.setattr("sklearn.datasets.fetch_openml", unknown)
    with pytest.raises(InputError, match="OpenML dataset nope: No active dataset nope found"):
        load_dataset("openml:nope")
    with pytest.raises(InputError, match="needs an OpenML name"):
        load_dataset("openml:")


# ----------------------------------------------------------------------------- names, options


def test_unknown_name_lists_known_names() -> None:
    """Test that an unknown dataset name raises InputError listing the known names."""
    with pytest.raises(InputError, match="unknown dataset 'cifar'; known: mnist, fashion-mnist"):
        load_dataset("cifar")


def test_unknown_option_is_refused() -> None:
    """Test that an option a source does not take raises InputError naming it."""
    with pytest.raises(InputError, match="dataset 'mnist' has no option 'path'"):
        load_dataset("mnist", path="/tmp")


# ----------------------------------------------------------------------------- listing


def test_list_sources_reports_availability_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that list_sources gives every source, mnist's counts and missing fashion's reason."""
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "missing"))
    sources = {info.name: info for info in list_sources()}
    assert list(sources) == [
        "mnist", "fashion-mnist", "digits", "idx:DIR", "openml:NAME", "zarr:DIR"
    ]
    mnist = sources["mnist"]
    assert mnist.available is True and (mnist.n_train, mnist.n_test) == (60000, 10000)
    assert list(mnist.train_class_counts or ()) == MNIST_TRAIN_COUNTS
    assert list(mnist.test_class_counts or ()) == MNIST_TEST_COUNTS
    assert mnist.image_shape == (28, 28) and "LeCun" in mnist.origin
    fashion = sources["fashion-mnist"]
    assert fashion.available is False and "apt-get install dataset-fashion-mnist" in fashion.status
    assert sources["digits"].available is True and sources["digits"].n_test == 450
    assert sources["openml:NAME"].available is None
    assert json.loads(json.dumps(mnist.as_dict()))["n_train"] == 60000


def test_list_sources_sees_fashion_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that list_sources reports a Fashion-MNIST folder given by the environment variable."""
    monkeypatch.setenv(FASHION_MNIST_ENV, str(make_idx_folder(tmp_path / "f", n_train=20)))
    fashion = {info.name: info for info in list_sources()}["fashion-mnist"]
    assert fashion.available is True and fashion.n_train == 20 and fashion.n_test == 10
    assert fashion.train_class_counts == (2,) * 10


# ----------------------------------------------------------------------------- Dataset


def _dataset(**changes: Any) -> Dataset:
    fields: dict[str, Any] = {
        "name": "toy",
        "X_train": np.zeros((4, 6), np.uint8),
        "y_train": np.array([0, 1, 2, 1], np.uint8),
        "X_test": np.zeros((2, 6), np.uint8),
        "y_test": np.array([2, 0], np.int32),
        "image_shape": (2, 3),
        "pixel_max": 255,
        "class_names": ["a", "b", "c"],
        "source": "made up",
    }
    fields.update(changes)
    return Dataset(**fields)


def test_dataset_normalizes_fields() -> None:
    """Test that Dataset converts labels to int64, class names to a tuple and counts classes."""
    data = _dataset()
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    assert data.class_names == ("a", "b", "c") and data.n_classes == 3 and data.n_features == 6
    assert data.class_counts("train").tolist() == [1, 2, 1]
    assert data.checksums == {} and data.pixel_max == 255.0
    with pytest.raises(ValueError, match="split must be"):
        data.class_counts("validation")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"y_train": np.array([0, 1, 2])}, "X_train holds 4 images but .* y_train holds 3 labels"),
        ({"y_test": np.array([0, 3])}, "y_test: label 3 at index 1 is outside 0..2"),
        ({"y_test": np.array([0.0, 1.0])}, "y_test: labels must be integers"),
        ({"X_test": np.zeros((2, 5), np.uint8)}, r"X_test must have shape \(n_samples, 6\)"),
        ({"pixel_max": 0}, "pixel_max must be a finite number > 0"),
        ({"pixel_max": float("inf")}, "pixel_max must be a finite number > 0, got inf"),
    ],
)
def test_dataset_validation(changes: dict[str, Any], problem: str) -> None:
    """Test that inconsistent arrays raise DataFormatError naming the dataset and the array."""
    with pytest.raises(DataFormatError, match=problem) as info:
        _dataset(**changes)
    assert "dataset toy" in str(info.value)
