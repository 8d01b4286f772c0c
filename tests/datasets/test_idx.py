"""Tests of the IDX reader and writer: round trips and every malformed file."""

from __future__ import annotations

import gzip
import os
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mnist_logreg.datasets import (
    GZIP_FREE_BYTES,
    MAX_GZIP_RATIO,
    read_idx,
    read_idx_header,
    write_idx,
)
from mnist_logreg.errors import DataFormatError, InputError, MnistLogregError

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
TYPE_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def _header(code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def _write_bytes(path: Path, data: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def _valid_bytes() -> bytes:
    values = np.arange(24, dtype=">i2").reshape(2, 3, 4)
    return _header(0x0B, (2, 3, 4)) + values.tobytes()


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    assert a.dtype == b.dtype.newbyteorder("=")
    assert (
        a.astype(a.dtype.newbyteorder(">")).tobytes()
        == b.astype(b.dtype.newbyteorder(">")).tobytes()
    )


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_every_type(tmp_path: Path, dtype: type, suffix: str) -> None:
    """Test that write_idx then read_idx gives back the array for every IDX type, plain and gz."""
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
    values = rng.uniform(info.min / 2, info.max / 2, size=(5, 3, 2)).astype(dtype)
    path = write_idx(tmp_path / f"a{suffix}", values)
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    assert result.flags.c_contiguous and result.flags.writeable
    np.testing.assert_array_equal(result, values)
    raw = path.read_bytes()
    raw = gzip.decompress(raw) if suffix else raw
    assert raw[:4] == bytes([0, 0, TYPE_CODES[dtype], 3])
    header = read_idx_header(path)
    assert header.shape == (5, 3, 2) and header.compressed == (suffix == ".gz")
    assert header.payload_bytes == values.nbytes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=hnp.arrays(
        dtype=st.sampled_from(
            [np.dtype(d).newbyteorder(order) for d in IDX_DTYPES for order in "<>"]
        ),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    compress=st.booleans(),
)
def test_round_trip_hypothesis(
    tmp_path_factory: pytest.TempPathFactory, values: np.ndarray, compress: bool
) -> None:
    """Test that any shape and value (NaN, inf, any byte order) survives a write/read round trip."""
    folder = tmp_path_factory.mktemp("rt")
    path = write_idx(folder / ("x.idx.gz" if compress else "x.idx"), values)
    _assert_same(read_idx(path), values)


def test_gzip_is_detected_by_magic_bytes_not_name(tmp_path: Path) -> None:
    """Test that a gzip file without .gz and a plain file named .gz both read correctly."""
    values = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", values)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    (tmp_path / "a.gz").rename(tmp_path / "compressed-without-suffix")
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed-without-suffix"), values)
    write_idx(tmp_path / "plain", values)
    (tmp_path / "plain").rename(tmp_path / "plain.gz")
    assert read_idx_header(tmp_path / "plain.gz").compressed is False
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), values)


def test_writer_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """Test that the writer replaces the file whole and leaves only the target in the folder."""
    write_idx(tmp_path / "x", np.zeros(3, np.uint8))
    write_idx(tmp_path / "x", np.ones((2, 2), np.int32))
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), np.ones((2, 2), np.int32))


def test_writer_cleans_up_after_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that a failure while writing leaves neither a temporary nor a partial file."""

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("mnist_logreg.datasets._idx.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.zeros(3, np.int64), "dtype int64 has no IDX type code"),
        (np.zeros(3, np.uint16), "dtype uint16 has no IDX type code"),
        (np.zeros(3, bool), "dtype bool has no IDX type code"),
        (np.zeros(3, np.complex64), "dtype complex64 has no IDX type code"),
        (np.uint8(3), r"needs 1 to 32 dimensions, got shape \(\)"),
    ],
)
def test_writer_refuses_what_idx_cannot_hold(
    tmp_path: Path, values: np.ndarray, match: str
) -> None:
    """Test that the writer refuses dtypes without a type code and 0-d arrays, naming the file."""
    with pytest.raises(InputError, match=match) as info:
        write_idx(tmp_path / "x", values)
    assert str(tmp_path / "x") in str(info.value)


def test_writer_refuses_a_missing_folder(tmp_path: Path) -> None:
    """Test that writing into a folder that does not exist names the folder."""
    with pytest.raises(InputError, match="does not exist") as info:
        write_idx(tmp_path / "nope" / "x", np.zeros(2, np.uint8))
    assert str(tmp_path / "nope") in str(info.value)


def test_reader_refuses_missing_file_and_folder(tmp_path: Path) -> None:
    """Test that a missing file and a folder given as file raise InputError naming them."""
    with pytest.raises(InputError, match="does not exist") as info:
        read_idx(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(info.value)
    with pytest.raises(InputError, match="is a folder"):
        read_idx(tmp_path)


# ----------------------------------------------------------------------------- malformed files

MALFORMED = {
    "empty file": (b"", "truncated header: 0 of the 4 magic-number bytes"),
    "half magic": (b"\x00\x00", "truncated header: 2 of the 4 magic-number bytes"),
    "truncated dimensions": (
        bytes([0, 0, 8, 3]) + struct.pack(">I", 2) + b"\x00\x00",
        "truncated header: 6 of the 12 bytes of 3 dimensions",
    ),
    "bad magic": (b"PK\x03\x04" + bytes(20), "bad magic number 0x504B0304"),
    "bad magic one byte": (bytes([0, 1, 8, 1, 0, 0, 0, 1, 7]), "bad magic number"),
    "unknown type code": (_header(0x0A, (1,)) + b"\x00", "unknown type code 0x0A"),
    "ndim zero": (bytes([0, 0, 8, 0]), "number of dimensions is 0"),
    "ndim absurd": (bytes([0, 0, 8, 200]) + bytes(800), "number of dimensions is 200"),
    "truncated payload": (_header(0x08, (2, 3)) + bytes(5), "truncated payload"),
    "truncated float payload": (_header(0x0E, (2,)) + bytes(15), "truncated payload"),
    "trailing bytes": (_header(0x08, (2, 3)) + bytes(7), "1 trailing bytes"),
    "dimension payload mismatch": (_header(0x0C, (4, 4)) + bytes(16), "truncated payload"),
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_raises_one_line_naming_file(
    tmp_path: Path, case: str, compress: bool
) -> None:
    """Test that each malformed IDX file raises DataFormatError naming the file and the problem."""
    data, problem = MALFORMED[case]
    path = _write_bytes(tmp_path / "bad-file", data, compress)
    with pytest.raises(DataFormatError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    if compress and "trailing" in problem:
        problem = "trailing bytes"
    assert problem in message


@pytest.mark.parametrize(
    ("compress", "problem"),
    [(False, "truncated payload"), (True, "likely a gzip bomb")],
    ids=["plain", "gz"],
)
def test_forged_huge_header_does_not_allocate(tmp_path: Path, compress: bool, problem: str) -> None:
    """Test that a header claiming 10**12 elements in a 100-byte file fails small, at the header."""
    data = _header(0x08, (1_000_000, 1_000_000)) + bytes(88)
    path = _write_bytes(tmp_path / "forged", data, compress)
    with pytest.raises(DataFormatError, match=problem):
        read_idx_header(path)
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match=problem) as info:
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    assert str(path) in str(info.value) and "1000000000000 payload bytes" in str(info.value)


def test_forged_gzip_header_within_deflate_ratio_reads_only_real_data(tmp_path: Path) -> None:
    """Test that a gzip header claiming more than the stream holds allocates only the real bytes."""
    data = _header(0x0E, (1_000_000,)) + bytes(1000)  # claims 8 MB, holds 1 kB
    path = _write_bytes(tmp_path / "forged.gz", data + bytes(20_000), compress=True)
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match="truncated payload"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_gzip_bomb_is_read_only_up_to_the_header_size(tmp_path: Path) -> None:
    """Test that a small header followed by a huge stream is refused after a bounded read."""
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    path = tmp_path / "bomb.gz"
    with path.open("wb") as out:
        out.write(bomb.compress(_header(0x08, (100,))))
        block = bytes(2**20)
        for _ in range(64):  # 64 MiB of zeros after a 100-byte payload
            out.write(bomb.compress(block))
        out.write(bomb.flush())
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match="trailing bytes"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda gz: gz[: len(gz) // 2], id="truncated stream"),
        pytest.param(lambda gz: gz[:-8] + b"\x00" * 8, id="wrong crc and size"),
        pytest.param(
            lambda gz: gz[:12] + bytes(b ^ 0xFF for b in gz[12:20]) + gz[20:], id="bad deflate"
        ),
        pytest.param(lambda gz: gz[:2] + b"\x07" + gz[3:], id="bad method"),
        pytest.param(lambda gz: gz + b"garbage!", id="garbage after member"),
        pytest.param(lambda gz: gz[:3], id="header only"),
    ],
)
def test_corrupted_gzip_raises_data_format_error(tmp_path: Path, corrupt: object) -> None:
    """Test that a corrupted gzip stream raises DataFormatError naming the file."""
    gz = gzip.compress(_valid_bytes(), mtime=0)
    path = tmp_path / "corrupt.gz"
    path.write_bytes(corrupt(gz))  # type: ignore[operator]
    with pytest.raises(DataFormatError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_header_reader_checks_only_the_header(tmp_path: Path) -> None:
    """Test that read_idx_header reports dtype and shape and rejects a bad header."""
    path = _write_bytes(tmp_path / "h", _valid_bytes())
    header = read_idx_header(path)
    assert (header.dtype, header.shape, header.header_bytes) == (np.dtype(np.int16), (2, 3, 4), 16)
    bad = _write_bytes(tmp_path / "bad", b"\x00\x00\x08")
    with pytest.raises(DataFormatError, match="truncated header"):
        read_idx_header(bad)


# ----------------------------------------------------------------------------- fuzzing

_VALID = _valid_bytes()
_VALID_GZ = gzip.compress(_VALID, mtime=0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    compressed=st.booleans(),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
    tail=st.binary(max_size=8),
)
def test_random_corruption_loads_or_raises_data_format_error(
    tmp_path_factory: pytest.TempPathFactory,
    compressed: bool,
    flips: list[tuple[int, int]],
    cut: int | None,
    tail: bytes,
) -> None:
    """Test that byte flips, truncation or appended bytes give an array or DataFormatError."""
    data = bytearray(_VALID_GZ if compressed else _VALID)
    for position, mask in flips:
        data[position % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    data += tail
    path = tmp_path_factory.mktemp("fuzz") / "f"
    path.write_bytes(bytes(data))
    try:
        array = read_idx(path)
    except DataFormatError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        header = read_idx_header(path)
        assert array.shape == header.shape and array.dtype == header.dtype
        assert array.nbytes == header.payload_bytes


# ----------------------------------------------------------------------------- size caps


def test_gzip_cap_refuses_an_honest_bomb_above_64_mib_before_decompressing(tmp_path: Path) -> None:
    """Test that 65 MiB of zeros in a 65 kB gzip (ratio ~1000) is refused at the header, small."""
    path = tmp_path / "bomb.gz"
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        out.write(bomb.compress(_header(0x08, (65, 2**20))))
        for _ in range(65):
            out.write(bomb.compress(bytes(2**20)))
        out.write(bomb.flush())
    assert path.stat().st_size < 2**20 and GZIP_FREE_BYTES == 64 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match="likely a gzip bomb") as info:
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    assert f"at most {MAX_GZIP_RATIO} times" in str(info.value)


def test_gzip_cap_accepts_highly_compressible_data_up_to_64_mib(tmp_path: Path) -> None:
    """Test that 4 MiB of zeros (ratio ~1000, under the 64 MiB allowance) reads back whole."""
    values = np.zeros((4, 1024, 1024), np.uint8)
    values[3, 1023, 1023] = 7
    path = write_idx(tmp_path / "zeros.gz", values)
    assert values.nbytes > MAX_GZIP_RATIO * path.stat().st_size
    result = read_idx(path)
    assert result.shape == (4, 1024, 1024) and int(result.sum()) == 7


def test_gzip_within_the_ratio_reads_above_64_mib_declared(tmp_path: Path) -> None:
    """Test that the cap is a ratio above 64 MiB: a header at 64x the file passes the check."""
    path = _write_bytes(tmp_path / "h.gz", _header(0x08, (2**26 + 1,)), compress=True)
    size = path.stat().st_size
    # pad the file so the declared payload is within 64x of it: trailing zeros after a gzip
    # member are ignored by the decompressor
    path.write_bytes(path.read_bytes() + bytes((2**26 + 1) // MAX_GZIP_RATIO + 1 - size))
    header = read_idx_header(path)
    assert header.payload_bytes == 2**26 + 1
    with pytest.raises(DataFormatError, match="truncated payload"):
        read_idx(path)


def test_reader_refuses_a_fifo(tmp_path: Path) -> None:
    """Test that a named pipe is refused at once (opening it would block) naming the path."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is not a regular file") as info:
        read_idx(fifo)
    assert str(fifo) in str(info.value)


# ----------------------------------------------------------------------------- fuzzing the header

_SAMPLES = [
    _valid_bytes(),
    _header(0x08, (3, 2, 2)) + bytes(range(12)),
    _header(0x0C, (4,)) + np.array([0, 1, 2**31 - 1, -(2**31)], ">i4").tobytes(),
    _header(0x0D, (2, 2)) + np.array([0.5, np.inf, np.nan, -1], ">f4").tobytes(),
    _header(0x0E, (1, 1, 1)) + np.array([1e308], ">f8").tobytes(),
]
_EXTREME_DIMS = [0, 1, 2, 255, 256, 2**16, 2**24, 2**31 - 1, 2**31, 2**32 - 1]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(_SAMPLES),
    compressed=st.booleans(),
    code=st.one_of(st.none(), st.integers(0, 255)),
    dims=st.one_of(
        st.none(), st.lists(st.sampled_from(_EXTREME_DIMS) | st.integers(0, 8), max_size=5)
    ),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 400), st.integers(1, 255)
        ),
        max_size=4,
    ),
    cut=st.one_of(st.none(), st.integers(0, 400)),
)
def test_mutated_headers_and_bytes_give_an_array_or_one_line_error(
    tmp_path_factory: pytest.TempPathFactory,
    sample: bytes,
    compressed: bool,
    code: int | None,
    dims: list[int] | None,
    edits: list[tuple[str, int, int]],
    cut: int | None,
) -> None:
    """Test that rewritten headers and edited bytes, raw or gzipped, give an array or our error."""
    data = bytearray(sample)
    if code is not None:
        data[2] = code
    if dims is not None:
        data = bytearray(data[:3]) + bytes([len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
        data += sample[4 + 4 * sample[3] :]
    for kind, position, value in edits:
        position %= len(data) + 1
        if kind == "flip" and position < len(data):
            data[position] ^= value
        elif kind == "insert":
            data[position:position] = bytes([value])
        elif position < len(data):
            del data[position]
    if cut is not None:
        data = data[:cut]
    blob = gzip.compress(bytes(data), mtime=0) if compressed else bytes(data)
    path = tmp_path_factory.mktemp("fuzz") / "f"
    path.write_bytes(blob)
    try:
        array = read_idx(path)
    except (DataFormatError, InputError) as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        header = read_idx_header(path)
        assert array.shape == header.shape and array.dtype == header.dtype
        assert array.nbytes == header.payload_bytes <= len(data)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
def test_zero_size_shape_numpy_cannot_describe_is_refused(tmp_path: Path, compress: bool) -> None:
    """Test that dims (2**31, 0, 2**32-1): no bytes, but sizes numpy cannot multiply: refused."""
    path = _write_bytes(tmp_path / "z", _header(0x0C, (2**31, 0, 2**32 - 1)), compress)
    with pytest.raises(DataFormatError, match="too large for any array") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    empty = read_idx(_write_bytes(tmp_path / "e", _header(0x0C, (2**20, 0, 2**20)), compress))
    assert empty.shape == (2**20, 0, 2**20) and empty.dtype == np.int32


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_multibyte_values_are_read_without_a_second_copy(tmp_path: Path, suffix: str) -> None:
    """Test that reading 8 MB of int32 peaks near 8 MB (bytes swapped in place, not copied)."""
    values = np.arange(2**21, dtype=np.int32).reshape(2**11, 2**10) - 2**20
    path = write_idx(tmp_path / f"v{suffix}", values)
    tracemalloc.start()
    try:
        result = read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(result, values)
    assert result.dtype == np.dtype(np.int32) and result.flags.writeable
    assert peak < values.nbytes * 1.3 + 2**21


def test_out_of_memory_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that a MemoryError while reading becomes one line naming the file."""
    import mnist_logreg.datasets._idx as idx_module

    def no_memory(*args: object) -> bytearray:
        raise MemoryError

    path = _write_bytes(tmp_path / "m", _valid_bytes())
    monkeypatch.setattr(idx_module, "_read_plain_payload", no_memory)
    with pytest.raises(MnistLogregError, match=f"not enough memory to read IDX file {path}$"):
        read_idx(path)
