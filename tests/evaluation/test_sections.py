"""Tests of the report model and its templates: escaping, one section list for both formats."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from mnist_logreg.evaluation import render_comparison_html, render_comparison_markdown
from mnist_logreg.evaluation._compare_report import comparison_report
from mnist_logreg.evaluation._report import study_report
from mnist_logreg.evaluation._sections import (
    Card,
    Paragraph,
    Report,
    Subsection,
    Table,
    _environment,
    md_escape,
    section,
    to_html,
    to_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
EVIL = "<script>alert('x')</script>"


def _results(kind: str) -> dict:
    return json.loads((GOLDEN / f"{kind}_results.json").read_text(encoding="utf-8"))


def _evil_report() -> Report:
    table = Table(("Class", EVIL), ((EVIL, "1"),), highlight=frozenset({0}), footer=(EVIL, ""))
    return Report(
        title=EVIL, command=f"study {EVIL}", dataset=EVIL, cards=(Card(EVIL, EVIL, EVIL),),
        sections=(*section("s", EVIL, table, Paragraph(EVIL, "note"),
                           Subsection(EVIL, (Paragraph(EVIL),))),),
        generator=EVIL, schema=EVIL)


def test_html_environment_autoescapes() -> None:
    """Test that the HTML templates run with autoescaping on and escape every value."""
    assert _environment("html").autoescape is True
    page = to_html(_evil_report(), {})
    assert "<script" not in page and "alert(&#x27;x&#x27;)" in page
    # <title>, h1, command, dataset, 3 card texts, contents, h2, 3 table cells, note, h3, paragraph,
    # generator, schema: each of the 17 places shows the value, escaped
    assert page.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") == 17


def test_markdown_escapes_every_value() -> None:
    """Test that Markdown output escapes markup, pipes and asterisks in every value."""
    text = to_markdown(_evil_report(), {})
    outside_code = re.sub(r"`[^`]*`", "", text)  # a code span shows text verbatim
    assert "<script" not in outside_code
    # the HTML's 17 places but the dataset, the contents, the generator; the command is code
    assert outside_code.count("&lt;script&gt;alert('x')&lt;/script&gt;") == 12
    assert to_markdown(Report("a|b*c", None, "", (), ()), {}).startswith("# a\\|b\\*c\n")
    assert md_escape("[x](javascript:y)") == "\\[x\\](javascript:y)"


@pytest.mark.parametrize("where", ["model", "dataset"])
def test_comparison_escapes_model_and_dataset_names(where: str) -> None:
    """Test that a model or dataset name with markup comes out escaped in HTML and Markdown."""
    results = _results("compare")
    if where == "model":
        results["models"][EVIL] = results["models"].pop("knn")
    else:
        results["dataset"]["name"] = EVIL
    figures = {"accuracy.png": b"png"}
    page = render_comparison_html(results, figures)
    assert "<script" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    text = render_comparison_markdown(results, {"accuracy.png": "accuracy.png"})
    assert EVIL not in text and "&lt;script&gt;alert('x')&lt;/script&gt;" in text


@pytest.mark.parametrize("kind", ["study", "compare"])
def test_both_formats_walk_the_same_sections(kind: str) -> None:
    """Test that every section, subsection and paragraph of the model appears in both formats."""
    results = _results(kind)
    build = study_report if kind == "study" else comparison_report
    report = build(results, ["accuracy.png"] if kind == "compare" else ["roc_curves.png"])
    page = to_html(report, {"accuracy.png": b"a", "roc_curves.png": b"r"})
    text = to_markdown(report, {"accuracy.png": "accuracy.png", "roc_curves.png": "r.png"})
    assert len(report.sections) >= 6
    html_titles = re.findall(r"<h2>(.*?)</h2>", page)
    md_titles = re.findall(r"^## (.*)$", text, flags=re.M)
    assert html_titles == md_titles == [s.title for s in report.sections]
    items = [i for s in report.sections for i in s.items]
    subsections = [i.title for i in items if isinstance(i, Subsection)]
    assert re.findall(r"<h3>(.*?)</h3>", page) == re.findall(r"^### (.*)$", text, flags=re.M)
    assert re.findall(r"<h3>(.*?)</h3>", page) == subsections and subsections
    for item in items:
        if isinstance(item, Paragraph):
            assert md_escape(item.text) in text
            assert f">{item.text.replace(chr(39), '&#x27;')}</p>" in page
    for card in report.cards:
        assert f'<div class="label">{card.label}</div>' in page and f"- {card.label}:" in text


def test_section_drops_missing_items_and_empty_sections() -> None:
    """Test that a missing block (None) drops its item, and a section with no item disappears."""
    table = Table(("a",), (("1",),))
    assert section("x", "X", None, table, None) == section("x", "X", table)
    assert section("x", "X", table)[0].items == (table,)
    assert section("x", "X", None, None) == []


def _package_data_globs() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["setuptools"]["package-data"]


@pytest.mark.parametrize(("package", "folder"), [("mnist_logreg.evaluation", "templates"),
                                                  ("mnist_logreg.serving", "static")])
def test_template_and_page_files_ship_as_package_data(package: str, folder: str) -> None:
    """Test that every template and page file is readable as a resource and listed for the wheel."""
    globs = _package_data_globs()[package]
    names = sorted(p.name for p in files(package).joinpath(folder).iterdir() if p.is_file())
    assert names, folder
    for name in names:
        assert any(fnmatch.fnmatch(f"{folder}/{name}", g) for g in globs), name
        assert files(package).joinpath(folder, name).read_text(encoding="utf-8").strip()
