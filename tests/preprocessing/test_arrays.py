"""Tests of the array-file readers: .npy headers and IDX shapes checked before the payload."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_logreg.datasets import write_idx
from mnist_logreg.errors import DataFormatError, InputError
from mnist_logreg.preprocessing import load_digit_file, load_idx_images, load_npy_images


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npy_with_header(header: str, payload: bytes = b"", version: int = 1) -> bytes:
    text = header.encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(text)) + text + payload


def test_broken_26_byte_npy_is_named_in_one_line(tmp_path: Path) -> None:
    """Test that a 26-byte .npy with a broken header gives one DataFormatError line naming it."""
    path = tmp_path / "broken.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{broken header!!")
    assert path.stat().st_size == 26
    with pytest.raises(DataFormatError, match="not a Python dict literal") as info:
        load_npy_images(path)
    assert str(info.value).startswith(f"{path}: not a valid .npy array")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x93NUMPY\x01", "no .npy magic"),
        (b"\x93NUMPY\x04\x00\x00\x00", "unknown format version 4.0"),
        (b"\x93NUMPY\x01\x00\x50", "truncated header length"),
        (b"\x93NUMPY\x01\x00\x50\x00{}", "truncated header: 2 of 80 bytes"),
        (b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", "too long"),
        (_npy_with_header("{'descr': '<u1', 'shape': (784,)}"), "must be a dict of"),
        (_npy_with_header("{'descr': '<u1', 'fortran_order': 0, 'shape': (784,)}"), "True or"),
        (_npy_with_header("{'descr': '<q9', 'fortran_order': False, 'shape': (784,)}"), "dtype"),
        (_npy_with_header("{'descr': '<u1', 'fortran_order': False, 'shape': (-1,)}"), "shape"),
        (_npy_with_header("{'descr': '<u1', 'fortran_order': False, 'shape': [784]}"), "shape"),
        (_npy_with_header("{'descr': '<u1', 'fortran_order': False, 'shape': (True,)}"), "shape"),
        (_npy_with_header("(" * 3000 + ")" * 3000), "dict literal"),
        (_npy_with_header("{'descr': '\u00e9", version=3)[:-1] + b"\xff", "utf8 text"),
        (
            _npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (784,)}"),
            "truncated",
        ),
        (_npy_bytes(np.zeros(784, np.uint8)) + b"\x00", "1 trailing bytes|trailing bytes"),
    ],
)
def test_malformed_npy_files_raise_data_format_errors(
    data: bytes, message: str, tmp_path: Path
) -> None:
    """Test bad magic, versions, lengths, header dicts, truncation and trailing bytes."""
    path = tmp_path / "bad.npy"
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match=message) as info:
        load_npy_images(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_header_shape_is_checked_before_the_payload(tmp_path: Path) -> None:
    """Test that a wrong shape is refused from the header, even when the payload is missing."""
    path = tmp_path / "wrong.npy"
    path.write_bytes(_npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (5, 5)}"))
    with pytest.raises(InputError, match=r"got \(5, 5\)"):
        load_npy_images(path)


def test_huge_declared_npy_allocates_nothing(tmp_path: Path) -> None:
    """Test that a 100-byte file declaring 2**40 images is refused without allocating them."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 784)}"
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_with_header(header, b"\x00" * 16))
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match="truncated payload") as info:
            load_npy_images(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "implies 6896136929411072 bytes, the file holds 16" in str(info.value)
    assert peak < 1_000_000


def test_object_and_structured_npy_are_refused_unread(tmp_path: Path) -> None:
    """Test that object (pickle) and structured dtypes are refused from the header alone."""
    objects = tmp_path / "objects.npy"
    objects.write_bytes(
        _npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (784,)}", b"cos\n")
    )
    with pytest.raises(InputError, match="object arrays are refused"):
        load_npy_images(objects)
    structured = tmp_path / "structured.npy"
    structured.write_bytes(_npy_bytes(np.zeros(784, dtype=[("a", "u1")])))
    with pytest.raises(InputError, match="structured arrays are not pixel values"):
        load_npy_images(structured)


def test_fortran_order_big_endian_and_version_2_are_read(tmp_path: Path) -> None:
    """Test Fortran-ordered, big-endian and version 2.0 files: the values of the array saved."""
    values = (np.arange(2 * 784).reshape(2, 28, 28) % 251).astype(">i4")
    expected = values.astype(np.int32).reshape(2, 784)
    fortran = tmp_path / "fortran.npy"
    np.save(fortran, np.asfortranarray(values))
    rows = load_npy_images(fortran)
    assert rows.dtype == np.int32 and np.array_equal(rows, expected)
    data = _npy_bytes(values.astype("<u1"))
    (length,) = struct.unpack("<H", data[8:10])
    v2 = tmp_path / "v2.npy"
    v2.write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", length) + data[10:])
    assert np.array_equal(load_npy_images(v2), expected)


def test_idx_shape_is_checked_before_the_payload(tmp_path: Path) -> None:
    """Test that an IDX of the wrong image shape is refused from its header, payload unread."""
    path = tmp_path / "wrong-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 3, 27, 27) + b"\x00" * (3 * 27 * 27))
    with pytest.raises(InputError, match=r"got \(3, 27, 27\)"):
        load_idx_images(path)
    labels = write_idx(tmp_path / "labels-idx1-ubyte", np.zeros(784 * 2, np.uint8))
    with pytest.raises(InputError, match=r"got \(1568,\)"):
        load_idx_images(labels)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(
        [
            _npy_bytes(np.zeros((2, 28, 28), np.uint8)),
            _npy_bytes(np.ones(784, np.float32)),
            _npy_bytes(np.zeros((1, 784), ">i2")),
        ]
    ),
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 255), st.sampled_from("sid")), max_size=6
    ),
    cut=st.none() | st.integers(0, 300),
)
def test_mutated_npy_files_give_rows_or_our_error(
    tmp_path_factory: pytest.TempPathFactory, seed: bytes, edits: list, cut: int | None
) -> None:
    """Test (Hypothesis) that mutated .npy bytes give (n, 784) rows or one-line InputError."""
    data = bytearray(seed)
    for position, value, op in edits:
        position %= len(data) + 1
        if op == "s" and position < len(data):
            data[position] = value
        elif op == "i":
            data[position:position] = bytes([value])
        elif op == "d":
            del data[position : position + 1 + value % 8]
    if cut is not None:
        del data[cut:]
    path = tmp_path_factory.mktemp("fuzz", numbered=True) / "x.npy"
    path.write_bytes(bytes(data))
    try:
        rows = load_digit_file(path)
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert rows.ndim == 2 and rows.shape[1] == 784


def test_npy_reader_refuses_a_named_pipe_without_blocking(tmp_path: Path) -> None:
    """Test that a named pipe given as a .npy file is refused at once instead of blocking."""
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"\.npy file .*pipe\.npy is not a regular file"):
        load_npy_images(fifo)
    with pytest.raises(InputError, match=r"\.npy file .*missing\.npy does not exist"):
        load_npy_images(tmp_path / "missing.npy")
