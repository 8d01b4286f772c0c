"""Tests of SHA-256 checksums and SHA256SUMS manifests, bundled MNIST included."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from mnist_logreg.datasets import (
    IDX_FILE_NAMES,
    bundled_mnist_dir,
    parse_sha256sums,
    sha256_file,
    verify_checksums,
    verify_sha256,
)
from mnist_logreg.errors import DataFormatError, InputError

BUNDLED_SUMS = {
    "t10k-images-idx3-ubyte.gz": (
        "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b"
    ),
    "train-images-idx3-ubyte.gz": (
        "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971"
    ),
    "train-labels-idx1-ubyte.gz": (
        "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203"
    ),
}


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    """Test that sha256_file returns hashlib's hex digest of the file's bytes."""
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 100_000)
    assert sha256_file(path) == hashlib.sha256(b"abc" * 100_000).hexdigest()


def test_sha256_file_missing_names_the_file(tmp_path: Path) -> None:
    """Test that hashing a missing file raises InputError naming it."""
    with pytest.raises(InputError, match="no such file") as info:
        sha256_file(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(info.value)


def test_parse_sha256sums_accepts_sha256sum_output(tmp_path: Path) -> None:
    """Test that text and binary sha256sum lines, blank lines and comments parse."""
    digest = "A" * 64
    path = tmp_path / "SHA256SUMS"
    path.write_text(f"# comment\n\n{digest}  a file.gz\n{'b' * 64} *other\n", encoding="utf-8")
    assert parse_sha256sums(path) == {"a file.gz": "a" * 64, "other": "b" * 64}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("abc  file", "line 2: expected"),
        (f"{'a' * 64}file", "line 2: expected"),
        (f"{'a' * 64}  x", "line 2: x listed twice"),
    ],
)
def test_parse_sha256sums_rejects_malformed_lines(tmp_path: Path, line: str, problem: str) -> None:
    """Test that a malformed or duplicate manifest line raises DataFormatError with its number."""
    path = tmp_path / "SHA256SUMS"
    path.write_text(f"{'a' * 64}  x\n{line}\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=problem) as info:
        parse_sha256sums(path)
    assert str(path) in str(info.value)


def test_bundled_mnist_checksums_verify() -> None:
    """Test that the bundled MNIST files match their SHA256SUMS and the known hashes."""
    folder = bundled_mnist_dir()
    assert parse_sha256sums(folder / "SHA256SUMS") == BUNDLED_SUMS
    assert verify_checksums(folder) == BUNDLED_SUMS
    assert sorted(BUNDLED_SUMS) == sorted(f"{name}.gz" for name in IDX_FILE_NAMES)


def test_tampered_copy_reports_file_expected_and_actual(tmp_path: Path) -> None:
    """Test that a tampered bundled file is reported with file, expected and actual hash."""
    name = "t10k-labels-idx1-ubyte.gz"
    shutil.copy(bundled_mnist_dir() / name, tmp_path / name)
    shutil.copy(bundled_mnist_dir() / "SHA256SUMS", tmp_path / "SHA256SUMS")
    with (tmp_path / name).open("r+b") as stream:
        stream.seek(100)
        byte = stream.read(1)
        stream.seek(100)
        stream.write(bytes([byte[0] ^ 1]))
    actual = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    with pytest.raises(DataFormatError) as info:
        verify_checksums(tmp_path, names=[name])
    message = str(info.value)
    assert str(tmp_path / name) in message
    assert BUNDLED_SUMS[name] in message and actual in message
    assert "\n" not in message


def test_verify_sha256_is_case_insensitive(tmp_path: Path) -> None:
    """Test that an upper-case expected digest verifies and the lower-case one is returned."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    digest = hashlib.sha256(b"x").hexdigest()
    assert verify_sha256(path, digest.upper()) == digest


def test_verify_checksums_missing_or_unlisted_file(tmp_path: Path) -> None:
    """Test that a listed but missing file, and a file without checksum, raise InputError."""
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  gone\n", encoding="utf-8")
    with pytest.raises(InputError, match="is missing") as info:
        verify_checksums(tmp_path)
    assert str(tmp_path / "gone") in str(info.value)
    with pytest.raises(InputError, match="no checksum for"):
        verify_checksums(tmp_path, names=["other"])
