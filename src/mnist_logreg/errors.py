"""Exceptions shared by every layer of the package.

Each error carries a one-line, human-readable message that names the input (file, argument, dataset)
and what is wrong with it. The command-line layer turns :class:`InputError` into exit code 2 and any
other :class:`MnistLogregError` into exit code 1, printing only the message.
"""


class MnistLogregError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(MnistLogregError, ValueError):
    """Bad input from the user: a malformed file, a missing folder, an impossible option."""


class DataFormatError(InputError):
    """A data or model file does not follow its format (truncated, corrupted, tampered)."""
