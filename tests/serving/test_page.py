"""Tests of the drawing page's files: inlined into one page, allowed by its policy's hashes."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from mnist_logreg.serving import PAGE_CSP, PAGE_HTML

STATIC = files("mnist_logreg.serving").joinpath("static")
REPORT_CSS = files("mnist_logreg").joinpath("evaluation", "templates", "report.css")


def _between(tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", PAGE_HTML, flags=re.S)


def test_page_inlines_its_css_and_javascript_files() -> None:
    """Test that the page holds the report's CSS, then page.css, and page.js, verbatim, once."""
    styles, scripts = _between("style"), _between("script")
    assert len(styles) == 1 and len(scripts) == 1
    report_css = REPORT_CSS.read_text(encoding="utf-8")
    page_css = STATIC.joinpath("page.css").read_text(encoding="utf-8")
    assert styles[0].count(report_css) == 1 and styles[0].count(page_css) == 1
    assert styles[0].index(report_css) < styles[0].index(page_css)  # the page's rules win
    assert styles[0].strip().endswith(page_css.strip())
    assert scripts[0].strip() == STATIC.joinpath("page.js").read_text(encoding="utf-8").strip()
    assert "$style" not in PAGE_HTML and "$script" not in PAGE_HTML
    markup = STATIC.joinpath("page.html").read_text(encoding="utf-8")
    assert PAGE_HTML.replace(styles[0], "$style").replace(scripts[0], "$script") == markup


def test_policy_hashes_are_those_of_the_inlined_texts() -> None:
    """Test that the CSP allows exactly the page's inline style and script, by SHA-256 hash."""
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        digest = hashlib.sha256(_between(tag)[0].encode("utf-8")).digest()
        expected = f"{directive} 'sha256-{base64.b64encode(digest).decode()}'"
        assert expected in PAGE_CSP.split("; ")


def test_script_finds_every_element_it_looks_up() -> None:
    """Test that each id the script looks up exists in the page's markup."""
    script = STATIC.joinpath("page.js").read_text(encoding="utf-8")
    wanted = set(re.findall(r'(?:byId|cardValue)\("([^"]+)"[,)]', script))
    present = set(re.findall(r'\bid="([^"]+)"', PAGE_HTML))
    assert {
        "pad",
        "seen",
        "evidence",
        "prediction",
        "top",
        "bars",
        "status",
        "clear",
        "file",
        "choose",
        "card-dataset",
        "card-c",
        "card-accuracy",
    } <= wanted
    assert wanted <= present


def test_every_control_has_a_label_and_the_pad_is_focusable() -> None:
    """Test keyboard and screen-reader basics: labelled canvases and inputs, a focusable pad."""
    for tag in re.findall(r"<(?:canvas|input)\b[^>]*>", PAGE_HTML):
        assert "aria-label=" in tag, tag
    pad = re.search(r'<canvas id="pad"[^>]*>', PAGE_HTML)
    assert pad is not None and 'tabindex="0"' in pad.group(0)
    assert ":focus-visible" in STATIC.joinpath("page.css").read_text(encoding="utf-8")
