"""Opening and reading the binary files users hand us, without blocking or over-allocating.

Every reader of a user's file (IDX files, ``.npy`` arrays) opens it through
:func:`open_regular_file`, which refuses what is not a regular file (a folder, a named pipe or a
device could block or never end), and reads a payload whose size it already checked against the
file's size with :func:`read_exactly`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from mnist_logreg.errors import InputError

__all__ = ["open_regular_file", "read_exactly"]


def open_regular_file(path: str | os.PathLike[str], what: str) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything but an existing regular file.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file should be, for the messages ("IDX file", ".npy file").

    Returns
    -------
    BinaryIO
        The open file; the caller closes it.

    Raises
    ------
    InputError
        One line naming ``path``: missing, a folder, not a regular file, or unreadable.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(mode):  # a FIFO or a device could block or never end
        raise InputError(f"{what} {path} is not a regular file")
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot open {what} {path}: {exc.strerror or exc}") from None


def read_exactly(stream: BinaryIO, n_bytes: int) -> tuple[bytearray, int]:
    """Read ``n_bytes`` into one preallocated buffer, stopping early only at the end of the file.

    The caller has already checked ``n_bytes`` against the bytes really present (the file's size
    minus the header), so the allocation is bounded by the input's honest size.

    Returns
    -------
    buffer : bytearray of length n_bytes
    n_read : int
        Bytes actually read; less than ``n_bytes`` only if the file shrank while reading.
    """
    buffer = bytearray(n_bytes)
    view = memoryview(buffer)
    filled = 0
    while filled < n_bytes:
        n_read = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not n_read:
            break
        filled += n_read
    return buffer, filled
