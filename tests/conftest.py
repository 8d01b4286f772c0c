"""Shared fixtures: running the command line in-process and capturing its streams."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mnist_logreg.cli.app import main


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured streams of one command-line run."""

    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Return a function that runs ``mnist-logreg ARGS...`` in-process."""

    def _run(*args: str) -> CliResult:
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        captured = capsys.readouterr()
        code = info.value.code
        exit_code = int(code) if code is not None else 0
        return CliResult(code=exit_code, out=captured.out, err=captured.err)

    return _run
