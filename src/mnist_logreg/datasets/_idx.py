"""Reading and writing IDX files, plain or gzip-compressed.

The IDX format (Y. LeCun's MNIST distribution format) is::

    bytes 0-1   0x00 0x00                   magic: two zero bytes
    byte  2     type code                   0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                            0x0D float32, 0x0E float64
    byte  3     ndim                        number of dimensions, >= 1
    4 * ndim    dimension sizes             unsigned 32-bit, big-endian
    payload     prod(dims) * itemsize bytes the values, big-endian, C order

Safety rules of the reader:

- the file (or its decompressed stream) must hold exactly the payload the header announces; a
  truncated payload and trailing bytes are both errors;
- nothing is allocated from the header alone. The header is read first (from the gzip stream for a
  gzip file) and its payload size ``prod(dims) * itemsize`` is checked against the file:

  * plain file: the payload must equal the file size minus the header, checked before the payload
    buffer is created;
  * gzip file: the declared payload may be at most :data:`MAX_GZIP_RATIO` (64) times the
    compressed file size, or :data:`GZIP_FREE_BYTES` (64 MiB) whatever the ratio. Real images
    compress 2 to 10 times (MNIST: 4.8); deflate itself cannot exceed 1032. A larger promise is
    refused as a likely gzip bomb before anything is decompressed (decompress such a file with
    ``gunzip``: a plain file's size is checked exactly). The stream is then decompressed in chunks,
    never more than the header plus the declared payload plus one byte;

- every problem raises :class:`~mnist_logreg.errors.DataFormatError` with one line naming the file.

Gzip is detected from the first two bytes (``1f 8b``), not from the file name; an IDX file always
starts with two zero bytes, so the two cannot be confused.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnist_logreg.atomic import atomic_open
from mnist_logreg.datasets._files import open_regular_file, read_exactly
from mnist_logreg.errors import DataFormatError, InputError, MnistLogregError

logger = logging.getLogger(__name__)

__all__ = [
    "GZIP_FREE_BYTES",
    "IDX_TYPES",
    "MAX_GZIP_RATIO",
    "MAX_NDIM",
    "IdxHeader",
    "read_idx",
    "read_idx_header",
    "write_idx",
]

#: IDX type code -> big-endian numpy dtype.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_BY_KIND: dict[tuple[str, int], int] = {
    (dtype.kind, dtype.itemsize): code for code, dtype in IDX_TYPES.items()
}
_TYPE_NAMES = ", ".join(
    f"0x{code:02X} {np.dtype(dtype).newbyteorder('=').name}" for code, dtype in IDX_TYPES.items()
)

#: Largest number of dimensions accepted. The format allows 255; real files use 1 to 4.
MAX_NDIM = 32
#: Largest accepted ratio of a gzip file's declared payload to its compressed size, above
#: :data:`GZIP_FREE_BYTES` (deflate's own limit is 1032: a run of 258 bytes in about 2 bits).
MAX_GZIP_RATIO = 64
#: Declared gzip payloads up to this many bytes are accepted whatever the ratio (64 MiB).
GZIP_FREE_BYTES = 64 * 2**20
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_EXTENT = 2**62
_CHUNK = 1 << 20


@dataclass(frozen=True)
class IdxHeader:
    """The header of an IDX file.

    Attributes
    ----------
    dtype : numpy.dtype
        Native-endian dtype of the values (what :func:`read_idx` returns).
    shape : tuple of int
        The dimensions, e.g. ``(60000, 28, 28)``.
    header_bytes : int
        Length of the header, ``4 + 4 * ndim``.
    compressed : bool
        Whether the file is gzip-compressed.
    """

    dtype: np.dtype
    shape: tuple[int, ...]
    header_bytes: int
    compressed: bool

    @property
    def payload_bytes(self) -> int:
        """Number of payload bytes the header announces, ``prod(shape) * itemsize``."""
        return math.prod(self.shape) * self.dtype.itemsize


def _bad(path: Path, problem: str) -> DataFormatError:
    return DataFormatError(f"invalid IDX file {path}: {problem}")


def _read_upto(stream: BinaryIO, n_bytes: int) -> bytes:
    """Read up to ``n_bytes`` (small) bytes, fewer only at end of stream."""
    parts = []
    while n_bytes > 0:
        chunk = stream.read(n_bytes)
        if not chunk:
            break
        parts.append(chunk)
        n_bytes -= len(chunk)
    return b"".join(parts)


def _parse_header(stream: BinaryIO, path: Path, compressed: bool) -> IdxHeader:
    magic = _read_upto(stream, 4)
    if len(magic) < 4:
        raise _bad(path, f"truncated header: {len(magic)} of the 4 magic-number bytes")
    if magic[0] != 0 or magic[1] != 0:
        raise _bad(
            path,
            f"bad magic number 0x{magic.hex().upper()} (an IDX file starts with two zero bytes)",
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        raise _bad(path, f"unknown type code 0x{code:02X} (known: {_TYPE_NAMES})")
    if ndim == 0 or ndim > MAX_NDIM:
        raise _bad(path, f"number of dimensions is {ndim}; expected 1 to {MAX_NDIM}")
    dims_bytes = _read_upto(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise _bad(
            path,
            f"truncated header: {len(dims_bytes)} of the {4 * ndim} bytes of {ndim} dimensions",
        )
    shape = tuple(int(d) for d in struct.unpack(f">{ndim}I", dims_bytes))
    # numpy refuses shapes whose non-zero sizes multiply past 2**63 bytes, even with a zero size
    if math.prod(d for d in shape if d) * IDX_TYPES[code].itemsize >= _MAX_EXTENT:
        raise _bad(path, f"dimensions {shape} are too large for any array (2**62 bytes or more)")
    return IdxHeader(
        dtype=IDX_TYPES[code].newbyteorder("="),
        shape=shape,
        header_bytes=4 + 4 * ndim,
        compressed=compressed,
    )


def _describe(header: IdxHeader) -> str:
    return f"header {header.dtype.name} {header.shape} implies {header.payload_bytes} payload bytes"


def _check_plain_size(path: Path, header: IdxHeader, file_size: int) -> None:
    """Check that a plain file holds exactly the payload its header announces."""
    expected = header.payload_bytes
    actual = file_size - header.header_bytes
    if actual < expected:
        raise _bad(path, f"truncated payload: {_describe(header)}, the file has {actual}")
    if actual > expected:
        raise _bad(path, f"{actual - expected} trailing bytes: {_describe(header)}, got {actual}")


def _check_gzip_size(path: Path, header: IdxHeader, gz_size: int) -> None:
    """Refuse a declared payload a ``gz_size``-byte gzip file cannot honestly hold."""
    expected = header.payload_bytes
    if expected <= GZIP_FREE_BYTES or expected <= MAX_GZIP_RATIO * gz_size:
        return
    raise _bad(
        path,
        f"{_describe(header)}, {expected / max(gz_size, 1):.0f} times the {gz_size}-byte gzip "
        f"file; above {GZIP_FREE_BYTES // 2**20} MiB at most {MAX_GZIP_RATIO} times is accepted "
        "(likely a gzip bomb or a forged header; gunzip a genuine file and read it plain)",
    )


def _read_plain_payload(stream: BinaryIO, path: Path, header: IdxHeader) -> bytearray:
    """Read the payload of a plain file (its size already checked against the file size)."""
    buffer, filled = read_exactly(stream, header.payload_bytes)
    if filled < header.payload_bytes:
        raise _bad(path, f"truncated payload: the file shrank while reading ({filled} bytes)")
    return buffer


def _read_gzip_payload(stream: BinaryIO, path: Path, header: IdxHeader) -> bytearray:
    """Read a gzip payload in chunks, never more than the header's size plus one byte."""
    expected = header.payload_bytes
    buffer = bytearray()
    remaining = expected + 1
    while remaining > 0:
        chunk = stream.read(min(_CHUNK, remaining))
        if not chunk:
            break
        buffer += chunk
        remaining -= len(chunk)
    if len(buffer) < expected:
        raise _bad(path, f"truncated payload: {_describe(header)}, the stream holds {len(buffer)}")
    if len(buffer) > expected:
        raise _bad(path, f"trailing bytes: {_describe(header)}, the stream holds more")
    return buffer


def _read(path: Path, header_only: bool) -> tuple[IdxHeader, bytearray | None]:
    with open_regular_file(path, "IDX file") as raw:
        try:
            file_size = os.fstat(raw.fileno()).st_size
            compressed = _read_upto(raw, 2) == _GZIP_MAGIC
            raw.seek(0)
        except OSError as exc:  # e.g. a FIFO or a device that cannot seek
            raise InputError(f"cannot read IDX file {path}: {exc.strerror or exc}") from None
        if not compressed:
            header = _parse_header(raw, path, compressed=False)
            _check_plain_size(path, header, file_size)
            if header_only:
                return header, None
            return header, _read_plain_payload(raw, path, header)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                header = _parse_header(stream, path, compressed=True)  # type: ignore[arg-type]
                _check_gzip_size(path, header, file_size)
                if header_only:
                    return header, None
                payload = _read_gzip_payload(stream, path, header)  # type: ignore[arg-type]
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise _bad(path, f"corrupted gzip stream ({message})") from None
        return header, payload


def read_idx_header(path: str | os.PathLike[str]) -> IdxHeader:
    """Read and validate only the header of an IDX file.

    Parameters
    ----------
    path : str or path-like
        A plain or gzip-compressed IDX file.

    Returns
    -------
    header : IdxHeader
        Its dtype, shape, header length and compression. The payload size is checked as far as
        it can be without decompressing: exactly against the size of a plain file, against the
        gzip cap (:data:`MAX_GZIP_RATIO`, :data:`GZIP_FREE_BYTES`) for a gzip file.

    Raises
    ------
    InputError
        If the file does not exist or cannot be opened.
    DataFormatError
        If the header is malformed or announces more than the file can hold.
    """
    header, _ = _read(Path(path), header_only=True)
    return header


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from its first bytes, not its name.

    Returns
    -------
    array : ndarray of shape header dimensions, e.g. (60000, 28, 28)
        Native-endian, C-contiguous, writable; dtype uint8, int8, int16, int32, float32 or
        float64 according to the type code.

    Raises
    ------
    InputError
        If the file does not exist or cannot be opened.
    MnistLogregError
        If the payload does not fit in memory (the message names the file).
    DataFormatError
        If the file is malformed: truncated header or payload, trailing bytes, bad magic number,
        unknown type code, number of dimensions 0 or above :data:`MAX_NDIM`, a gzip file whose
        header promises more than the cap (see the module docstring), or a corrupted gzip
        stream. The message names the file and the problem.
    """
    path = Path(path)
    try:
        header, payload = _read(path, header_only=False)
    except MemoryError:
        raise MnistLogregError(f"not enough memory to read IDX file {path}") from None
    big_endian = header.dtype.newbyteorder(">")
    array = np.frombuffer(payload, dtype=big_endian).reshape(header.shape)  # type: ignore[arg-type]
    if big_endian != header.dtype:  # a little-endian machine: swap the bytes in place, no copy
        array = array.byteswap(inplace=True).view(header.dtype)
    logger.debug("read %s: %s %s", path, header.dtype.name, header.shape)
    return array


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write an array to an IDX file atomically (temporary file, then rename).

    Parameters
    ----------
    path : str or path-like
        Destination. A name ending in ``.gz`` is written gzip-compressed, any other plain.
    array : array-like of shape (d0, d1, ...), 1 to :data:`MAX_NDIM` dimensions
        Values of dtype uint8, int8, int16, int32, float32 or float64 (any byte order). Other
        dtypes are refused rather than silently cast: cast first, e.g. ``y.astype(np.uint8)``.

    Returns
    -------
    path : Path
        The written file.

    Raises
    ------
    InputError
        If the dtype has no IDX type code, the number of dimensions is 0 or above
        :data:`MAX_NDIM`, a dimension does not fit in 32 bits, or the folder does not exist.
    """
    path = Path(path)
    values = np.asarray(array)
    code = _CODE_BY_KIND.get((values.dtype.kind, values.dtype.itemsize))
    if code is None or values.dtype.kind not in "uif":
        raise InputError(
            f"cannot write {path}: dtype {values.dtype} has no IDX type code (IDX types: "
            f"{_TYPE_NAMES}); cast the array first"
        )
    if not 1 <= values.ndim <= MAX_NDIM:
        raise InputError(
            f"cannot write {path}: an IDX array needs 1 to {MAX_NDIM} dimensions, "
            f"got shape {values.shape}"
        )
    if any(d >= 2**32 for d in values.shape):
        raise InputError(f"cannot write {path}: dimension of shape {values.shape} exceeds 2**32-1")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist")
    header = bytes([0, 0, code, values.ndim]) + struct.pack(f">{values.ndim}I", *values.shape)
    payload = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder(">")).reshape(-1)
    payload_bytes = payload.view(np.uint8)

    with atomic_open(path) as raw:
        if path.suffix == ".gz":
            with gzip.GzipFile(
                filename=path.stem, mode="wb", fileobj=raw, compresslevel=6, mtime=0
            ) as stream:
                stream.write(header)
                stream.write(payload_bytes.data)
        else:
            raw.write(header)
            raw.write(payload_bytes.data)
    logger.debug("wrote %s: %s %s", path, values.dtype.name, values.shape)
    return path
