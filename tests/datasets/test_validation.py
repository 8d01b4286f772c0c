"""Tests of hostile and unusable data: bounded memory, header-first checks, one-line errors."""

from __future__ import annotations

import dataclasses
import gzip
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnist_logreg.datasets import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_ENV,
    IDX_FILE_NAMES,
    MAX_CLASSES,
    Dataset,
    list_sources,
    load_dataset,
    write_idx,
)
from mnist_logreg.errors import DataFormatError, InputError

INT32_MAX = 2**31 - 1


def _folder(
    folder: Path,
    *,
    train_labels: Any = (0, 1, 2, 0, 1, 2),
    test_labels: Any = (2, 1, 0),
    image_shape: tuple[int, ...] = (2, 3),
    dtype: Any = np.uint8,
    gz: bool = False,
) -> Path:
    """Write an IDX folder with the given labels and images of ``image_shape`` (all plain or gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    y_train, y_test = (
        y if isinstance(y, np.ndarray) else np.asarray(y, np.uint8)
        for y in (train_labels, test_labels)
    )
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 100, size=(len(y_train), *image_shape)).astype(dtype),
        y_train,
        rng.integers(0, 100, size=(len(y_test), *image_shape)).astype(dtype),
        y_test,
    ]
    for name, array in zip(IDX_FILE_NAMES, arrays, strict=True):
        write_idx(folder / (f"{name}.gz" if gz else name), array)
    return folder


def _peak_bytes(function: Callable[[], Any]) -> int:
    """Peak traced Python allocation while ``function`` runs (it may raise)."""
    tracemalloc.start()
    try:
        try:
            function()
        except (InputError, DataFormatError):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _one_line(exc: BaseException, *fragments: str) -> None:
    message = str(exc)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


# ----------------------------------------------------------------------------- classes


def test_huge_label_costs_one_class_not_two_billion(tmp_path: Path) -> None:
    """Test that an int32 label 2**31-1 makes one class named by its value, with little memory."""
    folder = _folder(
        tmp_path / "d",
        train_labels=np.array([0, INT32_MAX, 1, INT32_MAX, 0, 1], np.int32),
        test_labels=np.array([INT32_MAX, 0, 1], np.int32),
    )
    data = load_dataset(f"idx:{folder}")
    assert data.class_names == ("0", "1", str(INT32_MAX))
    assert data.y_train.tolist() == [0, 2, 1, 2, 0, 1] and data.y_test.tolist() == [2, 0, 1]
    assert data.class_counts("train").tolist() == [2, 2, 2]
    assert _peak_bytes(lambda: load_dataset(f"idx:{folder}")) < 2**20


def test_labels_are_coded_by_their_distinct_values(tmp_path: Path) -> None:
    """Test that labels 1..10 and -1/1 become codes 0..k-1 whose class names are the values."""
    folder = _folder(
        tmp_path / "a", train_labels=np.arange(1, 11, dtype=np.uint8), test_labels=[10]
    )
    data = load_dataset(f"idx:{folder}")
    assert data.class_names == tuple(str(i) for i in range(1, 11))
    assert data.y_train.tolist() == list(range(10)) and data.y_test.tolist() == [9]
    folder = _folder(
        tmp_path / "b", train_labels=np.array([-1, 1, 1], np.int8), test_labels=np.int8([1, -1])
    )
    data = load_dataset(f"idx:{folder}")
    assert data.class_names == ("-1", "1") and data.y_test.tolist() == [1, 0]


def test_more_distinct_labels_than_the_cap_is_one_line(tmp_path: Path) -> None:
    """Test that 1,001 distinct labels are refused with one line giving the count and the cap."""
    labels = np.arange(MAX_CLASSES + 1, dtype=np.int32)
    folder = _folder(tmp_path / "d", train_labels=labels, test_labels=labels[:3])
    with pytest.raises(InputError) as info:
        load_dataset(f"idx:{folder}")
    _one_line(info.value, f"{MAX_CLASSES + 1} distinct labels", f"at most {MAX_CLASSES} classes")
    assert str(folder / "train-labels-idx1-ubyte") in str(info.value)
    with pytest.raises(InputError, match="1001 class names; at most 1000"):
        load_dataset(f"idx:{folder}", class_names=[str(i) for i in range(MAX_CLASSES + 1)])


def test_listing_shows_a_folder_with_a_huge_label_as_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that a Fashion-MNIST folder holding label 2**31-1 is listed unavailable, cheaply."""
    folder = _folder(
        tmp_path / "f",
        train_labels=np.array([0, 1, INT32_MAX], np.int32),
        test_labels=np.array([0, 1], np.int32),
    )
    monkeypatch.setenv(FASHION_MNIST_ENV, str(folder))
    tracemalloc.start()
    try:
        sources = {info.name: info for info in list_sources()}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    fashion = sources["fashion-mnist"]
    assert fashion.available is False and fashion.train_class_counts is None
    assert f"label {INT32_MAX} at index 2 is outside 0..9" in fashion.status
    assert sources["mnist"].available is True
    assert peak < 64 * 2**20  # the bundled MNIST labels and digits, not 2**31 counters


def test_listing_reports_fixed_classes_missing_from_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that the listing marks a folder unavailable when a test class has no training image."""
    folder = _folder(tmp_path / "f", train_labels=[0, 1, 0, 1], test_labels=[0, 7])
    monkeypatch.setenv(FASHION_MNIST_ENV, str(folder))
    fashion = {info.name: info for info in list_sources()}["fashion-mnist"]
    assert fashion.available is False
    assert "test class(es) 'Bag' have no training images" in fashion.status


def test_listing_survives_a_source_that_raises_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that list_sources lists a source whose description fails as unavailable with why."""
    import mnist_logreg.datasets._sources as sources_module

    def broken() -> None:
        raise RuntimeError("disk on fire")

    digits = dataclasses.replace(sources_module._SOURCES["digits"], describe=broken)
    monkeypatch.setitem(sources_module._SOURCES, "digits", digits)
    sources = {info.name: info for info in list_sources()}
    assert list(sources) == [
        "mnist", "fashion-mnist", "digits", "idx:DIR", "openml:NAME", "zarr:DIR"
    ]
    assert sources["digits"].available is False and sources["digits"].status == "no: disk on fire"
    assert sources["mnist"].available is True


# ----------------------------------------------------------------------------- header first


def _gz_with_header(path: Path, dtype_code: int, dims: tuple[int, ...], payload: bytes) -> Path:
    header = bytes([0, 0, dtype_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    path.write_bytes(gzip.compress(header + payload, mtime=0))
    return path


def test_count_mismatch_fails_before_decompressing(tmp_path: Path) -> None:
    """Test that images promising 60,000 rows against 6 labels fail at the headers, small."""
    folder = _folder(tmp_path / "d", gz=True)
    images = _gz_with_header(
        folder / "train-images-idx3-ubyte.gz", 0x08, (60_000, 28, 28), bytes(2**20)
    )
    with pytest.raises(DataFormatError) as info:
        load_dataset(f"idx:{folder}")
    _one_line(info.value, f"{images} holds 60000 images but", "holds 6 labels", f"idx:{folder}")
    assert _peak_bytes(lambda: load_dataset(f"idx:{folder}")) < 2**20


def test_gzip_promising_a_gibibyte_fails_at_the_header(tmp_path: Path) -> None:
    """Test that a 1 MB gzip whose header promises 1 GiB is refused before decompression."""
    folder = _folder(tmp_path / "d", gz=True)
    images = _gz_with_header(
        folder / "train-images-idx3-ubyte.gz", 0x08, (6, 2**14, 2**14), bytes(2**20)
    )
    with pytest.raises(DataFormatError) as info:
        load_dataset(f"idx:{folder}")
    _one_line(info.value, str(images), "1610612736 payload bytes", "likely a gzip bomb")
    assert _peak_bytes(lambda: load_dataset(f"idx:{folder}")) < 2**20


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"train_labels": np.zeros(0, np.uint8)}, "holds no images (no training images)"),
        ({"test_labels": np.zeros(0, np.uint8)}, "holds no images (no test images)"),
        ({"image_shape": (0, 0)}, "images of shape (0, 0) hold no pixels"),
        ({"image_shape": (3, 0)}, "images of shape (3, 0) hold no pixels"),
        ({"test_labels": [0, 5, 9, 5]}, "test label(s) 5, 9 of"),
        ({"train_labels": [1, 1, 1]}, "the training images hold 1 class(es) '1'"),
    ],
    ids=["no training", "no test", "0x0", "3x0", "unseen test labels", "single class"],
)
def test_unusable_folder_is_one_input_error(
    tmp_path: Path, changes: dict[str, Any], problem: str
) -> None:
    """Test that each unusable IDX folder raises one line naming the dataset and the problem."""
    if "train_labels" in changes and len(changes["train_labels"]) == 3:
        changes["test_labels"] = [1]
    folder = _folder(tmp_path / "d", **changes)
    with pytest.raises(InputError) as info:
        load_dataset(f"idx:{folder}")
    _one_line(info.value, f"dataset idx:{folder}", problem)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_pixels_are_refused(tmp_path: Path, bad: float, dtype: type) -> None:
    """Test that an infinite or NaN pixel in float IDX images is refused naming image and pixel."""
    folder = _folder(tmp_path / "d", dtype=dtype)
    images = np.ones((3, 2, 3), dtype)
    images[1, 1, 2] = bad
    write_idx(folder / "t10k-images-idx3-ubyte", images)
    with pytest.raises(InputError) as info:
        load_dataset(f"idx:{folder}")
    _one_line(info.value, f"dataset idx:{folder} X_test", f"pixel 5 of image 1 is {bad}")


def test_fixed_class_names_with_a_test_class_missing_from_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that Fashion-MNIST test images of a class absent from training are refused by name."""
    folder = _folder(tmp_path / "f", train_labels=[0, 1, 0, 1], test_labels=[0, 7, 8])
    monkeypatch.setenv(FASHION_MNIST_ENV, str(folder))
    with pytest.raises(InputError) as info:
        load_dataset("fashion-mnist")
    _one_line(
        info.value,
        "dataset fashion-mnist",
        f"{FASHION_MNIST_CLASSES[7]!r}, {FASHION_MNIST_CLASSES[8]!r} have no training images",
    )


def test_int8_pixel_maximum_is_not_overflowed(tmp_path: Path) -> None:
    """Test that int8 images holding -128 get pixel_max 128 (np.abs(-128) overflows in int8)."""
    folder = _folder(tmp_path / "d", dtype=np.int8)
    images = np.zeros((6, 2, 3), np.int8)
    images[0, 0, 0] = -128
    write_idx(folder / "train-images-idx3-ubyte", images)
    assert load_dataset(f"idx:{folder}").pixel_max == 128.0


# ----------------------------------------------------------------------------- Dataset


def _dataset(**changes: Any) -> Dataset:
    fields: dict[str, Any] = {
        "name": "toy",
        "X_train": np.zeros((4, 6), np.float32),
        "y_train": np.array([0, 1, 2, 1]),
        "X_test": np.zeros((2, 6), np.float32),
        "y_test": np.array([2, 0]),
        "image_shape": (2, 3),
        "pixel_max": 1.0,
        "class_names": ["a", "b", "c"],
        "source": "made up",
    }
    fields.update(changes)
    return Dataset(**fields)


def _nan_at(row: int, column: int) -> np.ndarray:
    X = np.zeros((2, 6), np.float32)
    X[row, column] = np.nan
    return X


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"X_train": np.zeros((0, 6)), "y_train": np.zeros(0, int)}, "has no training images"),
        ({"X_test": np.zeros((0, 6)), "y_test": np.zeros(0, int)}, "has no test images"),
        (
            {"X_train": np.zeros((4, 0)), "X_test": np.zeros((2, 0)), "image_shape": (0, 0)},
            "images of shape (0, 0) hold no pixels",
        ),
        ({"image_shape": ()}, "images of shape () hold no pixels"),
        ({"X_test": _nan_at(1, 4)}, "X_test: pixel 4 of image 1 is nan"),
        ({"y_train": np.array([1, 1, 1, 1])}, "hold 1 class(es) 'b'; a classifier needs"),
        ({"y_train": np.array([0, 1, 0, 1])}, "test class(es) 'c' have no training images"),
        ({"class_names": [str(i) for i in range(1001)]}, "1001 classes; at most 1000"),
        ({"class_names": []}, "no class names"),
    ],
)
def test_dataset_refuses_unusable_data(changes: dict[str, Any], problem: str) -> None:
    """Test that Dataset refuses unusable arrays with one InputError naming the dataset."""
    with pytest.raises(InputError) as info:
        _dataset(**changes)
    _one_line(info.value, "dataset toy", problem)


def test_dataset_refuses_non_numeric_pixels() -> None:
    """Test that complex or object pixels are refused naming the array and dtype."""
    with pytest.raises(DataFormatError, match="X_train must hold integer or real pixels"):
        _dataset(X_train=np.zeros((4, 6), np.complex64))


@pytest.mark.parametrize(
    ("class_names", "match"),
    [
        (["a", "\x1b[31mred", "c"], "control characters"),
        (["a", "", "c"], "empty or holds control characters"),
        (["a", "b\n", "c"], "control characters"),
        (["a", "a", "c"], "not unique"),
    ],
)
def test_unprintable_or_repeated_class_names_are_refused(class_names, match) -> None:
    """Test that class names with terminal escapes, empty or repeated ones are one InputError."""
    with pytest.raises(InputError, match=match) as info:
        _dataset(class_names=class_names)
    assert "dataset toy" in str(info.value) and "\n" not in str(info.value)
    assert _dataset(class_names=["zéro", "un deux", "3"]).n_classes == 3
