"""The flow shared by the commands that write a run folder (``study``, ``compare``).

Every such command checks its options, then either finishes an interrupted run (``--resume``)
or starts a new one: ``--out`` checked (and ``--force``) before anything is created, the dataset
loaded and the protocol checked against its labels, the workers started, the run folder opened,
the run shown with progress bars while each finished search is checkpointed, the result's files
written into the folder (the same code as ``StudyResult.write``), the folder put in place, and a
summary printed. A command supplies only what differs (:class:`RunCommand`); the folder itself is
the library's (:mod:`mnist_logreg.study._run_folder`).
"""

from __future__ import annotations

import re
import stat
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console

from mnist_logreg.cli._options import check_n_jobs, flags_named
from mnist_logreg.datasets import Dataset, load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import TaskRunner, make_runner
from mnist_logreg.model_selection import validate_scheduler as check_scheduler
from mnist_logreg.study import (
    CHECKPOINTS,
    COMPLETE_MARKER,
    CONFIG_FILE,
    Expectations,
    OptionNames,
    RunConfig,
    WritesRunFolder,
    check_out,
    finish_run_folder,
    new_run_folder,
    read_checkpoints,
    read_json,
    subsample_rows,
    write_outputs,
)

FLAG_NAMES = OptionNames(folder="--out", force="--force", resume="--resume")
"""The run folder's options as the command line names them in messages."""

@dataclass(frozen=True)
class RunContext:
    """One run as a command's ``run`` function sees it.

    Attributes
    ----------
    err : rich.console.Console
        Where progress goes (stderr).
    dataset : Dataset
    config : RunConfig
    runner : TaskRunner
        Where the fits run.
    completed : dict
        The checkpointed records of an interrupted run (``--resume``), else empty.
    folder : Path
        Where each finished search's checkpoint goes.
    """

    err: Console
    dataset: Dataset
    config: Any
    runner: TaskRunner
    completed: dict[Any, dict[str, Any]]
    folder: Path


@dataclass(frozen=True)
class RunCommand:
    """What one run-folder command does its own way; :func:`run_command` does the rest.

    Parameters
    ----------
    result : type
        The command's result class (``StudyResult``, ``ComparisonResult``): its ``layout`` names
        the command and its files, its ``protocol_type`` reads a saved ``config.json`` back.
    run : callable
        ``run(context)``: run with progress bars on ``context.err``, checkpointing each
        finished search into ``context.folder``; returns the result.
    summary : callable
        ``summary(result, folder)``: print the results on stdout.
    resumed : callable
        ``resumed(config, n_completed)``: how much of an interrupted run was done, for the line
        ``Resuming FOLDER with its saved settings; ...``.
    """

    result: type[WritesRunFolder]
    run: Callable[[RunContext], Any]
    summary: Callable[[Any, Path], None]
    resumed: Callable[[Any, int], str]

    @property
    def name(self) -> str:
        """The command (``study``, ``compare``), as its run folders record it."""
        return self.result.layout.command


def run_command(
    command: RunCommand,
    protocol: Callable[[], Any],
    *,
    dataset: str,
    max_train: int | None,
    n_bootstrap: int,
    out: Path | None,
    resume: Path | None,
    force: bool,
    n_jobs: int,
    scheduler: str | None,
) -> None:
    """Run a new run of ``command`` into ``--out``, or finish the one in ``--resume``.

    Parameters
    ----------
    command : RunCommand
    protocol : callable
        Builds the protocol from the command's options (its library errors are turned into
        flags); not called on ``--resume``, which reads the saved configuration.
    dataset, max_train, n_bootstrap, out, resume, force, n_jobs, scheduler
        The options ``--dataset``, ``--max-train``, ``--bootstrap``, ``--out``, ``--resume``,
        ``--force``, ``--n-jobs`` and ``--scheduler``.
    """
    err = Console(stderr=True)
    check_scheduler(scheduler)
    check_n_jobs(n_jobs, scheduler)
    if resume is not None:
        config = _saved_config(command, resume, out)
        data = _load_checked(config)
        completed = read_checkpoints(
            resume, Expectations.from_labels(config, data.y_train, len(data.y_test))
        )
        (resume / CHECKPOINTS).mkdir(exist_ok=True)
        err.print(f"Resuming {resume} with its saved settings; "
                  f"{command.resumed(config, len(completed))}")
        with closing(make_runner(n_jobs=n_jobs, scheduler=scheduler)) as runner:
            result = command.run(RunContext(err, data, config, runner, completed, resume))
        write_outputs(resume, result)
        command.summary(result, resume)
        return

    with flags_named():
        config = RunConfig(dataset=dataset, protocol=protocol(), max_train=max_train,
                           n_bootstrap=n_bootstrap)
        config.validate()
    target = out or default_out(command.name, config.dataset)
    replaces = check_out(target, command.result.layout, force=force, names=FLAG_NAMES)
    data = _load_checked(config)
    # The runner first: a scheduler that cannot be reached leaves no folder behind.
    with closing(make_runner(n_jobs=n_jobs, scheduler=scheduler)) as runner:
        with new_run_folder(target, config.to_dict(), command.result.layout, replaces=replaces,
                            names=FLAG_NAMES) as folder:
            result = command.run(RunContext(err, data, config, runner, {}, folder.path))
            finish_run_folder(folder, result)
    command.summary(result, target)


def _load_checked(config: RunConfig[Any]) -> Dataset:
    """Load the dataset and check the protocol against the training labels it will use."""
    dataset = load_dataset(config.dataset)
    with flags_named():
        rows = subsample_rows(dataset.y_train, config.max_train, config.protocol.random_state)
        config.protocol.validate_for(np.asarray(dataset.y_train)[rows])
    return dataset


def _saved_config(command: RunCommand, resume: Path, out: Path | None) -> RunConfig[Any]:
    """The configuration saved in an interrupted run folder, checked."""
    saved = resume_run_folder(resume, out, command.name)
    try:
        config = RunConfig.from_dict(saved, command.result.protocol_type)
        config.validate()
    except InputError as exc:
        raise InputError(f"{resume / CONFIG_FILE}: {exc}") from exc
    return config


def default_out(kind: str, dataset: str) -> Path:
    """The default run folder of a command: a new one for every run.

    Parameters
    ----------
    kind : str
        The command's name (``study``, ``compare``).
    dataset : str
        The dataset's name; characters unsafe in a file name become ``-``.

    Returns
    -------
    Path
        ``runs/<kind>-<dataset>-<timestamp>``.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset).strip("-") or "dataset"
    return Path("runs") / f"{kind}-{safe}-{time.strftime('%Y%m%d-%H%M%S')}"


def resume_run_folder(resume: Path, out: Path | None, command: str) -> dict[str, Any]:
    """Check ``--resume`` (given without ``--out``) and return the run's saved configuration.

    Nothing is written.

    Parameters
    ----------
    resume : Path
        The interrupted run folder.
    out : Path or None
        The ``--out`` option, which must not be given together with ``--resume``.
    command : str
        The command resuming it, which must be the one that started it.

    Returns
    -------
    dict
        The contents of the folder's ``config.json``, without its ``command``.

    Raises
    ------
    typer.BadParameter
        If ``out`` is given too (a usage error).
    InputError
        If the folder is missing, already complete, another command's, or has no readable
        configuration.
    """
    if out is not None:
        raise typer.BadParameter("give either --out or --resume, not both", param_hint="--resume")
    if not resume.is_dir():
        raise InputError(f"--resume {resume}: no such run folder")
    if (resume / COMPLETE_MARKER).exists():
        raise InputError(f"--resume {resume}: this run is already complete (metrics.json exists)")
    config = read_json(resume / CONFIG_FILE, "run configuration")
    if not isinstance(config, dict):
        raise InputError(f"{resume / CONFIG_FILE}: run configuration is not a JSON object")
    recorded = config.pop("command", command)
    if recorded != command:
        raise InputError(
            f"--resume {resume}: this is a {recorded!r} run folder, not a {command} one"
        )
    checkpoints = resume / CHECKPOINTS
    if checkpoints.exists() and not stat.S_ISDIR(checkpoints.lstat().st_mode):
        raise InputError(f"{checkpoints}: is not a folder")
    return config
