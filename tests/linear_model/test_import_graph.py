"""Tests that the modules of linear_model import one another without cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import mnist_logreg.linear_model as package

PACKAGE = Path(package.__file__).parent
PREFIX = "mnist_logreg.linear_model."


def _graph() -> dict[str, set[str]]:
    """Module -> the linear_model modules it imports (at top level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("_*.py"):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith(PREFIX):
                    imported.add(node.module.removeprefix(PREFIX))
        graph[path.stem] = imported
    return graph


def test_linear_model_imports_have_no_cycle() -> None:
    """Test that no chain of imports inside linear_model leads back to its start."""
    graph = _graph()
    state: dict[str, str] = {}

    def visit(module: str, chain: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            assert state.get(target) != "open", f"import cycle: {' -> '.join([*chain, target])}"
            if target not in state:
                visit(target, [*chain, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert "_logistic" not in graph["_path"] and "_ovr" not in graph["_path"]
