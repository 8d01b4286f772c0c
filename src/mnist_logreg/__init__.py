"""mnist-logreg: logistic regression on MNIST-style image data.

The package layout mirrors the data flow::

    datasets -> preprocessing -> linear_model -> model_selection -> evaluation -> study -> cli

Imports run downstream only (a test enforces it).

The names a Python user needs are available here; each is imported on first use, so that
``import mnist_logreg`` stays cheap (scikit-learn, SciPy and matplotlib load only when needed)::

    >>> import mnist_logreg as ml
    >>> data = ml.load_dataset("digits")
    >>> clf = ml.LogisticRegression(C=0.05).fit(data.X_train / 16, data.y_train)

- estimators: :class:`LogisticRegression`, :class:`OneVsRestLogisticRegression`,
  :func:`logistic_regression_path` (:class:`LogisticPath`), :class:`PixelScaler`
  (``X / pixel_max``);
- data: :func:`load_dataset`, :func:`list_sources`, :class:`Dataset`;
- the study: :func:`run_study`, :class:`StudyConfig`, :class:`NestedCVConfig`,
  :class:`StudyResult`;
- the comparison: :func:`run_comparison`, :class:`ComparisonConfig`, :class:`CompareConfig`,
  :class:`ComparisonResult`;
- model files: :func:`save_model`, :func:`load_model`, :func:`read_model_file`;
- errors: :class:`MnistLogregError`, :class:`InputError`, :class:`DataFormatError`.
"""

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (about 10 ms)

_EXPORTS: dict[str, str] = {
    "LogisticRegression": "mnist_logreg.linear_model",
    "OneVsRestLogisticRegression": "mnist_logreg.linear_model",
    "LogisticPath": "mnist_logreg.linear_model",
    "logistic_regression_path": "mnist_logreg.linear_model",
    "PixelScaler": "mnist_logreg.preprocessing",
    "Dataset": "mnist_logreg.datasets",
    "list_sources": "mnist_logreg.datasets",
    "load_dataset": "mnist_logreg.datasets",
    "NestedCVConfig": "mnist_logreg.model_selection",
    "CompareConfig": "mnist_logreg.model_selection",
    "StudyConfig": "mnist_logreg.study",
    "StudyResult": "mnist_logreg.study",
    "run_study": "mnist_logreg.study",
    "ComparisonConfig": "mnist_logreg.study",
    "ComparisonResult": "mnist_logreg.study",
    "run_comparison": "mnist_logreg.study",
    "save_model": "mnist_logreg.persistence",
    "load_model": "mnist_logreg.persistence",
    "read_model_file": "mnist_logreg.persistence",
    "MnistLogregError": "mnist_logreg.errors",
    "InputError": "mnist_logreg.errors",
    "DataFormatError": "mnist_logreg.errors",
}
"""Each public name and the module it is imported from on first use."""

__all__ = [
    "CompareConfig",
    "ComparisonConfig",
    "ComparisonResult",
    "DataFormatError",
    "Dataset",
    "InputError",
    "LogisticPath",
    "LogisticRegression",
    "MnistLogregError",
    "NestedCVConfig",
    "OneVsRestLogisticRegression",
    "PixelScaler",
    "StudyConfig",
    "StudyResult",
    "__version__",
    "list_sources",
    "load_dataset",
    "load_model",
    "logistic_regression_path",
    "read_model_file",
    "run_comparison",
    "run_study",
    "save_model",
]

if TYPE_CHECKING:  # pragma: no cover - type checkers and IDEs see the names here
    from mnist_logreg.datasets import Dataset, list_sources, load_dataset
    from mnist_logreg.errors import DataFormatError, InputError, MnistLogregError
    from mnist_logreg.linear_model import (
        LogisticPath,
        LogisticRegression,
        OneVsRestLogisticRegression,
        logistic_regression_path,
    )
    from mnist_logreg.model_selection import CompareConfig, NestedCVConfig
    from mnist_logreg.persistence import load_model, read_model_file, save_model
    from mnist_logreg.preprocessing import PixelScaler
    from mnist_logreg.study import (
        ComparisonConfig,
        ComparisonResult,
        StudyConfig,
        StudyResult,
        run_comparison,
        run_study,
    )


def __getattr__(name: str) -> object:
    """Import a public name on first use (PEP 562) and cache it in the module."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mnist_logreg' has no attribute {name!r}")
    # __import__ with a fromlist returns the submodule itself (no importlib import: ~0.7 ms).
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the lazily imported public ones included."""
    return sorted(set(globals()) | set(_EXPORTS))
