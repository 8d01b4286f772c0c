"""Tests of the JSON field checks shared by the model schema, the checkpoints and the model card."""

from __future__ import annotations

import math

import pytest

from mnist_logreg._json_fields import (
    FieldError,
    boolean,
    choice,
    integer,
    json_list,
    json_object,
    number,
)
from mnist_logreg.errors import DataFormatError


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (lambda: number(-1, "C", 0.0, strict=True), "C must be a finite number > 0, got -1"),
        (lambda: number(1.5, "p", 0.0, 1.0), r"p must be a finite number in \[0, 1\], got 1.5"),
        (lambda: number(0.0, "p", 0.0, 1.0, strict=True), r"p must be a finite number in \(0, 1\]"),
        (lambda: number(10**400, "'n'"), "'n' must be a finite number, got 1000"),
        (lambda: number(True, "'x'"), "'x' must be a number, got True"),
        (lambda: number("high", "'mean'"), "'mean' must be a number, got 'high'"),
        (lambda: integer(2.0, "'fold'", 1, 9), r"'fold' must be an integer in \[1, 9\], got 2.0"),
        (lambda: integer(-1, "n"), "n must be an integer >= 0, got -1"),
        (lambda: json_list([1], "'s'", 2), "'s' must have 2 entries, got 1"),
        (lambda: json_list({}, "'s'"), "'s' must be a list, got {}"),
        (lambda: json_object([1], "doc"), r"doc must be a JSON object, got \[1\]"),
        (lambda: boolean(1, "flag"), "flag must be true or false, got 1"),
        (lambda: choice("x", "kind", {"a", "b"}), "kind must be one of a, b, got 'x'"),
    ],
)
def test_messages_name_the_field_and_the_value(check, message) -> None:
    """Test that each check's one-line message names the field, what it must be and the value."""
    with pytest.raises(FieldError, match=f"^{message}") as info:
        check()
    assert isinstance(info.value, DataFormatError) and "\n" not in str(info.value)


def test_valid_values_come_back_unchanged() -> None:
    """Test that values passing their checks are returned as they were (an int stays an int)."""
    assert number(3, "n", 0.0) == 3 and type(number(3, "n", 0.0)) is int
    assert number(0.5, "p", 0.0, 1.0, strict=True) == 0.5
    assert number(-math.pi, "x") == -math.pi
    assert integer(5, "k", 1, 5) == 5
    assert json_list([1, 2], "l", 2) == [1, 2] and json_object({"a": 1}, "o") == {"a": 1}
    assert boolean(False, "b") is False and choice("a", "c", {"a"}) == "a"
