"""Writing results safely: atomic files and run folders that are never silently overwritten.

Each file is written to a temporary file in the same folder and renamed over its final name, so a
reader (or a killed run) never sees a half-written file. A run folder holds ``config.json`` from its
start and ``checkpoints/fold-K.json`` for each finished outer fold, so ``--resume`` can finish it;
``metrics.json`` is written last and marks the run complete. The commands that write run folders
(``study``, ``compare``) start them with :func:`start_run_folder` in :func:`default_out`'s folder
unless ``--out`` is given, and reopen them with :func:`resume_run_folder`.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import typer

from mnist_logreg.atomic import write_atomic
from mnist_logreg.errors import InputError

CONFIG_FILE = "config.json"
CHECKPOINTS = "checkpoints"
COMPLETE_MARKER = "metrics.json"


def to_json(data: Any) -> str:
    """Serialize results as readable JSON, keeping key order (it is meaningful)."""
    return json.dumps(data, indent=2, allow_nan=False, default=_json_default) + "\n"


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically."""
    write_atomic(path, to_json(data))


def read_json(path: Path, what: str) -> Any:
    """Read a JSON file, turning any problem into a one-line :class:`InputError`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: {what} not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: {what} is unreadable or not valid JSON ({exc})") from exc


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


def create_run_folder(out: Path, *, force: bool = False) -> Path:
    """Create a fresh run folder; refuse an existing non-empty one unless ``force``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise InputError(
                f"--out {out}: folder exists and is not empty; use --resume {out} to finish an "
                "interrupted run or --force to replace it"
            )
        shutil.rmtree(out)
    try:
        (out / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create the folder ({exc.strerror})") from exc
    return out


def open_run_folder_for_resume(folder: Path) -> dict[str, Any]:
    """Check a run folder for ``--resume`` and return its saved configuration."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--resume {folder}: no such run folder")
    if (folder / COMPLETE_MARKER).exists():
        raise InputError(f"--resume {folder}: this run is already complete (metrics.json exists)")
    config = read_json(folder / CONFIG_FILE, "run configuration")
    if not isinstance(config, dict):
        raise InputError(f"{folder / CONFIG_FILE}: run configuration is not a JSON object")
    (folder / CHECKPOINTS).mkdir(exist_ok=True)
    return config


def resume_run_folder(resume: Path, out: Path | None) -> dict[str, Any]:
    """Check ``--resume`` (given without ``--out``) and return the run's saved configuration.

    Parameters
    ----------
    resume : Path
        The interrupted run folder.
    out : Path or None
        The ``--out`` option, which must not be given together with ``--resume``.

    Returns
    -------
    dict
        The contents of the folder's ``config.json``.

    Raises
    ------
    typer.BadParameter
        If ``out`` is given too (a usage error).
    InputError
        If the folder is missing, already complete or has no readable configuration.
    """
    if out is not None:
        raise typer.BadParameter("give either --out or --resume, not both", param_hint="--resume")
    return open_run_folder_for_resume(resume)


def start_run_folder(out: Path, config: dict[str, Any], *, force: bool = False) -> Path:
    """Create a new run folder and save the run's configuration in it as ``config.json``.

    Parameters
    ----------
    out : Path
        The folder to create (see :func:`create_run_folder`).
    config : dict
        The run's configuration, what ``--resume`` will read back.
    force : bool, default=False
        Replace ``out`` if it exists and is not empty.

    Returns
    -------
    Path
        The created folder.
    """
    folder = create_run_folder(out, force=force)
    write_json(folder / CONFIG_FILE, config)
    return folder


def read_checkpoints(folder: Path) -> dict[int, dict[str, Any]]:
    """Finished outer folds saved in ``folder/checkpoints`` (keyed by fold number)."""
    records: dict[int, dict[str, Any]] = {}
    for path in sorted((Path(folder) / CHECKPOINTS).glob("fold-*.json")):
        record = read_json(path, "fold checkpoint")
        if not isinstance(record, dict) or "fold" not in record:
            raise InputError(f"{path}: fold checkpoint lacks its fold number")
        records[int(record["fold"])] = record
    return records


def write_checkpoint(folder: Path, record: dict[str, Any]) -> None:
    """Save one finished outer fold atomically."""
    write_json(Path(folder) / CHECKPOINTS / f"fold-{int(record['fold'])}.json", record)
