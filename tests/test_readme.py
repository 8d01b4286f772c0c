"""Tests that the README's Python examples run, so that they cannot rot."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Python"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_section(text: str) -> str:
    """The README text under the ``## Python`` heading, up to the next level-2 heading."""
    start = text.index(f"\n{SECTION}\n") + 1
    end = text.find("\n## ", start + len(SECTION))
    return text[start:] if end == -1 else text[start:end]


def python_blocks(text: str) -> list[str]:
    """The ```python code blocks of ``text``, in order."""
    return BLOCK.findall(text)


def test_python_blocks_are_found() -> None:
    """Test that the extractor finds exactly the fenced python blocks of a section."""
    text = ("# T\n\n## Python\n\n```python\na = 1\n```\n\n```sh\nls\n```\n\n"
            "```python\nb = a\n```\n\n## Next\n\n```python\nc = 3\n```\n")
    assert python_blocks(python_section(text)) == ["a = 1\n", "b = a\n"]


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that the README's Python examples run in order, in an empty folder, as described."""
    blocks = python_blocks(python_section(README.read_text(encoding="utf-8")))
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme_examples"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for number, block in enumerate(blocks, 1):
            exec(compile(block, f"README.md (Python block {number})", "exec"), namespace)
    printed = out.getvalue()
    assert "(1347, 64) (450, 64) 16.0" in printed
    assert "chosen C per outer fold:" in printed
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "model.npz").is_file()
    for name in ("study-digits/model.npz", "compare-digits/test_predictions.csv"):
        assert (tmp_path / "runs" / name).is_file(), name
    # The blocks' results are real: the study's test accuracy, the reloaded model's predictions.
    result = namespace["result"]
    accuracy = result.results["test"]["accuracy"]["value"]  # type: ignore[attr-defined]
    assert 0.9 < accuracy <= 1.0
    model, data = namespace["model"], namespace["data"]
    expected = result.model.predict(data.X_test)  # type: ignore[attr-defined]
    assert (model.predict(data.X_test) == expected).all()  # type: ignore[attr-defined]
