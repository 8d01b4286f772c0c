"""The :class:`Dataset` every source returns, and the checks of images against labels."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_logreg.errors import DataFormatError

__all__ = ["Dataset", "check_images_labels"]


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
    if labels.dtype.kind not in "iu":
        raise DataFormatError(f"{labels_name}: labels must be integers, got dtype {labels.dtype}")
    if images.ndim < 1 or images.shape[0] != labels.shape[0]:
        n_images = images.shape[0] if images.ndim else 0
        raise DataFormatError(
            f"{images_name} holds {n_images} images but {labels_name} holds "
            f"{labels.shape[0]} labels"
        )
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

    Notes
    -----
    Construction validates shapes and labels and converts integer labels to int64; the arrays
    themselves are not copied.
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
        n_pixels = math.prod(self.image_shape)
        for split in ("train", "test"):
            X = np.asarray(getattr(self, f"X_{split}"))
            y = np.asarray(getattr(self, f"y_{split}"))
            if X.ndim != 2 or X.shape[1] != n_pixels:
                raise DataFormatError(
                    f"dataset {self.name}: X_{split} must have shape (n_samples, {n_pixels}) "
                    f"for images of shape {self.image_shape}, got {X.shape}"
                )
            check_images_labels(
                X,
                y,
                n_classes=len(self.class_names),
                images_name=f"dataset {self.name} X_{split}",
                labels_name=f"dataset {self.name} y_{split}",
            )
            set_(self, f"X_{split}", X)
            set_(self, f"y_{split}", y.astype(np.int64, copy=False))
        set_(self, "pixel_max", float(self.pixel_max))
        if not self.pixel_max > 0:
            raise DataFormatError(
                f"dataset {self.name}: pixel_max must be > 0, got {self.pixel_max}"
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
