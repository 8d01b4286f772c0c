"""The :class:`Dataset` every source returns, and the checks of images against labels.

A :class:`Dataset` is checked whole when it is made, so every command that loads one fails at load
time, before it creates any file, with one line naming the dataset: at least one training and one
test image, images of at least one pixel, finite pixels, labels ``0 .. n_classes - 1`` one per
image, at most :data:`MAX_CLASSES` classes, at least two classes in training, and every test class
present in training (a classifier cannot be scored on a class it never saw).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_logreg.errors import DataFormatError, InputError

__all__ = [
    "MAX_CLASSES",
    "Dataset",
    "check_class_counts",
    "check_images_labels",
    "check_labels",
    "check_n_classes",
]

#: Largest number of classes a data set may have (MNIST-style data sets have 10; a model of
#: 1,000 classes of 784 pixels is 6 MB of coefficients).
MAX_CLASSES = 1000


def check_n_classes(n_classes: int, where: str, what: str = "classes") -> None:
    """Check that a data set's number of classes is at most :data:`MAX_CLASSES`.

    Parameters
    ----------
    n_classes : int
        Number of classes (distinct labels or class names).
    where : str
        The dataset, for the message.
    what : str, default "classes"
        What was counted, for the message (e.g. ``"distinct labels in FILE"``).

    Raises
    ------
    InputError
        If ``n_classes`` exceeds :data:`MAX_CLASSES`.
    """
    if n_classes > MAX_CLASSES:
        raise InputError(
            f"{where}: {n_classes} {what}; at most {MAX_CLASSES} classes are supported "
            "(are these really class labels?)"
        )


def check_class_counts(
    train_counts: np.ndarray, test_counts: np.ndarray, class_names: Sequence[str], where: str
) -> None:
    """Check that training holds two classes or more and every test class occurs in training.

    Parameters
    ----------
    train_counts, test_counts : ndarray of shape (n_classes,)
        Images per class in each split.
    class_names : sequence of str
        Names of the classes, for the message.
    where : str
        The dataset, for the message.

    Raises
    ------
    InputError
        If training holds fewer than two classes, or a test class has no training image.
    """
    if np.count_nonzero(train_counts) < 2:
        present = [repr(class_names[int(i)]) for i in np.flatnonzero(train_counts)]
        raise InputError(
            f"{where}: the training images hold {len(present)} class(es) "
            f"{', '.join(present)}; a classifier needs at least two"
        )
    unseen = np.flatnonzero((test_counts > 0) & (train_counts == 0))
    if unseen.size:
        names = ", ".join(repr(class_names[int(i)]) for i in unseen[:5])
        more = f" and {unseen.size - 5} more" if unseen.size > 5 else ""
        raise InputError(
            f"{where}: test class(es) {names}{more} have no training images, so the study "
            "cannot score them"
        )


def check_labels(labels: np.ndarray, *, n_classes: int, labels_name: str) -> None:
    """Check that labels are 1-D integers in ``0 .. n_classes - 1``.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        The labels.
    n_classes : int
        Number of classes.
    labels_name : str
        Name used in error messages (a file path or an array name).

    Raises
    ------
    DataFormatError
        If the labels are not a 1-D integer array or a label is out of range.
    """
    if labels.ndim != 1:
        raise DataFormatError(f"{labels_name}: labels must be 1-D, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise DataFormatError(f"{labels_name}: labels must be integers, got dtype {labels.dtype}")
    if labels.size == 0:
        return
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        index = int(np.flatnonzero(labels == bad)[0])
        raise DataFormatError(
            f"{labels_name}: label {bad} at index {index} is outside 0..{n_classes - 1} "
            f"({n_classes} classes)"
        )


def check_images_labels(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    n_classes: int,
    images_name: str,
    labels_name: str,
) -> None:
    """Check that labels are 1-D integers in ``0 .. n_classes - 1``, one per image.

    Parameters
    ----------
    images : ndarray of shape (n_samples, ...)
        Images (any trailing shape).
    labels : ndarray of shape (n_samples,)
        Their labels.
    n_classes : int
        Number of classes.
    images_name, labels_name : str
        Names used in error messages (file paths or array names).

    Raises
    ------
    DataFormatError
        If the labels are not a 1-D integer array, the counts differ, or a label is out of range.
    """
    if labels.ndim != 1:
        raise DataFormatError(f"{labels_name}: labels must be 1-D, got shape {labels.shape}")
    if images.ndim < 1 or images.shape[0] != labels.shape[0]:
        n_images = images.shape[0] if images.ndim else 0
        raise DataFormatError(
            f"{images_name} holds {n_images} images but {labels_name} holds "
            f"{labels.shape[0]} labels"
        )
    check_labels(labels, n_classes=n_classes, labels_name=labels_name)


def _check_finite(X: np.ndarray, name: str) -> None:
    """Refuse infinite or NaN pixels (min and max propagate both, with no temporary array)."""
    if X.dtype.kind != "f" or X.size == 0:
        return
    if np.isfinite(X.min()) and np.isfinite(X.max()):
        return
    row, column = np.argwhere(~np.isfinite(X))[0]
    raise InputError(
        f"{name}: pixel {int(column)} of image {int(row)} is {X[row, column]}; "
        "pixels must be finite"
    )


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled image data set split into training and test rows.

    Attributes
    ----------
    name : str
        The name it was loaded by, e.g. ``"mnist"`` or ``"idx:/data/x"``.
    X_train : ndarray of shape (n_train, n_pixels)
        Raw pixels, one flattened image per row (uint8 where the source is).
    y_train : ndarray of shape (n_train,), dtype int64
        Labels, indices into ``class_names``.
    X_test : ndarray of shape (n_test, n_pixels)
        Raw test pixels.
    y_test : ndarray of shape (n_test,), dtype int64
        Test labels.
    image_shape : tuple of int
        Shape of one image, e.g. ``(28, 28)``; ``prod(image_shape) == n_pixels``.
    pixel_max : float
        Nominal largest pixel value (255 for 8-bit images, 16 for scikit-learn's digits);
        scaling divides by it.
    class_names : tuple of str
        Name of each class, indexed by label.
    source : str
        One line saying where the data come from.
    checksums : dict of str to str
        File name -> SHA-256 of the files read; empty where not applicable.

    Raises
    ------
    InputError
        On construction, if the data are unusable (see the module docstring); a
        :class:`~mnist_logreg.errors.DataFormatError` for inconsistent shapes or labels.

    Notes
    -----
    Construction validates shapes, pixels and labels and converts integer labels to int64; the
    arrays themselves are not copied.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...]
    pixel_max: float
    class_names: tuple[str, ...]
    source: str
    checksums: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "image_shape", tuple(int(d) for d in self.image_shape))
        set_(self, "class_names", tuple(str(c) for c in self.class_names))
        set_(self, "checksums", dict(self.checksums))
        where = f"dataset {self.name}"
        if not self.image_shape or min(self.image_shape) < 1:
            raise InputError(f"{where}: images of shape {self.image_shape} hold no pixels")
        if not self.class_names:
            raise InputError(f"{where}: no class names")
        check_n_classes(len(self.class_names), where)
        for name in self.class_names:
            # printed by every command and stored in model files, which refuse control characters
            if not name or not name.isprintable():
                raise InputError(
                    f"{where}: class name {name!r} is empty or holds control characters"
                )
        if len(set(self.class_names)) != len(self.class_names):
            raise InputError(f"{where}: class names are not unique")
        n_pixels = math.prod(self.image_shape)
        for split, label in (("train", "training"), ("test", "test")):
            X = np.asarray(getattr(self, f"X_{split}"))
            y = np.asarray(getattr(self, f"y_{split}"))
            if X.ndim != 2 or X.shape[1] != n_pixels:
                raise DataFormatError(
                    f"{where}: X_{split} must have shape (n_samples, {n_pixels}) "
                    f"for images of shape {self.image_shape}, got {X.shape}"
                )
            if X.dtype.kind not in "uif":
                raise DataFormatError(
                    f"{where}: X_{split} must hold integer or real pixels, got dtype {X.dtype}"
                )
            check_images_labels(
                X,
                y,
                n_classes=len(self.class_names),
                images_name=f"{where} X_{split}",
                labels_name=f"{where} y_{split}",
            )
            if X.shape[0] == 0:
                raise InputError(f"{where} has no {label} images")
            _check_finite(X, f"{where} X_{split}")
            set_(self, f"X_{split}", X)
            set_(self, f"y_{split}", y.astype(np.int64, copy=False))
        check_class_counts(
            self.class_counts("train"), self.class_counts("test"), self.class_names, where
        )
        set_(self, "pixel_max", float(self.pixel_max))
        if not (math.isfinite(self.pixel_max) and self.pixel_max > 0):
            raise DataFormatError(
                f"{where}: pixel_max must be a finite number > 0, got {self.pixel_max}"
            )

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """Number of pixels per image, ``prod(image_shape)``."""
        return int(self.X_train.shape[1])

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Return the number of samples of each class.

        Parameters
        ----------
        split : {"train", "test"}
            Which rows.

        Returns
        -------
        counts : ndarray of shape (n_classes,), dtype int64
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'. Got {split!r} instead.")
        y = self.y_train if split == "train" else self.y_test
        return np.bincount(y, minlength=self.n_classes).astype(np.int64)

    def _split_summary(self, split: str) -> dict[str, Any]:
        X = self.X_train if split == "train" else self.X_test
        y = self.y_train if split == "train" else self.y_test
        pixel_range = [X.min().item(), X.max().item()] if X.size else [None, None]
        return {
            "n_samples": int(X.shape[0]),
            "X_shape": list(X.shape),
            "X_dtype": str(X.dtype),
            "y_dtype": str(y.dtype),
            "pixel_range": pixel_range,
            "class_counts": self.class_counts(split).tolist(),
        }

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready description of the data set.

        Returns
        -------
        summary : dict
            ``name``, ``source``, ``image_shape``, ``n_features``, ``pixel_max``, ``n_classes``,
            ``class_names``, ``train`` and ``test`` (each: ``n_samples``, ``X_shape``,
            ``X_dtype``, ``y_dtype``, ``pixel_range`` [min, max] and ``class_counts`` in class
            order) and ``checksums`` (file name -> SHA-256).
        """
        return {
            "name": self.name,
            "source": self.source,
            "image_shape": list(self.image_shape),
            "n_features": self.n_features,
            "pixel_max": self.pixel_max,
            "n_classes": self.n_classes,
            "class_names": list(self.class_names),
            "train": self._split_summary("train"),
            "test": self._split_summary("test"),
            "checksums": dict(self.checksums),
        }
