"""The model card of the drawing page: what the model is, read from its file's metadata.

``mnist-logreg fit`` stores the data set, C, strategy and test accuracy in the model file's
``extra`` metadata; other files may lack any of them (a study's ``model.npz`` stores none). A field
that is absent or not of the expected kind is ``None`` (the page shows "unknown"), except C, which
falls back to the classifier's own ``C`` parameter (the value it was fitted with).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["model_card"]

_MAX_TEXT = 120


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = " ".join(value.split())
    return value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 1] + "\u2026"


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def model_card(model: Any, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Describe a fitted model for people: data set, C, test accuracy, kind, provenance.

    Parameters
    ----------
    model : Pipeline or estimator
        The fitted model.
    metadata : dict, optional
        Its file's :func:`~mnist_logreg.persistence.read_metadata`.

    Returns
    -------
    card : dict
        JSON-ready: ``dataset`` (str), ``C`` (float > 0), ``test_accuracy`` (float in [0, 1]),
        ``strategy`` (str), ``classifier`` (the last step's class name), ``n_classes`` (int),
        ``created_utc`` and ``package_version`` (str); each ``None`` when unknown.
    """
    metadata = metadata if isinstance(metadata, dict) else {}
    extra = metadata.get("extra")
    extra = extra if isinstance(extra, dict) else {}
    steps = getattr(model, "steps", None)
    classifier = steps[-1][1] if steps else model
    C = _number(extra.get("C"), 0.0, math.inf)
    if C is None or C == 0.0:
        C = _number(getattr(classifier, "C", None), 0.0, math.inf) or None
    classes = getattr(classifier, "classes_", None)
    return {
        "dataset": _text(extra.get("dataset")),
        "C": C,
        "test_accuracy": _number(extra.get("test_accuracy"), 0.0, 1.0),
        "strategy": _text(extra.get("strategy")),
        "classifier": type(classifier).__name__,
        "n_classes": None if classes is None else len(classes),
        "created_utc": _text(metadata.get("created_utc")),
        "package_version": _text(metadata.get("package_version")),
    }
