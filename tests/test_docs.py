"""Tests of the documentation site's build hooks (docs/hooks.py, docs/griffe_roles.py)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "docs" / "pages"


def load(name: str) -> ModuleType:
    """Import ``docs/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hooks = load("hooks")

TEXT = """# Title

intro

## A

a text
```sh
# not a heading
```
### A.1

sub

## B

First line of b
continues.

Another paragraph.
"""


def test_section_ends_at_the_next_heading_of_its_level() -> None:
    """Test that a section keeps its subsections and fenced comments, and stops at its level."""
    section = hooks.section_of(TEXT, "## A")
    assert section.startswith("## A\n") and "# not a heading" in section and "### A.1" in section
    assert "## B" not in section
    assert hooks.section_of(TEXT, "## B").endswith("Another paragraph.\n")
    with pytest.raises(ValueError, match="no heading '## C'"):
        hooks.section_of(TEXT, "## C")


def test_paragraph_is_the_lines_up_to_a_blank_one() -> None:
    """Test that a paragraph found by its start holds its continuation lines only."""
    assert hooks.paragraph_of(TEXT, "First line") == "First line of b\ncontinues.\n"
    with pytest.raises(ValueError):
        hooks.paragraph_of(TEXT, "Nowhere")


def test_includes_point_readme_anchors_at_the_home_page(tmp_path: Path) -> None:
    """Test that an included README section keeps its text and links its anchors to index.md."""
    (tmp_path / "README.md").write_text("# R\n\n## S\n\nsee [t](#t) and [u](u.md)\n",
                                        encoding="utf-8")
    page = 'x\n<!-- include README.md "## S" -->\ny\n'
    assert hooks.expand_includes(page, tmp_path) == (
        "x\n## S\n\nsee [t](index.md#t) and [u](u.md)\n\ny\n")
    home = hooks.expand_includes("<!-- include README.md -->", tmp_path, home=True)
    assert "[t](#t)" in home


def test_every_include_in_the_pages_resolves() -> None:
    """Test that each include marker of the site's pages names an existing file and section."""
    markers = 0
    for page in sorted(PAGES.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        markers += len(hooks.INCLUDE.findall(text))
        hooks.expand_includes(text)  # raises on a missing file, heading or paragraph
    assert markers >= 6


def test_cli_reference_has_every_command() -> None:
    """Test that the generated command-line page holds the --help of the app and every command."""
    from mnist_logreg.cli.app import app

    page = hooks.cli_reference()
    import typer

    root = typer.main.get_command(app)
    names = list(root.commands)
    assert len(names) == 7 and "datasets" in names
    names += [f"datasets {sub}" for sub in root.commands["datasets"].commands]
    assert "datasets build" in names and "datasets verify" in names
    for name in names:
        assert f"## `mnist-logreg {name}`" in page
        assert re.search(rf"Usage: mnist-logreg {name} ", page)
    assert "--out" in page and "--candidates" in page


def test_run_blocks_fills_outputs_and_outlines(tmp_path: Path) -> None:
    """Test that blocks run in order in the folder, outputs follow their block, and the
    metrics outline describes the variable's results."""
    page = ("```python\nx = 2\nprint(x * 21)\nopen('f.txt', 'w').write('ok')\n```\n"
            "<!-- output -->\n\n```python\nclass R:\n    results = {'a': [{'b': 1.5}], 'c': None}\n"
            "r = R()\n```\n<!-- metrics_outline r -->\n")
    text, namespace = hooks.run_blocks(page, tmp_path)
    assert "```text\n42\n```" in text
    assert "```text\na: list of 1 object\n  b: float\nc: null\n```" in text
    assert namespace["x"] == 2 and (tmp_path / "f.txt").read_text() == "ok"


def test_outline_collapses_repeated_objects() -> None:
    """Test that per-class objects of one shape are shown once, lists with length and type."""
    value = {"m": [[1, 2], [3, 4]], "per": {"0": {"p": 1.0}, "1": {"p": 2.0}, "2": {"p": 0.5}}}
    assert hooks.outline(value) == [
        "m: list of 2 (list of 2 int)", "per: object", "  0: object", "    p: float",
        "  ... (2 more keys like '0': '1', '2', ...)",
    ]


def test_sphinx_roles_become_inline_code() -> None:
    """Test that Sphinx roles in docstrings are shown as code, ~ keeping the last component."""
    pytest.importorskip("griffe")
    roles = load("griffe_roles")
    text = ("Uses :class:`~mnist_logreg.study.StudyResult`, :func:`load_dataset`, "
            ":meth:`the fit <LogisticRegression.fit>`.\n\nExample::\n\n    code\n\n"
            "bytes ::\n\n    b\n")
    assert roles.markdown_docstring(text) == (
        "Uses `StudyResult`, `load_dataset`, `the fit`.\n\nExample:\n\n    code\n\n"
        "bytes\n\n    b\n")
