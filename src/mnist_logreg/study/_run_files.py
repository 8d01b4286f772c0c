"""The files of a study's and a comparison's run folder, written from their result objects.

:meth:`StudyResult.write <mnist_logreg.study.StudyResult.write>` and
:meth:`ComparisonResult.write <mnist_logreg.study.ComparisonResult.write>` (Python) and the
``study`` and ``compare`` commands write the same folder through this module: ``config.json``,
the checkpoints (the command line writes each one as its search finishes; Python writes them
from the finished result, the same records), then every output, ``metrics.json`` last. The
folder is checked, staged and swapped by :mod:`mnist_logreg.study._run_folder`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mnist_logreg.atomic import write_atomic
from mnist_logreg.model_selection import MODEL_NAMES, CompareConfig, NestedCVConfig
from mnist_logreg.persistence import save_model
from mnist_logreg.study._checkpoints import write_checkpoint
from mnist_logreg.study._compare import ComparisonResult
from mnist_logreg.study._config import RunConfig
from mnist_logreg.study._run_folder import (
    CONFIG_FILE,
    PYTHON_NAMES,
    NewRunFolder,
    OptionNames,
    RunLayout,
    check_out,
    new_run_folder,
    write_json,
)
from mnist_logreg.study._study import FIGURE_FILES, StudyResult

Result = StudyResult | ComparisonResult


def _names(*names: str) -> str:
    return "|".join(re.escape(name) for name in names)


STUDY_LAYOUT = RunLayout(
    command="study",
    files=_names(CONFIG_FILE, "metrics.json", "report.html", "report.md",
                 "classification_report.txt", "model.npz", *FIGURE_FILES),
    checkpoints=r"fold-[0-9]+\.json",
)
"""The files a study writes in its run folder."""

_MODEL = f"(?:{_names(*MODEL_NAMES)})"
COMPARE_LAYOUT = RunLayout(
    command="compare",
    files=_names(CONFIG_FILE, "metrics.json", "report.html", "report.md",
                 "test_predictions.csv", "accuracy.png") + rf"|confusion_matrix_{_MODEL}\.png",
    checkpoints=rf"{_MODEL}-(?:fold-[0-9]+|final)\.json|{_MODEL}-final\.npz",
)
"""The files a comparison writes in its run folder."""


def layout_of(result: Result) -> RunLayout:
    """The run-folder layout of a study's or a comparison's result."""
    return STUDY_LAYOUT if isinstance(result, StudyResult) else COMPARE_LAYOUT


def study_model_extra(results: dict[str, Any], n_classes: int | None = None) -> dict[str, Any]:
    """The ``extra`` metadata of a study's ``model.npz``: what the model card shows, and more.

    The keys are those ``mnist-logreg fit`` writes (``dataset``, ``C``, ``strategy``,
    ``test_accuracy``, ``image_shape``, ``pixel_max``, ``class_names``), plus
    ``test_accuracy_ci95``, the bootstrap interval of the test accuracy, when there is one.

    Parameters
    ----------
    results : dict
        The study's ``metrics.json`` content.
    n_classes : int, optional
        The model's class count; ``class_names`` is stored only when the data set names as many
        classes.

    Returns
    -------
    dict
        JSON-ready.
    """
    dataset = results["dataset"]
    accuracy = results["test"]["accuracy"]
    extra: dict[str, Any] = {
        "dataset": dataset["name"],
        "C": results["final"]["best_params"]["C"],
        "strategy": results["config"]["strategy"],
        "image_shape": list(dataset["image_shape"]),
        "pixel_max": dataset["pixel_max"],
        "test_accuracy": accuracy["value"],
    }
    names = [str(name) for name in dataset.get("class_names") or ()]
    if names and len(names) == n_classes:
        extra["class_names"] = names
    ci = accuracy.get("ci95")
    if ci and None not in ci:
        extra["test_accuracy_ci95"] = list(ci)
    return extra


def write_outputs(folder: Path, result: Result) -> None:
    """Write a result's outputs into ``folder``, each atomically, ``metrics.json`` last.

    Parameters
    ----------
    folder : Path
        An existing folder (a run folder, or the staging folder that will replace one).
    result : StudyResult or ComparisonResult
    """
    folder = Path(folder)
    for name, png in result.figures.items():
        write_atomic(folder / name, png)
    write_atomic(folder / "report.md", result.report_markdown)
    write_atomic(folder / "report.html", result.report_html)
    if isinstance(result, StudyResult):
        write_atomic(folder / "classification_report.txt", result.classification_report)
        classes = getattr(result.model, "classes_", None)
        extra = study_model_extra(result.results, None if classes is None else len(classes))
        save_model(result.model, folder / "model.npz", extra=extra)
    else:
        write_atomic(folder / "test_predictions.csv", result.predictions_csv)
    write_json(folder / "metrics.json", result.results)


def _config(result: Result) -> RunConfig[Any]:
    protocol = NestedCVConfig if isinstance(result, StudyResult) else CompareConfig
    return RunConfig.from_dict(result.results["config"], protocol)


def finish_run_folder(run: NewRunFolder, result: Result) -> None:
    """Write a finished run's outputs into its run folder and put the folder in place.

    Parameters
    ----------
    run : NewRunFolder
        The folder :func:`~mnist_logreg.study._run_folder.new_run_folder` opened for the run.
    result : StudyResult or ComparisonResult
    """
    write_outputs(run.path, result)
    run.commit()


def write_run_folder(
    result: Result, folder: Path, *, force: bool = False, names: OptionNames = PYTHON_NAMES
) -> Path:
    """Write a finished result's whole run folder (what the command line writes).

    Parameters
    ----------
    result : StudyResult or ComparisonResult
    folder : Path
        The run folder: missing, empty, or (with ``force``) an earlier run folder of the same
        command holding only its files.
    force : bool, default False
        Replace an earlier run folder of the same command.
    names : OptionNames, optional
        How error messages name ``folder`` and ``force``.

    Returns
    -------
    Path
        The absolute path of the written folder.

    Raises
    ------
    InputError
        If ``folder`` is a file, a link, or a non-empty folder that may not be replaced (nothing
        is created or deleted then).
    """
    layout = layout_of(result)
    replaces = check_out(Path(folder), layout, force=force, names=names)
    with new_run_folder(Path(folder), result.results["config"], layout, replaces=replaces,
                        names=names, staged=True) as run:
        config = _config(result)
        for key in sorted(result.checkpoints):  # the records the command wrote as it went
            write_checkpoint(run.path, result.checkpoints[key], config)
        finish_run_folder(run, result)
    return run.out
