"""Command-line options shared by the commands that write a run folder (``study``, ``compare``).

Each shared option is a :data:`typing.Annotated` alias, so a command declares it as
``dataset: DatasetOption = "mnist"``: the flag and its help live here, the default stays in the
command's signature. Options whose help differs between commands (``--seed``, ``--max-train``,
``--out``) are declared by each command.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mnist_logreg.errors import InputError

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
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Replace --out if it is an earlier run folder of this command."),
]


FLAGS: dict[str, str] = {
    "dataset": "--dataset",
    "outer": "--outer",
    "inner": "--inner",
    "n_candidates": "--candidates",
    "c_min": "--c-min",
    "c_max": "--c-max",
    "sampling": "--sampling",
    "scoring": "--scoring",
    "strategy": "--strategy",
    "random_state": "--seed",
    "max_train": "--max-train",
    "n_bootstrap": "--bootstrap",
    "n_jobs": "--n-jobs",
    "models": "--models",
    "C": "--C",
}
"""The library's parameter names and the command line's flags for them."""

_PARAMETER = re.compile(r"The '(\w+)' parameter(?: of \w+)?|(?<!Got )'(\w+)'")


def name_flags(message: str) -> str:
    """Rewrite a library message to name the command line's flags instead of parameters.

    ``"The 'n_candidates' parameter must be >= 1"`` becomes ``"--candidates must be >= 1"``;
    a quoted parameter name elsewhere (``'outer' 3``) becomes its flag (``--outer 3``).

    Parameters
    ----------
    message : str
        The library error's message.

    Returns
    -------
    str
    """

    def flag(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        return FLAGS.get(name, match[0])

    return _PARAMETER.sub(flag, message)


@contextmanager
def flags_named() -> Iterator[None]:
    """Re-raise the block's :class:`InputError` with flags named instead of parameters."""
    try:
        yield
    except InputError as exc:
        raise type(exc)(name_flags(str(exc))) from exc


def max_jobs() -> int:
    """Most local worker processes ``--n-jobs`` or ``--scheduler local:N`` may start.

    Four per core (at least 8): each worker is a process holding its own copy of the libraries,
    so a mistyped ``--n-jobs 100000`` must not start them.
    """
    return max(8, 4 * (os.cpu_count() or 1))


def check_n_jobs(n_jobs: int, scheduler: str | None = None) -> None:
    """Raise :class:`InputError` for a worker count that cannot run here (before any work).

    Parameters
    ----------
    n_jobs : int
        ``--n-jobs``: -1 (one per core) or 1 to :func:`max_jobs`.
    scheduler : str or None
        ``--scheduler``; ``local:N`` starts N local workers, bounded the same way.
    """
    limit = max_jobs()
    if n_jobs != -1 and not 1 <= n_jobs <= limit:
        raise InputError(
            f"--n-jobs must be -1 (one per core) or in [1, {limit}] (4 per core). "
            f"Got {n_jobs} instead."
        )
    if scheduler is not None and scheduler.startswith("local:"):
        text = scheduler.removeprefix("local:")
        if text.isdigit() and int(text) > limit:
            raise InputError(
                f"--scheduler local:N starts N local workers, at most {limit} (4 per core). "
                f"Got {scheduler!r} instead."
            )
