"""Tests of the one strict .npy reader: numpy's files decoded, hostile headers refused unread."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_logreg.datasets import parse_npy
from mnist_logreg.errors import DataFormatError, InputError


def _saved(array: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_numpy_files_are_decoded_in_native_c_order(version) -> None:
    """Test that big-endian, Fortran-ordered and unicode arrays come back equal, native, C."""
    values = np.asfortranarray(np.arange(12, dtype=">f8").reshape(3, 4) / 7)
    array = parse_npy(_saved(values, version), "a", kinds="f")
    assert array.dtype == np.float64 and array.dtype.isnative and array.flags.c_contiguous
    np.testing.assert_array_equal(array, values)
    labels = parse_npy(_saved(np.array(["7", "ten"]), version), "labels", kinds="U")
    assert labels.tolist() == ["7", "ten"]


def test_object_arrays_are_refused_without_unpickling() -> None:
    """Test that an object array's header is refused before its pickled payload is read."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"boom": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"^entry: object arrays are refused"):
        parse_npy(buffer.getvalue(), "entry")


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [
        (lambda d: d[:-8], DataFormatError, "holds 88 bytes of data, its header describes 96"),
        (lambda d: d + b"\0", DataFormatError, "holds 97 bytes of data"),
        (lambda d: b"PK\x03\x04" + d, InputError, "got a zip"),
        (lambda d: d[:7], DataFormatError, "no .npy magic"),
    ],
)
def test_sizes_and_magic_are_checked(mutate, error, message) -> None:
    """Test that a payload shorter or longer than its header says, or a wrong magic, is refused."""
    data = _saved(np.zeros(12))
    with pytest.raises(error, match=message):
        parse_npy(mutate(data), "scores")


def test_dtype_kinds_name_what_is_expected() -> None:
    """Test that a dtype kind outside ``kinds`` is refused naming the array and what it holds."""
    with pytest.raises(DataFormatError, match=r"^s: arrays of dtype int64 are not scores$"):
        parse_npy(_saved(np.zeros(3, dtype=np.int64)), "s", kinds="f", what="scores")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), cut=st.integers(0, 200))
def test_fuzz_bytes_are_decoded_or_refused_in_one_line(data, cut) -> None:
    """Test that arbitrary or mutated bytes give an array or a one-line InputError naming x."""
    good = _saved(np.arange(6, dtype="<i4").reshape(2, 3))
    for candidate in (data, good[:cut] + data[: len(good) - cut]):
        try:
            array = parse_npy(candidate, "x")
        except InputError as exc:  # DataFormatError included
            assert "\n" not in str(exc) and str(exc).startswith("x: ")
        else:
            assert array.dtype.kind in "biuf"
