"""Checks of single values read from JSON files: type and range, one message shape for all.

Each check returns the value unchanged or raises :class:`FieldError`,
``"<what> must be <expected>, got <value>"`` (the value quoted with :func:`show`), e.g.
``steps[0] (scale, PixelScaler): params.pixel_max must be a finite number > 0, got -1``.
Used by the model file's schema (:mod:`mnist_logreg._model_schema`), the study's checkpoints
(:mod:`mnist_logreg.study._checkpoints`) and the drawing page's model card, which shows a field
that fails its check as "unknown".
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from mnist_logreg.errors import DataFormatError

__all__ = ["FieldError", "boolean", "choice", "fail", "integer", "json_list", "json_object",
           "number", "show", "text"]


class FieldError(DataFormatError):
    """A field of a JSON document fails its check; the message names the field."""


def show(value: Any) -> str:
    """``repr(value)`` cut to 60 characters (repr escapes control characters: safe to print)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(what: str, expected: str, value: Any) -> FieldError:
    """The error ``"<what> must be <expected>, got <value>"``."""
    return FieldError(f"{what} must be {expected}, got {show(value)}")


def json_object(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object (dict)."""
    if not isinstance(value, dict):
        raise fail(what, "a JSON object", value)
    return value


def json_list(value: Any, what: str, length: int | None = None) -> list[Any]:
    """``value`` if it is a list (of ``length`` entries when given)."""
    if not isinstance(value, list):
        raise fail(what, "a list", value)
    if length is not None and len(value) != length:
        raise FieldError(f"{what} must have {length} entries, got {len(value)}")
    return value


def boolean(value: Any, what: str) -> bool:
    """``value`` if it is true or false."""
    if not isinstance(value, bool):
        raise fail(what, "true or false", value)
    return value


def text(value: Any, what: str) -> str:
    """``value`` if it is a string."""
    if not isinstance(value, str):
        raise fail(what, "a string", value)
    return value


def choice(value: Any, what: str, options: frozenset[str] | set[str]) -> str:
    """``value`` if it is one of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise fail(what, "one of " + ", ".join(sorted(options)), value)
    return value


def integer(value: Any, what: str, low: int = 0, high: int | None = None) -> int:
    """``value`` if it is an integer (not a bool) in ``[low, high]`` (no upper bound if None)."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise fail(what, f"an integer {span}", value)
    return value


def number(
    value: Any, what: str, low: float = -math.inf, high: float = math.inf, *, strict: bool = False
) -> float:
    """``value`` if it is a finite number (not a bool) in ``[low, high]`` (``(low, high]`` if
    ``strict``); an int stays an int."""
    if not isinstance(value, Real) or isinstance(value, bool):
        raise fail(what, "a number", value)
    try:
        as_float = float(value)
    except OverflowError:  # a JSON integer beyond float range
        as_float = math.inf
    if not (math.isfinite(as_float) and (as_float > low if strict else as_float >= low)
            and as_float <= high):
        if high == math.inf:
            span = "" if low == -math.inf else f" {'>' if strict else '>='} {low:g}"
        else:
            span = f" <= {high:g}" if low == -math.inf else (
                f" in {'(' if strict else '['}{low:g}, {high:g}]")
        raise fail(what, "a finite number" + span, value)
    return value  # type: ignore[return-value]
