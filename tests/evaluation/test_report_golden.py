"""Golden tests of the reports: fixed results render to committed Markdown and HTML text.

The inputs are the metrics.json of a small study and a small comparison on ``digits`` (seed 5;
per-fold candidate lists and per-model test details the reports do not show were dropped). The
figures are stand-in bytes, so the expected files do not depend on matplotlib. The Markdown must
match byte for byte; the HTML is compared as its sequence of tags, attributes and text (whitespace
between tags, the stylesheet's text and the embedded figure bytes left out).

After a deliberate change to a report, regenerate the expected files with
``MNIST_LOGREG_UPDATE_GOLDEN=1 python -m pytest tests/evaluation/test_report_golden.py`` and review
their diff.
"""

from __future__ import annotations

import base64
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mnist_logreg.evaluation import (
    render_comparison_html,
    render_comparison_markdown,
    render_html,
    render_markdown,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MNIST_LOGREG_UPDATE_GOLDEN") == "1"

STUDY_FIGURES = ["confusion_matrix.png", "roc_curves.png", "validation_curve.png",
                 "coefficients.png", "misclassified.png", "reliability_diagram.png"]
COMPARE_FIGURES = ["accuracy.png", "confusion_matrix_lr.png", "confusion_matrix_knn.png",
                   "confusion_matrix_tree.png", "confusion_matrix_svm.png"]
CASES = {
    "study": (render_html, render_markdown, STUDY_FIGURES),
    "compare": (render_comparison_html, render_comparison_markdown, COMPARE_FIGURES),
}


class _Outline(HTMLParser):
    """An HTML page as one line per start tag (with attributes), end tag or text run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._in_style = False

    def handle_decl(self, decl: str) -> None:
        self.lines.append(f"<!{decl}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = [(k, "data:..." if v and v.startswith("data:") else v) for k, v in attrs]
        self.lines.append(f"<{tag}" + "".join(f' {k}="{v}"' for k, v in shown) + ">")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.lines.append(f"</{tag}>")
        self._in_style = False

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._in_style:
            self.lines.append(text)


def html_outline(page: str) -> str:
    """The page's tags, attributes and text, one per line (see :class:`_Outline`)."""
    parser = _Outline()
    parser.feed(page)
    parser.close()
    return "\n".join(parser.lines) + "\n"


def _check(actual: str, expected_file: Path) -> None:
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
    assert actual == expected_file.read_text(encoding="utf-8"), (
        f"{expected_file.name} differs; if the change is deliberate, regenerate it (see the "
        "module docstring)")


@pytest.mark.parametrize("kind", sorted(CASES))
def test_markdown_matches_golden_file(kind: str) -> None:
    """Test that the report's Markdown for fixed results equals the committed file byte for byte."""
    _, to_markdown, names = CASES[kind]
    results = json.loads((GOLDEN / f"{kind}_results.json").read_text(encoding="utf-8"))
    _check(to_markdown(results, {name: name for name in names}), GOLDEN / f"{kind}.md")


@pytest.mark.parametrize("kind", sorted(CASES))
def test_html_matches_golden_outline(kind: str) -> None:
    """Test that the HTML page's tags and text for fixed results equal the committed outline."""
    to_html, _, names = CASES[kind]
    results = json.loads((GOLDEN / f"{kind}_results.json").read_text(encoding="utf-8"))
    figures = {name: f"stand-in bytes of {name}".encode() for name in names}
    page = to_html(results, figures)
    for png in figures.values():  # the outline hides the data URIs: check them here
        assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in page
    _check(html_outline(page), GOLDEN / f"{kind}.html.txt")


def test_outline_sees_text_and_attributes() -> None:
    """Test that the outline keeps text, tags and attributes and drops only layout whitespace."""
    page = '<p class="note">a\n  b</p>\n<img alt="x" src="data:image/png;base64,AAAA">'
    assert html_outline(page) == '<p class="note">\na b\n</p>\n<img alt="x" src="data:...">\n'
