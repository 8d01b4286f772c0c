"""Tests of the package's layering: imports run downstream only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mnist_logreg"

# Data flow order; a layer may import from layers before it (and from shared top-level modules).
LAYERS = [
    "datasets",
    "preprocessing",
    "linear_model",
    "model_selection",
    "evaluation",
    "study",
    "serving",
    "cli",
]
SHARED = {"errors", "_json_fields", "atomic", "persistence", "onnx_export", "__init__", "__main__"}


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mnist_logreg" or len(parts) < 2:
        return None
    return parts[1]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_upstream(layer: str) -> None:
    """Test that no module of a layer imports a layer further downstream."""
    allowed = set(LAYERS[: LAYERS.index(layer) + 1]) | SHARED
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in _imported_modules(path):
            target = _layer_of(module)
            if target is not None and target not in allowed:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offenders == []


def test_persistence_does_not_import_cli_or_evaluation() -> None:
    """Test that the model-file module depends only on the model layers."""
    path = PACKAGE / "persistence.py"
    if not path.exists():
        pytest.skip("persistence.py not present")
    bad = {m for m in _imported_modules(path) if _layer_of(m) in {"cli", "evaluation"}}
    assert bad == set()


def test_no_pickle_loading_in_package() -> None:
    """Test that no package module loads data through pickle or joblib.load."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("pickle.load", "joblib.load", "allow_pickle=True", "cloudpickle", "dill."):
            if needle in text:
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []


def test_one_nested_cv_scheduler() -> None:
    """Test that only the nested-CV engine hands tasks to a runner and waits for them."""
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "runner.wait_first(" in path.read_text(encoding="utf-8")
        or "runner.submit(" in path.read_text(encoding="utf-8")
    )
    assert users == ["model_selection/_engine.py"]


def test_no_branch_on_model_names() -> None:
    """Test that a model's behaviour comes from its registry entry, not a test of its name."""
    models = "lr|svm|knn|tree|lr-rff"
    quoted = rf"""["']({models})["']"""
    pattern = re.compile(rf"(==|!=|\bin)\s*\(?\s*{quoted}|{quoted}\s*(==|!=)")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_one_nested_cv_protocol() -> None:
    """Test that one planning function feeds the scheduler and that every protocol configuration
    is the one NestedCVConfig (the comparison's a subclass of defaults)."""
    planners = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\brun_plans\(", path.read_text(encoding="utf-8"))
    )
    assert planners == ["model_selection/_engine.py", "model_selection/_protocol.py"]
    configs = {
        name: base
        for path in sorted((PACKAGE / "model_selection").rglob("*.py"))
        for name, base in re.findall(r"^class (\w*Config)\b(?:\((\w*)\))?",
                                     path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    }
    assert configs == {"NestedCVConfig": "", "CompareConfig": "NestedCVConfig"}


def test_one_checkpoint_module() -> None:
    """Test that checkpoints are written and read by study/_checkpoints.py only, not by cli/."""
    owners = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"^def \w*checkpoint", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    )
    assert owners == ["study/_checkpoints.py"]
