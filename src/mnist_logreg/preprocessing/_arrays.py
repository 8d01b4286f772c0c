"""Array files as model input: ``.npy`` and IDX files of already normalized images.

Both readers check the file's header before they read its payload, so memory is bounded by the
honest size of the file:

- ``.npy``: the header is read by :func:`mnist_logreg.datasets.read_npy_header` (the package's
  one strict ``.npy`` reader: never :func:`numpy.load`, never unpickling anything). Only plain
  numeric dtypes (bool, integers, floats) are accepted; the shape must be one of the image shapes
  the model takes; the payload the header announces must be exactly the rest of the file. Only
  then is the payload read, into one buffer of that size.
- IDX: :func:`mnist_logreg.datasets.read_idx_header` gives the shape, which is checked against the
  model's image shape before :func:`mnist_logreg.datasets.read_idx` reads the payload (itself
  bounded by the file size, gzip bombs included).

The rows are then checked: finite values in 0..pixel_max. Every problem raises
:class:`~mnist_logreg.errors.InputError` (:class:`~mnist_logreg.errors.DataFormatError` for a
malformed file) with one line naming the file.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg.datasets import (
    bad_npy,
    open_regular_file,
    read_exactly,
    read_idx,
    read_idx_header,
    read_npy_header,
)
from mnist_logreg.errors import InputError

__all__ = ["load_idx_images", "load_npy_images"]



def _rows_shape(shape: tuple[int, ...], image_shape: tuple[int, ...], name: str) -> tuple[int, int]:
    """Return (n_images, n_features) for an accepted array shape, else raise InputError."""
    n_features = math.prod(image_shape)
    if shape == image_shape or shape == (n_features,):
        n_images = 1
    elif len(shape) >= 1 and (
        shape[1:] == image_shape or (len(shape) == 2 and shape[1] == n_features)
    ):
        n_images = shape[0]
    else:
        expected = f"{image_shape}, ({n_features},), (n, {', '.join(map(str, image_shape))})"
        raise InputError(
            f"{name}: expected an array of shape {expected} or (n, {n_features}); got {shape}"
        )
    if n_images == 0:
        raise InputError(f"{name}: the array holds no images (shape {shape})")
    return n_images, n_features


def _check_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.kind not in "buif" or dtype.itemsize > 8:
        raise InputError(f"{name}: arrays of dtype {dtype} are not pixel values")


def _checked_rows(rows: np.ndarray, pixel_max: float, name: str) -> np.ndarray:
    """Check the values of rows (n, n_features): finite, within 0..pixel_max."""
    if rows.dtype.kind == "b":
        rows = rows.astype(np.uint8) * np.uint8(min(255, pixel_max))
    if rows.dtype.kind == "f" and not np.all(np.isfinite(rows)):
        raise InputError(f"{name}: the array holds NaN or infinite values")
    lo, hi = rows.min(), rows.max()
    if lo < 0 or hi > pixel_max:
        raise InputError(
            f"{name}: pixel values must lie in 0..{pixel_max:g} (the model's scale); "
            f"got {lo:g}..{hi:g}"
        )
    return np.ascontiguousarray(rows)


def load_npy_images(
    path: str | os.PathLike[str],
    *,
    image_shape: tuple[int, ...] = (28, 28),
    pixel_max: float = 255.0,
) -> np.ndarray:
    """Read MNIST-style images from a ``.npy`` file, checking its header before its payload.

    Parameters
    ----------
    path : path-like
        A NumPy ``.npy`` file holding an array of shape ``image_shape``, (n_features,),
        (n, \\*image_shape) or (n, n_features), e.g. (28, 28), (784,), (n, 28, 28), (n, 784).
    image_shape : tuple of int, default=(28, 28)
    pixel_max : float, default=255.0
        The model's pixel scale; values must lie in 0..pixel_max.

    Returns
    -------
    X : ndarray of shape (n, n_features)
        The file's dtype (bool becomes uint8 0/pixel_max).

    Raises
    ------
    InputError
        Missing file, object or structured arrays, wrong shape or dtype, values out of range.
    DataFormatError
        A malformed file: bad magic, version or header, truncated payload or trailing bytes.
    """
    path = Path(path)
    name = str(path)
    image_shape = tuple(image_shape)
    with open_regular_file(path, ".npy file") as stream:
        file_size = os.fstat(stream.fileno()).st_size
        dtype, fortran_order, shape, offset = read_npy_header(stream, name, what="pixel values")
        n_images, n_features = _rows_shape(shape, image_shape, name)
        expected = math.prod(shape) * dtype.itemsize
        present = file_size - offset
        if present != expected:
            problem = "truncated payload" if present < expected else "trailing bytes"
            raise bad_npy(
                name,
                f"{problem}: header {dtype.str} {shape} implies {expected} bytes, "
                f"the file holds {present}",
            )
        buffer, filled = read_exactly(stream, expected)  # expected == bytes present on disk
        if filled < expected:
            raise bad_npy(name, "truncated payload: the file shrank while reading")
    array: Any = np.frombuffer(buffer, dtype=dtype).reshape(
        shape, order="F" if fortran_order else "C"
    )
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return _checked_rows(array.reshape(n_images, n_features), pixel_max, name)


def load_idx_images(
    path: str | os.PathLike[str],
    *,
    image_shape: tuple[int, ...] = (28, 28),
    pixel_max: float = 255.0,
) -> np.ndarray:
    """Read MNIST-style images from an IDX file (plain or gzip), e.g. ``t10k-images-idx3-ubyte``.

    The header's shape is checked against ``image_shape`` before the payload is read.

    Parameters
    ----------
    path : path-like
    image_shape : tuple of int, default=(28, 28)
    pixel_max : float, default=255.0

    Returns
    -------
    X : ndarray of shape (n, n_features)

    Raises
    ------
    InputError
        Malformed file (see :func:`mnist_logreg.datasets.read_idx`), wrong shape, values out of
        range.
    """
    name = str(path)
    image_shape = tuple(image_shape)
    header = read_idx_header(path)
    _check_dtype(header.dtype, name)
    n_images, n_features = _rows_shape(header.shape, image_shape, name)
    array = read_idx(path)
    return _checked_rows(array.reshape(n_images, n_features), pixel_max, name)
