"""The ``.npy`` format, read strictly: the package's one reader of NumPy array files and entries.

The header (magic, version 1.0/2.0/3.0, at most :data:`MAX_NPY_HEADER_BYTES` bytes of a Python
dict literal with exactly ``descr``, ``fortran_order`` and ``shape``) is parsed with
:func:`ast.literal_eval`, never by :func:`numpy.load`, so nothing is ever unpickled or executed.
Object and structured dtypes are refused from the header alone, before any payload is touched;
the caller names the dtype kinds it accepts. Used for user files (``predict``'s ``.npy`` images),
model files (:mod:`mnist_logreg.persistence`) and the study's checkpointed score arrays.
"""

from __future__ import annotations

import ast
import io
import math
import struct
from typing import BinaryIO

import numpy as np

from mnist_logreg.errors import DataFormatError, InputError

__all__ = ["MAX_NPY_HEADER_BYTES", "bad_npy", "parse_npy", "read_npy_header"]

#: Longest ``.npy`` header accepted (NumPy's own limit for untrusted files).
MAX_NPY_HEADER_BYTES = 10_000
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
# version -> (struct format of the header length, text encoding of the header)
_NPY_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
_NPY_KEYS = {"descr", "fortran_order", "shape"}


def bad_npy(name: str, problem: str) -> DataFormatError:
    """Error for a bad ``.npy`` array: ``"<name>: not a valid .npy array (<problem>)"``."""
    return DataFormatError(f"{name}: not a valid .npy array ({problem})")


def _read_exactly(stream: BinaryIO, n_bytes: int, name: str, what: str) -> bytes:
    data = stream.read(n_bytes)
    if len(data) < n_bytes:
        raise bad_npy(name, f"truncated {what}: {len(data)} of {n_bytes} bytes")
    return data


def _parse_npy_dict(
    text: str, name: str, kinds: str, what: str
) -> tuple[np.dtype, bool, tuple[int, ...]]:
    try:
        header = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise bad_npy(name, "the header is not a Python dict literal") from None
    if not isinstance(header, dict) or set(header) != _NPY_KEYS:
        raise bad_npy(name, "the header must be a dict of 'descr', 'fortran_order' and 'shape'")
    descr, fortran_order, shape = header["descr"], header["fortran_order"], header["shape"]
    if isinstance(descr, str) and descr.lstrip("<>|=").startswith("O"):
        raise DataFormatError(
            f"{name}: object arrays are refused (object or structured arrays are never unpickled)"
        )
    if isinstance(descr, list):
        raise DataFormatError(f"{name}: structured arrays are not {what}")
    if not isinstance(descr, str) or len(descr) > 16:
        raise bad_npy(name, f"unknown dtype {str(descr)[:40]!r}")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError, SyntaxError):
        raise bad_npy(name, f"unknown dtype {descr!r}") from None
    if not isinstance(fortran_order, bool):
        raise bad_npy(name, "'fortran_order' must be True or False")
    if (
        not isinstance(shape, tuple)
        or len(shape) > 32
        or not all(type(d) is int and 0 <= d < 2**63 for d in shape)
    ):
        raise bad_npy(name, f"'shape' must be a tuple of sizes >= 0, got {str(shape)[:60]}")
    if (
        dtype.kind not in kinds
        or dtype.itemsize == 0
        or (dtype.kind != "U" and dtype.itemsize > 8)
    ):
        raise DataFormatError(f"{name}: arrays of dtype {dtype} are not {what}")
    return dtype, fortran_order, shape


def read_npy_header(
    stream: BinaryIO, name: str, *, kinds: str = "biuf", what: str = "accepted here"
) -> tuple[np.dtype, bool, tuple[int, ...], int]:
    """Read and check the header of a ``.npy`` file, leaving ``stream`` at its payload.

    Parameters
    ----------
    stream : binary file object
        Positioned at the start of the file.
    name : str
        How to name the file in error messages.
    kinds : str, default="biuf"
        The dtype kinds accepted (``numpy.dtype.kind``: bool, signed, unsigned, float, ``"U"``).
    what : str, default="accepted here"
        What the array should hold, for the messages ("structured arrays are not <what>").

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
        Not a ``.npy`` file, unknown version, header too long, truncated or not a valid dict; an
        object or structured dtype, or a dtype kind not in ``kinds``.
    InputError
        An ``.npz`` archive.
    """
    magic = stream.read(8)
    if magic.startswith(_ZIP_MAGIC):
        raise InputError(f"{name}: expected one .npy array, got a zip (.npz) archive")
    if len(magic) < 8 or not magic.startswith(_NPY_MAGIC):
        raise bad_npy(name, "no .npy magic number \\x93NUMPY + version")
    version = (magic[6], magic[7])
    if version not in _NPY_VERSIONS:
        raise bad_npy(name, f"unknown format version {version[0]}.{version[1]}")
    length_format, encoding = _NPY_VERSIONS[version]
    size = struct.calcsize(length_format)
    (length,) = struct.unpack(length_format, _read_exactly(stream, size, name, "header length"))
    if length > MAX_NPY_HEADER_BYTES:
        raise bad_npy(
            name, f"header of {length} bytes is too long (at most {MAX_NPY_HEADER_BYTES})"
        )
    raw = _read_exactly(stream, length, name, "header")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise bad_npy(name, f"the header is not {encoding} text") from None
    dtype, fortran_order, shape = _parse_npy_dict(text, name, kinds, what)
    return dtype, fortran_order, shape, 8 + size + length


def parse_npy(
    data: bytes, name: str, *, kinds: str = "biuf", what: str = "accepted here"
) -> np.ndarray:
    """Decode a whole ``.npy`` file held in memory: :func:`read_npy_header` (same parameters and
    errors), then a payload of exactly the size the header describes, returned as a C-ordered
    copy in native byte order.
    """
    dtype, fortran_order, shape, offset = read_npy_header(
        io.BytesIO(data), name, kinds=kinds, what=what
    )
    count = math.prod(shape)
    if len(data) - offset != count * dtype.itemsize:
        raise bad_npy(
            name,
            f"holds {len(data) - offset} bytes of data, its header describes "
            f"{count * dtype.itemsize} ({dtype}, shape {shape})",
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    array = flat.reshape(shape, order="F" if fortran_order else "C")
    return np.array(array, dtype=dtype.newbyteorder("="), order="C")
