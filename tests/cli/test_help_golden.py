"""Golden tests of every command's ``--help``: refactoring the commands must not change them.

Each command's help, rendered at a fixed terminal width, must equal the committed text in
``golden/help/``. After a deliberate change to an option or its help, regenerate them with
``MNIST_LOGREG_UPDATE_GOLDEN=1 python -m pytest tests/cli/test_help_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "help"
UPDATE = os.environ.get("MNIST_LOGREG_UPDATE_GOLDEN") == "1"
COMMANDS = ["study", "compare"]  # the commands that write run folders (cli/_run_command.py)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_matches_the_golden_text(command: str, run_cli, monkeypatch) -> None:
    """Test that ``mnist-logreg COMMAND --help`` prints exactly the committed help."""
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERMINAL_WIDTH", "100")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    result = run_cli(*command.split(), "--help")
    assert result.code == 0, result.err
    # The program's name in "Usage:" (and so the line's padding) depends on how pytest started.
    text = re.sub(rf"Usage: .*? {command} \[", f"Usage: mnist-logreg {command} [", result.out,
                  count=1)
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = GOLDEN / f"{command.replace(' ', '_') or 'mnist-logreg'}.txt"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
