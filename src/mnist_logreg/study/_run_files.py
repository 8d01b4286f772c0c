"""The files of a study's and a comparison's run folder, written from their result objects.

:meth:`StudyResult.write <mnist_logreg.study.StudyResult.write>` and
:meth:`ComparisonResult.write <mnist_logreg.study.ComparisonResult.write>` (Python) and the
``study`` and ``compare`` commands write the same folder through this module: ``config.json``,
the checkpoints (the command line writes each one as its search finishes; Python writes them
from the finished result, the same records), then every output, ``metrics.json`` last. The
folder is checked, staged and swapped by :mod:`mnist_logreg.study._run_folder`.
"""

from __future__ import annotations

from pathlib import Path

from mnist_logreg.atomic import write_atomic
from mnist_logreg.study._checkpoints import write_checkpoint
from mnist_logreg.study._compare import ComparisonResult
from mnist_logreg.study._config import RunConfig
from mnist_logreg.study._run_folder import (
    PYTHON_NAMES,
    NewRunFolder,
    OptionNames,
    check_out,
    new_run_folder,
    write_json,
)
from mnist_logreg.study._study import StudyResult

Result = StudyResult | ComparisonResult


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
    result.write_own_files(folder)
    write_json(folder / "metrics.json", result.results)


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
    replaces = check_out(Path(folder), result.layout, force=force, names=names)
    with new_run_folder(Path(folder), result.results["config"], result.layout, replaces=replaces,
                        names=names, staged=True) as run:
        config = RunConfig.from_dict(result.results["config"], result.protocol_type)
        for key in sorted(result.checkpoints):  # the records the command wrote as it went
            write_checkpoint(run.path, result.checkpoints[key], config)
        finish_run_folder(run, result)
    return run.out
