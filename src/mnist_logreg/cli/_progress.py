"""Progress bars on stderr for the long commands (``study``, ``compare``)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def run_progress(console: Console, *count_columns: ProgressColumn) -> Progress:
    """A progress display: description, bar, ``count_columns``, elapsed time and ETA.

    Parameters
    ----------
    console : rich.console.Console
        Where to draw (stderr, so that stdout keeps only results).
    *count_columns : rich.progress.ProgressColumn
        The columns that say how far each task is, drawn between the bar and the times.

    Returns
    -------
    rich.progress.Progress
        Not yet started; use it as a context manager.
    """
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        *count_columns,
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, transient=False)
