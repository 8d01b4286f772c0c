"""Command-line options shared by the commands that write a run folder (``study``, ``compare``).

Each shared option is a :data:`typing.Annotated` alias, so a command declares it as
``dataset: DatasetOption = "mnist"``: the flag and its help live here, the default stays in the
command's signature. Options whose help differs between commands are built by a function that
takes that help.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.models import OptionInfo

DatasetOption = Annotated[
    str, typer.Option("--dataset", help="mnist, fashion-mnist, digits, idx:DIR, openml:NAME.")
]
BootstrapOption = Annotated[
    int, typer.Option("--bootstrap", help="Bootstrap resamples for the 95% confidence intervals.")
]
NJobsOption = Annotated[
    int, typer.Option("--n-jobs", help="Local worker processes (-1: one per core, 1: in-process).")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", help="tcp://HOST:PORT (Dask scheduler) or local:N (LocalCluster)."),
]
ResumeOption = Annotated[
    Path | None,
    typer.Option(
        "--resume", help="Finish the interrupted run in this folder with its saved settings."
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")]


def seed_option(help: str) -> OptionInfo:
    """The ``--seed`` option with a command's own help.

    Parameters
    ----------
    help : str
        What the seed drives in this command.

    Returns
    -------
    OptionInfo
        To use as ``seed: Annotated[int, seed_option(...)] = 42``.
    """
    return typer.Option("--seed", help=help)


def max_train_option(help: str) -> OptionInfo:
    """The ``--max-train`` option with a command's own help.

    Parameters
    ----------
    help : str
        How the training rows are subsampled in this command.

    Returns
    -------
    OptionInfo
        To use as ``max_train: Annotated[int | None, max_train_option(...)] = None``.
    """
    return typer.Option("--max-train", help=help)


def out_option(kind: str) -> OptionInfo:
    """The ``--out`` option of a command whose default folder is ``runs/<kind>-<dataset>-<time>``.

    Parameters
    ----------
    kind : str
        The command's name, the first part of its default run folder's name.

    Returns
    -------
    OptionInfo
        To use as ``out: Annotated[Path | None, out_option(...)] = None``.
    """
    return typer.Option(
        "--out", help=f"Run folder to create (default runs/{kind}-<dataset>-<time>)."
    )
