"""Tests of the package's imports from other libraries: public APIs only, or pinned versions."""

from __future__ import annotations

import ast
import importlib
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mnist_logreg"

# Private names of scikit-learn still imported (issue 12 asks for their removal). Each stays only
# while pyproject.toml caps scikit-learn's version, so that an upgrade that moves or changes one
# cannot reach users untested.
PINNED_SKLEARN_PRIVATE: set[tuple[str, str]] = set()


def _private(name: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in name.split("."))


def _private_imports() -> dict[tuple[str, str], list[str]]:
    """(module, name) -> files, for every import of another library's private module or name."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if not alias.name.startswith("mnist_logreg") and _private(alias.name):
                        found.setdefault((alias.name, ""), []).append(where)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.startswith("mnist_logreg"):
                    continue
                for alias in node.names:
                    if _private(node.module) or _private(alias.name):
                        found.setdefault((node.module, alias.name), []).append(where)
    return found


def _requirement(name: str) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for text in project["dependencies"]:
        requirement = Requirement(text)
        if requirement.name == name:
            return requirement
    raise AssertionError(f"{name} is not a dependency in pyproject.toml")


def test_no_private_imports_beyond_the_pinned_ones() -> None:
    """Test that src imports no private module or name of another library, except pinned ones."""
    unexpected = {key: files for key, files in _private_imports().items()
                  if key not in PINNED_SKLEARN_PRIVATE}
    assert not unexpected, f"private imports (use a public API, or pin and list them): {unexpected}"


def test_private_sklearn_imports_are_capped_and_still_exist() -> None:
    """Test that a private scikit-learn name in use has its version capped and still exists."""
    used = sorted(key for key in _private_imports() if key[0].startswith("sklearn"))
    if not used:
        pytest.skip("no private scikit-learn import left; the cap may go")
    requirement = _requirement("scikit-learn")
    assert any(spec.operator in {"<", "<=", "=="} for spec in requirement.specifier), (
        f"pyproject.toml must cap scikit-learn while src imports its private names {used}"
    )
    installed = version("scikit-learn")
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"scikit-learn {installed} is outside {requirement}: re-check {used} and move the cap"
    )
    for module, name in used:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def test_typer_errors_come_through_its_public_base_class() -> None:
    """Test that Typer's parsing errors are typer.TyperException: usage errors exit 2, others 1."""
    specifier = _requirement("typer").specifier
    assert specifier.contains("0.27.2") and not specifier.contains("0.27.1")  # TyperException
    assert issubclass(typer.BadParameter, typer.TyperException)
    assert typer.BadParameter("x").exit_code == 2
    assert typer.TyperException("x").exit_code == 1


def test_usage_error_names_the_command_help(run_cli) -> None:
    """Test that a usage error caught through typer.TyperException keeps its one-line help hint."""
    result = run_cli("study", "--outer", "x")
    assert result.code == 2
    line = result.err.strip()
    assert line.startswith("mnist-logreg: error: Invalid value for '--outer'")
    assert line.endswith(" study --help')") and "\n" not in line
