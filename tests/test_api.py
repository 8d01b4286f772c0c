"""Tests of the package's top-level Python API (``import mnist_logreg``)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import mnist_logreg


def test_every_public_name_is_the_object_of_its_module() -> None:
    """Test that each name in __all__ resolves to the very object its home module defines."""
    assert set(mnist_logreg.__all__) == {"__version__", *mnist_logreg._EXPORTS}
    for name, module in mnist_logreg._EXPORTS.items():
        assert getattr(mnist_logreg, name) is getattr(importlib.import_module(module), name)


def test_the_user_facing_names_are_exported() -> None:
    """Test that the estimator, data, study, comparison and model-file entry points are there."""
    from mnist_logreg import (  # noqa: F401
        ComparisonConfig,
        LogisticRegression,
        StudyConfig,
        load_dataset,
        load_model,
        run_comparison,
        run_study,
        save_model,
    )

    assert callable(run_study) and callable(load_dataset)
    assert "LogisticRegression" in dir(mnist_logreg)


def test_unknown_name_raises_attribute_error() -> None:
    """Test that an unknown attribute raises AttributeError naming it (from-import: ImportError)."""
    with pytest.raises(AttributeError, match="no attribute 'fit_everything'"):
        mnist_logreg.fit_everything  # noqa: B018
    with pytest.raises(ImportError):
        from mnist_logreg import fit_everything  # noqa: F401


def test_import_loads_no_numerical_library() -> None:
    """Test that `import mnist_logreg` imports neither NumPy, SciPy, scikit-learn nor matplotlib
    (the public names load on first use)."""
    code = ("import sys, mnist_logreg; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'numpy', 'scipy', 'sklearn', 'matplotlib', 'typing'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=None)
    assert out.stdout.strip() == "[]"
