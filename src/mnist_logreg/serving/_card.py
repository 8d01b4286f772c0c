"""The model card of the drawing page: what the model is, read from its file's metadata.

``mnist-logreg fit`` and a study's run folder (``model.npz``) store the data set, C, strategy and
test accuracy (a study's also its 95% interval, ``test_accuracy_ci95``) in the model file's
``extra`` metadata; other files may lack any of them (earlier studies' ``model.npz`` stored none).
A field that is absent or not of the expected kind is ``None`` (the page shows "unknown"), except
C, which falls back to the classifier's own ``C`` parameter (the value it was fitted with).

A study's run folder also holds these facts in its ``metrics.json``: given as ``run_metrics``,
its data set, final C, strategy and test accuracy (with its 95% interval) fill the fields the
model file lacks, but only when its final C is the model's own C (the same run).
"""

from __future__ import annotations

import math
from typing import Any

from mnist_logreg._json_fields import FieldError, number

__all__ = ["model_card"]

_MAX_TEXT = 120


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = " ".join(value.split())
    return value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 1] + "\u2026"


def _number(value: Any, low: float, high: float) -> float | None:
    try:
        return float(number(value, "", low, high))
    except FieldError:
        return None


def _interval(ci: Any) -> list[float] | None:
    """``[low, high]`` of an accuracy's interval, or None if it is not two numbers in [0, 1]."""
    if not isinstance(ci, list) or len(ci) != 2:
        return None
    low, high = (_number(v, 0.0, 1.0) for v in ci)
    return None if low is None or high is None else [low, high]


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _from_run(run_metrics: Any, model_C: float | None) -> dict[str, Any]:
    """The card's fields from a study's ``metrics.json``, or {} when it is not this model's."""
    C = _number(_get(run_metrics, "final", "best_params", "C"), 0.0, math.inf)
    if C is None or model_C is None or not math.isclose(C, model_C, rel_tol=1e-9):
        return {}
    return {
        "dataset": _text(_get(run_metrics, "dataset", "name")),
        "C": C,
        "strategy": _text(_get(run_metrics, "config", "strategy")),
        "test_accuracy": _number(_get(run_metrics, "test", "accuracy", "value"), 0.0, 1.0),
        "test_accuracy_ci95": _interval(_get(run_metrics, "test", "accuracy", "ci95")),
    }


def model_card(
    model: Any, metadata: dict[str, Any] | None = None, *, run_metrics: Any = None
) -> dict[str, Any]:
    """Describe a fitted model for people: data set, C, test accuracy, kind, provenance.

    Parameters
    ----------
    model : Pipeline or estimator
        The fitted model.
    metadata : dict, optional
        Its file's :func:`~mnist_logreg.persistence.read_metadata`.
    run_metrics : dict, optional
        The parsed ``metrics.json`` of the study run folder the model file comes from; used for
        the fields the metadata lacks when its final C equals the model's C, ignored otherwise.

    Returns
    -------
    card : dict
        JSON-ready: ``dataset`` (str), ``C`` (float > 0), ``test_accuracy`` (float in [0, 1]),
        ``test_accuracy_ci95`` ([low, high]), ``strategy`` (str), ``classifier`` (the last
        step's class name), ``n_classes`` (int), ``created_utc`` and ``package_version`` (str);
        each ``None`` when unknown; ``from_run_metrics`` (bool): whether ``run_metrics`` filled
        any field.
    """
    metadata = metadata if isinstance(metadata, dict) else {}
    extra = metadata.get("extra")
    extra = extra if isinstance(extra, dict) else {}
    steps = getattr(model, "steps", None)
    classifier = steps[-1][1] if steps else model
    model_C = _number(getattr(classifier, "C", None), 0.0, math.inf) or None
    C = _number(extra.get("C"), 0.0, math.inf) or model_C
    classes = getattr(classifier, "classes_", None)
    card = {
        "dataset": _text(extra.get("dataset")),
        "C": C,
        "test_accuracy": _number(extra.get("test_accuracy"), 0.0, 1.0),
        "test_accuracy_ci95": _interval(extra.get("test_accuracy_ci95")),
        "strategy": _text(extra.get("strategy")),
        "classifier": type(classifier).__name__,
        "n_classes": None if classes is None else len(classes),
        "created_utc": _text(metadata.get("created_utc")),
        "package_version": _text(metadata.get("package_version")),
        "from_run_metrics": False,
    }
    from_run = _from_run(run_metrics, model_C)
    if card["test_accuracy"] is not None:
        from_run.pop("test_accuracy_ci95", None)  # an interval of another estimate: not ours
    for key, value in from_run.items():
        if card[key] is None and value is not None:
            card[key] = value
            card["from_run_metrics"] = True
    return card
