"""SHA-256 checksums of data files and ``SHA256SUMS`` manifests (``sha256sum`` format)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from mnist_logreg.errors import DataFormatError, InputError

logger = logging.getLogger(__name__)

__all__ = ["SUMS_FILE_NAME", "parse_sha256sums", "sha256_file", "verify_checksums", "verify_sha256"]

#: Name of the manifest file a data folder may carry.
SUMS_FILE_NAME = "SHA256SUMS"
# "<64 hex digits><space><space or *><file name>", as written by ``sha256sum`` (text or binary).
_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 of a file's bytes.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    digest : str
        64 lowercase hexadecimal digits.

    Raises
    ------
    InputError
        If the file does not exist or cannot be read.
    """
    try:
        with open(path, "rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except FileNotFoundError:
        raise InputError(f"cannot compute the checksum of {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot compute the checksum of {path}: {exc.strerror or exc}") from None


def parse_sha256sums(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``SHA256SUMS`` manifest.

    Parameters
    ----------
    path : str or path-like
        A text file of lines ``<sha256>  <file name>`` (``sha256sum`` output; a ``*`` before the
        name, marking binary mode, is accepted). Blank lines and lines starting with ``#`` are
        skipped.

    Returns
    -------
    sums : dict of str to str
        File name -> lowercase hexadecimal SHA-256.

    Raises
    ------
    InputError
        If the file cannot be read.
    DataFormatError
        If a line is malformed or a file name is listed twice (the message gives the line).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read checksum file {path}: {exc}") from None
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if match is None:
            raise DataFormatError(
                f"checksum file {path}, line {number}: expected '<64 hex digits>  <file name>', "
                f"got {stripped[:80]!r}"
            )
        digest, name = match.group(1).lower(), match.group(2)
        if name in sums:
            raise DataFormatError(f"checksum file {path}, line {number}: {name} listed twice")
        sums[name] = digest
    return sums


def verify_sha256(path: str | os.PathLike[str], expected: str) -> str:
    """Check a file's SHA-256 against an expected value.

    Parameters
    ----------
    path : str or path-like
        The file.
    expected : str
        The expected SHA-256, hexadecimal (case-insensitive).

    Returns
    -------
    digest : str
        The file's SHA-256 (equal to ``expected``, lowercase).

    Raises
    ------
    DataFormatError
        On mismatch; the message names the file, the expected and the actual hash.
    """
    actual = sha256_file(path)
    if actual != expected.lower():
        raise DataFormatError(
            f"checksum mismatch for {path}: expected sha256 {expected.lower()}, got {actual} "
            "(file corrupted or replaced)"
        )
    logger.debug("verified sha256 of %s", path)
    return actual


def verify_checksums(
    folder: str | os.PathLike[str],
    expected: Mapping[str, str] | None = None,
    names: Iterable[str] | None = None,
) -> dict[str, str]:
    """Verify files of a folder against their expected SHA-256.

    Parameters
    ----------
    folder : str or path-like
        The folder holding the files.
    expected : mapping of str to str, optional
        File name -> expected SHA-256. Default: parsed from ``folder / "SHA256SUMS"``.
    names : iterable of str, optional
        The file names to verify; each must be listed in ``expected``. Default: all listed.

    Returns
    -------
    checksums : dict of str to str
        File name -> verified SHA-256, in the order verified.

    Raises
    ------
    InputError
        If a file to verify is missing, or is not listed in ``expected``.
    DataFormatError
        If a checksum does not match (message: file, expected and actual hash).
    """
    folder = Path(folder)
    sums_path = folder / SUMS_FILE_NAME
    if expected is None:
        expected = parse_sha256sums(sums_path)
    to_check = list(expected) if names is None else list(names)
    verified: dict[str, str] = {}
    for name in to_check:
        if name not in expected:
            raise InputError(f"no checksum for {folder / name} in {sums_path}")
        if not (folder / name).is_file():
            raise InputError(f"{folder / name} is missing (listed in {sums_path})")
        verified[name] = verify_sha256(folder / name, expected[name])
    return verified
