"""Array files as model input: ``.npy`` and IDX files of already normalized images.

Both readers check the file's header before they read its payload, so memory is bounded by the
honest size of the file:

- ``.npy``: the header (magic, version 1.0/2.0/3.0, at most :data:`MAX_NPY_HEADER_BYTES` bytes of
  a Python dict literal with exactly ``descr``, ``fortran_order`` and ``shape``) is parsed here,
  never by :func:`numpy.load` and never unpickling anything. Only plain numeric dtypes (bool,
  integers, floats) are accepted; the shape must be one of the image shapes the model takes; the
  payload the header announces must be exactly the rest of the file. Only then is the payload
  read, into one buffer of that size.
- IDX: :func:`mnist_logreg.datasets.read_idx_header` gives the shape, which is checked against the
  model's image shape before :func:`mnist_logreg.datasets.read_idx` reads the payload (itself
  bounded by the file size, gzip bombs included).

The rows are then checked: finite values in 0..pixel_max. Every problem raises
:class:`~mnist_logreg.errors.InputError` (:class:`~mnist_logreg.errors.DataFormatError` for a
malformed file) with one line naming the file.
"""

from __future__ import annotations

import ast
import math
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from mnist_logreg.datasets import open_regular_file, read_exactly, read_idx, read_idx_header
from mnist_logreg.errors import DataFormatError, InputError

__all__ = ["MAX_NPY_HEADER_BYTES", "load_idx_images", "load_npy_images", "read_npy_header"]

#: Longest ``.npy`` header accepted (NumPy's own limit for untrusted files).
MAX_NPY_HEADER_BYTES = 10_000
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
# version -> (struct format of the header length, text encoding of the header)
_NPY_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
_NPY_KEYS = {"descr", "fortran_order", "shape"}


def _bad_npy(name: str, problem: str) -> DataFormatError:
    return DataFormatError(f"{name}: not a valid .npy array ({problem})")


def _read_exactly(stream: BinaryIO, n_bytes: int, name: str, what: str) -> bytes:
    data = stream.read(n_bytes)
    if len(data) < n_bytes:
        raise _bad_npy(name, f"truncated {what}: {len(data)} of {n_bytes} bytes")
    return data


def _parse_npy_dict(text: str, name: str) -> tuple[np.dtype, bool, tuple[int, ...]]:
    try:
        header = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise _bad_npy(name, "the header is not a Python dict literal") from None
    if not isinstance(header, dict) or set(header) != _NPY_KEYS:
        raise _bad_npy(name, "the header must be a dict of 'descr', 'fortran_order' and 'shape'")
    descr, fortran_order, shape = header["descr"], header["fortran_order"], header["shape"]
    if isinstance(descr, str) and descr.lstrip("<>|=").startswith("O"):
        raise InputError(f"{name}: object arrays are refused (nothing is ever unpickled)")
    if isinstance(descr, list):
        raise InputError(f"{name}: structured arrays are not pixel values")
    if not isinstance(descr, str) or len(descr) > 16:
        raise _bad_npy(name, f"unknown dtype {str(descr)[:40]!r}")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError, SyntaxError):
        raise _bad_npy(name, f"unknown dtype {descr!r}") from None
    if not isinstance(fortran_order, bool):
        raise _bad_npy(name, "'fortran_order' must be True or False")
    if (
        not isinstance(shape, tuple)
        or len(shape) > 32
        or not all(type(d) is int and 0 <= d < 2**63 for d in shape)
    ):
        raise _bad_npy(name, f"'shape' must be a tuple of sizes >= 0, got {str(shape)[:60]}")
    return dtype, fortran_order, shape


def read_npy_header(stream: BinaryIO, name: str) -> tuple[np.dtype, bool, tuple[int, ...], int]:
    """Read and check the header of a ``.npy`` file, leaving ``stream`` at its payload.

    Parameters
    ----------
    stream : binary file object
        Positioned at the start of the file.
    name : str
        How to name the file in error messages.

    Returns
    -------
    dtype : numpy.dtype
    fortran_order : bool
    shape : tuple of int
    offset : int
        Where the payload starts.

    Raises
    ------
    DataFormatError
        Not a ``.npy`` file, unknown version, header too long, truncated or not a valid dict.
    InputError
        An ``.npz`` archive, or an object or structured dtype.
    """
    magic = stream.read(8)
    if magic.startswith(_ZIP_MAGIC):
        raise InputError(f"{name}: expected one .npy array, got a zip (.npz) archive")
    if len(magic) < 8 or not magic.startswith(_NPY_MAGIC):
        raise _bad_npy(name, "no .npy magic number \\x93NUMPY + version")
    version = (magic[6], magic[7])
    if version not in _NPY_VERSIONS:
        raise _bad_npy(name, f"unknown format version {version[0]}.{version[1]}")
    length_format, encoding = _NPY_VERSIONS[version]
    size = struct.calcsize(length_format)
    (length,) = struct.unpack(length_format, _read_exactly(stream, size, name, "header length"))
    if length > MAX_NPY_HEADER_BYTES:
        raise _bad_npy(
            name, f"header of {length} bytes is too long (at most {MAX_NPY_HEADER_BYTES})"
        )
    raw = _read_exactly(stream, length, name, "header")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise _bad_npy(name, f"the header is not {encoding} text") from None
    dtype, fortran_order, shape = _parse_npy_dict(text, name)
    return dtype, fortran_order, shape, 8 + size + length


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
        dtype, fortran_order, shape, offset = read_npy_header(stream, name)
        _check_dtype(dtype, name)
        n_images, n_features = _rows_shape(shape, image_shape, name)
        expected = math.prod(shape) * dtype.itemsize
        present = file_size - offset
        if present != expected:
            problem = "truncated payload" if present < expected else "trailing bytes"
            raise _bad_npy(
                name,
                f"{problem}: header {dtype.str} {shape} implies {expected} bytes, "
                f"the file holds {present}",
            )
        buffer, filled = read_exactly(stream, expected)  # expected == bytes present on disk
        if filled < expected:
            raise _bad_npy(name, "truncated payload: the file shrank while reading")
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
