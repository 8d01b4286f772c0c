"""Tests of the command line's error contract."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["fit", "--dataset", "digits"], "--C"),
        (["datasets", "--bogus"], "--bogus"),
        (["study", "--outer", "x"], "--outer"),
        (["no-such-command"], "no-such-command"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(run_cli, args, needle) -> None:
    """Test that missing options, unknown options and bad values give one line and exit 2."""
    result = run_cli(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert needle in lines[0]
    assert "Traceback" not in result.err


def test_version_and_module_entry_point() -> None:
    """Test that ``python -m mnist_logreg --version`` runs the same application."""
    out = subprocess.run(
        [sys.executable, "-m", "mnist_logreg", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0
    assert out.stdout.startswith("mnist-logreg ")
