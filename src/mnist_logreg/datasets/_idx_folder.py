"""MNIST-style folders of four IDX files: checked header-first, then loaded into a Dataset.

Order of the checks, cheapest first, so a forged or mismatched folder fails before anything large
is read or decompressed:

1. the four files exist (plain preferred over ``.gz``);
2. their headers (a few bytes each, read from the gzip stream where compressed) agree: images of
   at least 2 dimensions and at least one pixel, 1-D integer labels, as many labels as images, at
   least one training and one test image, the same image shape in both splits; each declared
   payload fits its file (see :mod:`mnist_logreg.datasets._idx`);
3. the ``SHA256SUMS`` manifest, where present;
4. the payloads, each decompressed with a bound of its header's size;
5. the labels: without class names, the classes are the distinct training labels in increasing
   order (at most :data:`~mnist_logreg.datasets._dataset.MAX_CLASSES`), named by their values and
   coded ``0 .. n_classes - 1``, so one label of 2**31 - 1 costs one class, not 2**31 of them;
   with class names, labels must lie in ``0 .. len(class_names) - 1``;
6. the :class:`~mnist_logreg.datasets.Dataset` checks (finite pixels, test classes seen in
   training, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg.datasets._checksums import (
    SUMS_FILE_NAME,
    parse_sha256sums,
    sha256_file,
    verify_checksums,
)
from mnist_logreg.datasets._dataset import (
    Dataset,
    check_class_counts,
    check_labels,
    check_n_classes,
)
from mnist_logreg.datasets._idx import IdxHeader, read_idx, read_idx_header
from mnist_logreg.errors import DataFormatError, InputError

__all__ = ["IDX_FILE_NAMES", "find_idx_files", "idx_folder_info", "load_idx_folder"]

#: The four standard IDX file names of an MNIST-style folder (each may also end in ``.gz``).
IDX_FILE_NAMES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_SPLITS = (("train", "training"), ("t10k", "test"))


def find_idx_files(folder: Path) -> dict[str, Path]:
    """Return standard name -> existing file (plain preferred over ``.gz``) or raise InputError."""
    if not folder.exists():
        raise InputError(f"dataset folder {folder} does not exist")
    if not folder.is_dir():
        raise InputError(f"dataset folder {folder} is not a folder")
    found: dict[str, Path] = {}
    for name in IDX_FILE_NAMES:
        candidates = [folder / name, folder / f"{name}.gz"]
        existing = [path for path in candidates if path.is_file()]
        if not existing:
            raise InputError(f"dataset folder {folder} has no {name} (nor {name}.gz)")
        found[name] = existing[0]
    return found


def _check_headers(files: dict[str, Path], where: str) -> dict[str, IdxHeader]:
    """Read the four headers and check them against each other (nothing large is read)."""
    headers = {name: read_idx_header(path) for name, path in files.items()}
    for prefix, split in _SPLITS:
        images_path = files[f"{prefix}-images-idx3-ubyte"]
        labels_path = files[f"{prefix}-labels-idx1-ubyte"]
        images = headers[f"{prefix}-images-idx3-ubyte"]
        labels = headers[f"{prefix}-labels-idx1-ubyte"]
        if len(images.shape) < 2:
            raise DataFormatError(
                f"{where}: {images_path}: images must have at least 2 dimensions "
                f"(n_images, rows, cols), got shape {images.shape}"
            )
        if len(labels.shape) != 1 or labels.dtype.kind not in "iu":
            raise DataFormatError(
                f"{where}: {labels_path}: labels must be a 1-D integer array, got "
                f"{labels.dtype} of shape {labels.shape}"
            )
        if images.shape[0] != labels.shape[0]:
            raise DataFormatError(
                f"{where}: {images_path} holds {images.shape[0]} images but {labels_path} "
                f"holds {labels.shape[0]} labels"
            )
        if images.shape[0] == 0:
            raise InputError(f"{where}: {images_path} holds no images (no {split} images)")
        if min(images.shape[1:]) == 0:
            raise InputError(
                f"{where}: {images_path}: images of shape {images.shape[1:]} hold no pixels"
            )
    train = headers["train-images-idx3-ubyte"].shape[1:]
    test = headers["t10k-images-idx3-ubyte"].shape[1:]
    if train != test:
        raise DataFormatError(
            f"{where}: {files['t10k-images-idx3-ubyte']}: images of shape {test} differ from "
            f"the {train} of {files['train-images-idx3-ubyte']}"
        )
    return headers


def _idx_checksums(folder: Path, files: Sequence[Path], *, require_sums: bool) -> dict[str, str]:
    """Verify ``files`` against ``folder/SHA256SUMS`` when present; else just hash them."""
    sums_path = folder / SUMS_FILE_NAME
    if not sums_path.is_file():
        if require_sums:
            raise InputError(f"checksum file {sums_path} is missing")
        return {path.name: sha256_file(path) for path in files}
    expected = parse_sha256sums(sums_path)
    listed = [path.name for path in files if path.name in expected]
    unlisted = [path for path in files if path.name not in expected]
    if unlisted and require_sums:
        raise InputError(f"no checksum for {unlisted[0]} in {sums_path}")
    checksums = verify_checksums(folder, expected, listed)
    checksums.update({path.name: sha256_file(path) for path in unlisted})
    return {path.name: checksums[path.name] for path in files}


def _read_labels(path: Path, header: IdxHeader, where: str) -> np.ndarray:
    labels = read_idx(path)
    if labels.shape != header.shape or labels.dtype != header.dtype:  # the file changed
        raise DataFormatError(f"{where}: {path} changed while it was read")
    return labels


def _encode_labels(
    files: dict[str, Path],
    headers: dict[str, IdxHeader],
    class_names: Sequence[str] | None,
    where: str,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read both label files; return their codes ``0 .. n_classes - 1`` and the class names.

    Without ``class_names`` the classes are the distinct training labels in increasing order,
    named by their values; a test label absent from training is refused.
    """
    train_path = files["train-labels-idx1-ubyte"]
    test_path = files["t10k-labels-idx1-ubyte"]
    y_train = _read_labels(train_path, headers["train-labels-idx1-ubyte"], where)
    y_test = _read_labels(test_path, headers["t10k-labels-idx1-ubyte"], where)
    if class_names is not None:
        names = tuple(str(name) for name in class_names)
        check_n_classes(len(names), where, "class names")
        for y, path in ((y_train, train_path), (y_test, test_path)):
            check_labels(y, n_classes=len(names), labels_name=f"{where}: {path}")
        return y_train, y_test, names
    classes, train_codes = np.unique(y_train, return_inverse=True)
    check_n_classes(len(classes), where, f"distinct labels in {train_path}")
    test_codes = np.searchsorted(classes, y_test)
    known = test_codes < len(classes)
    known[known] = classes[test_codes[known]] == y_test[known]
    if not known.all():
        unseen = np.unique(y_test[~known])
        listed = ", ".join(str(int(label)) for label in unseen[:5])
        more = f" and {unseen.size - 5} more" if unseen.size > 5 else ""
        raise InputError(
            f"{where}: test label(s) {listed}{more} of {test_path} never occur in {train_path}, "
            "so the study cannot score them"
        )
    names = tuple(str(int(label)) for label in classes)
    return train_codes.reshape(-1), test_codes, names


def _pixel_max(X: np.ndarray) -> float:
    """255 for uint8 pixels, else the largest absolute value (at least 1)."""
    if X.dtype == np.uint8:
        return 255.0
    largest = max(abs(float(X.min())), abs(float(X.max()))) if X.size else 0.0
    return max(largest, 1.0)  # a NaN maximum stays NaN, refused by Dataset


def load_idx_folder(
    folder: Path,
    *,
    name: str,
    source: str,
    class_names: Sequence[str] | None,
    require_sums: bool = False,
) -> Dataset:
    """Load the four standard IDX files of ``folder`` into a :class:`Dataset`.

    Parameters
    ----------
    folder : Path
        The folder.
    name : str
        Dataset name (for the result and the messages).
    source : str
        One line saying where the data come from.
    class_names : sequence of str or None
        Names of labels ``0 .. len - 1``; None: the distinct training labels.
    require_sums : bool, default False
        Whether a ``SHA256SUMS`` listing every file is required.

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    InputError
        Missing folder or file, unusable data (see the module docstring).
    DataFormatError
        Malformed file, files that disagree, checksum mismatch.
    """
    where = f"dataset {name}"
    files = find_idx_files(folder)
    headers = _check_headers(files, where)
    checksums = _idx_checksums(folder, list(files.values()), require_sums=require_sums)
    X_train = read_idx(files["train-images-idx3-ubyte"])
    X_test = read_idx(files["t10k-images-idx3-ubyte"])
    y_train, y_test, names = _encode_labels(files, headers, class_names, where)
    for X, header in ((X_train, "train-images-idx3-ubyte"), (X_test, "t10k-images-idx3-ubyte")):
        if X.shape != headers[header].shape:
            raise DataFormatError(f"{where}: {files[header]} changed while it was read")
    return Dataset(
        name=name,
        X_train=X_train.reshape(X_train.shape[0], -1),
        y_train=y_train,
        X_test=X_test.reshape(X_test.shape[0], -1),
        y_test=y_test,
        image_shape=tuple(X_train.shape[1:]),
        pixel_max=_pixel_max(X_train),
        class_names=names,
        source=source,
        checksums=checksums,
    )


def idx_folder_info(
    folder: Path, *, name: str, class_names: Sequence[str] | None
) -> dict[str, Any]:
    """Sizes and class counts of an IDX folder from its headers and label files only.

    Runs the same header and label checks as :func:`load_idx_folder` (not the checksums nor the
    pixels), so a folder listed as available loads unless its pixels are bad.

    Returns
    -------
    info : dict
        ``n_train``, ``n_test``, ``train_class_counts``, ``test_class_counts``, ``image_shape``.

    Raises
    ------
    InputError
        As :func:`load_idx_folder`.
    """
    where = f"dataset {name}"
    files = find_idx_files(folder)
    headers = _check_headers(files, where)
    y_train, y_test, names = _encode_labels(files, headers, class_names, where)
    n_classes = len(names)
    train_counts = np.bincount(y_train.astype(np.int64), minlength=n_classes)
    test_counts = np.bincount(y_test.astype(np.int64), minlength=n_classes)
    check_class_counts(train_counts, test_counts, names, where)
    return {
        "n_train": int(y_train.shape[0]),
        "n_test": int(y_test.shape[0]),
        "train_class_counts": tuple(int(c) for c in train_counts),
        "test_class_counts": tuple(int(c) for c in test_counts),
        "image_shape": headers["train-images-idx3-ubyte"].shape[1:],
    }
