"""Tests of the drawing page's files: inlined into one page, allowed by its policy's hashes."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from mnist_logreg.serving import PAGE_CSP, PAGE_HTML

STATIC = files("mnist_logreg.serving").joinpath("static")


def _between(tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", PAGE_HTML, flags=re.S)


def test_page_inlines_its_css_and_javascript_files() -> None:
    """Test that the page holds page.css and page.js verbatim, once each, with no placeholder."""
    styles, scripts = _between("style"), _between("script")
    assert len(styles) == 1 and len(scripts) == 1
    assert styles[0].strip() == STATIC.joinpath("page.css").read_text(encoding="utf-8").strip()
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
    """Test that each id the script looks up with getElementById exists in the page's markup."""
    script = STATIC.joinpath("page.js").read_text(encoding="utf-8")
    wanted = set(re.findall(r'getElementById\("([^"]+)"\)', script))
    present = set(re.findall(r'\bid="([^"]+)"', PAGE_HTML))
    assert wanted == {"pad", "seen", "prediction", "bars", "status", "clear"}
    assert wanted <= present
