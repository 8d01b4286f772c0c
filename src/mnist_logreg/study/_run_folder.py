"""Run folders that never lose data: checked before anything is created, replaced only when ours.

Each file is written atomically (temporary file + rename), so a reader, or a killed run, never sees
a half-written file. A run folder holds ``config.json`` from its start (the run's configuration
and the ``command`` that made it) and ``checkpoints/`` for each finished search, so the command
line's ``--resume`` can finish it; ``metrics.json`` is written last and marks the run complete.

The study and the comparison write their run folders in three steps, the same from Python
(:meth:`StudyResult.write <mnist_logreg.study.StudyResult.write>`) and from the command line:

1. :func:`check_out` before anything else is created: the folder must be missing, an empty
   folder, or, when forced, a folder that is recognisably a run folder of the same command (its
   ``config.json`` or ``metrics.json`` names the command, and it holds only files the command
   writes; see :class:`RunLayout`). Anything else is refused with one line and left untouched.
2. :func:`new_run_folder`, once everything else has been validated: a new folder is created; a
   folder to replace is kept until the end and the new run is written beside it, in a hidden
   staging folder of the same parent.
3. :meth:`NewRunFolder.commit` after ``metrics.json`` is written: the staging folder takes the
   old one's place (one ``renameat2(RENAME_EXCHANGE)`` on Linux, two renames elsewhere) and the
   old run is deleted. A run that fails or is interrupted removes only its staging folder, so the
   previous results stay as they were.

Error messages name the folder and the force switch as the caller knows them
(:class:`OptionNames`): ``folder`` and ``force=True`` from Python, ``--out`` and ``--force`` on
the command line.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from mnist_logreg.atomic import write_atomic
from mnist_logreg.errors import InputError

CONFIG_FILE = "config.json"
CHECKPOINTS = "checkpoints"
COMPLETE_MARKER = "metrics.json"
MAX_JSON_BYTES = 64 * 1024 * 1024
"""Largest ``config.json``/``metrics.json`` read back (ours are a few hundred kilobytes)."""

TEMP_FILE = re.compile(r"\..+\.tmp")
"""atomic_open's temporary files: ``.<name>.<random>.tmp``."""


@dataclass(frozen=True)
class RunLayout:
    """The files one command writes in a run folder, to recognise a folder as one of its own.

    Parameters
    ----------
    command : str
        The command (``study``, ``compare``), as written in ``config.json`` and ``metrics.json``.
    files : str
        Regular expression that every file name at the top of the folder matches.
    checkpoints : str
        Regular expression that every file name in ``checkpoints/`` matches.
    """

    command: str
    files: str
    checkpoints: str

    def holds_only_our_files(self, folder: Path) -> str | None:
        """The first entry of ``folder`` this command would not have written, or ``None``."""
        for entry in _entries(folder):
            if entry.name == CHECKPOINTS and _is_plain_dir(entry):
                for inner in _entries(entry):
                    if not _is_ours(inner, self.checkpoints):
                        return f"{CHECKPOINTS}/{inner.name}"
            elif not _is_ours(entry, self.files):
                return entry.name
        return None


def file_names(*names: str) -> str:
    """A regular expression matching exactly these file names (for :class:`RunLayout`)."""
    return "|".join(re.escape(name) for name in names)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise InputError(f"{folder}: cannot list the folder ({exc.strerror})") from exc


def _is_plain_dir(path: Path) -> bool:
    return stat.S_ISDIR(path.lstat().st_mode)


def _is_ours(path: Path, pattern: str) -> bool:
    if not stat.S_ISREG(path.lstat().st_mode):  # links, folders, devices: never ours
        return False
    return bool(re.fullmatch(pattern, path.name) or TEMP_FILE.fullmatch(path.name))


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
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: {what} not found") from exc
    except OSError as exc:
        raise InputError(f"{path}: {what} is unreadable ({exc.strerror})") from exc
    if len(data) > MAX_JSON_BYTES:
        raise InputError(f"{path}: {what} is larger than {MAX_JSON_BYTES} bytes")
    try:
        return parse_json(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: {what} is not valid JSON ({exc})") from exc


def parse_json(data: bytes) -> Any:
    """Standard JSON from UTF-8 bytes: ``NaN`` and ``Infinity`` raise :class:`ValueError`."""

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"non-standard constant {name}")

    return json.loads(data.decode("utf-8"), parse_constant=refuse_constant)


def _recorded_command(folder: Path) -> str | None:
    """The command named by the folder's ``metrics.json`` or ``config.json``, if any."""
    for name in (COMPLETE_MARKER, CONFIG_FILE):
        path = folder / name
        if path.is_file():
            try:
                data = read_json(path, "run file")
            except InputError:
                return None
            command = data.get("command") if isinstance(data, dict) else None
            if isinstance(command, str):
                return command
    return None


@dataclass(frozen=True)
class OptionNames:
    """How messages name the options of a run folder: Python's parameters or the CLI's flags.

    Parameters
    ----------
    folder : str
        The run folder's option (``folder``; ``--out`` on the command line).
    force : str
        The switch that replaces an earlier run (``force=True``; ``--force``).
    resume : str or None
        The option that finishes an interrupted run, if the caller has one (``--resume``).
    """

    folder: str = "folder"
    force: str = "force=True"
    resume: str | None = None


PYTHON_NAMES = OptionNames()
"""The names of :meth:`StudyResult.write <mnist_logreg.study.StudyResult.write>`'s parameters."""


class WritesRunFolder:
    """The run folder of the study's and the comparison's result objects: ``write`` and the hooks
    each result class fills in.

    Attributes
    ----------
    layout : RunLayout
        The files the result's command writes.
    protocol_type : type
        The protocol of its configuration (``NestedCVConfig``, ``CompareConfig``), to read a
        saved ``config.json`` back.
    """

    layout: ClassVar[RunLayout]
    protocol_type: ClassVar[type[Any]]

    def write_own_files(self, folder: Path) -> None:
        """Write the files only this kind of result has (each atomically) into ``folder``."""
        raise NotImplementedError

    def write(self, folder: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the run folder, the same files as the command (``study``, ``compare``) with
        ``--out FOLDER``.

        A study's: ``config.json``, ``checkpoints/fold-K.json``, the figures,
        ``classification_report.txt``, ``report.md``, ``report.html``, ``model.npz`` (its
        metadata holds the data set, the final C, the strategy and the test accuracy, which the
        drawing page's model card shows) and ``metrics.json``, last. A comparison's:
        ``config.json``, every search's checkpoint (``checkpoints/<model>-fold-K.json``,
        ``<model>-final.json`` and its test scores ``<model>-final.npz``), the figures,
        ``test_predictions.csv``, ``report.md``, ``report.html`` and ``metrics.json``, last.
        The folder is written beside ``folder`` and put in place (renamed, or swapped with the
        folder it replaces) only once it is complete, so a failed write leaves nothing behind.

        Parameters
        ----------
        folder : path-like
            The run folder: missing or empty; or, with ``force``, an earlier run folder of the
            same command.
        force : bool, default False
            Replace ``folder`` if it is an earlier run folder of the same command (its
            ``config.json`` or ``metrics.json`` names it) holding only files the command writes.
            Any other folder is refused and left as it is.

        Returns
        -------
        Path
            The absolute path of the run folder.

        Raises
        ------
        InputError
            If ``folder`` is a file, a link or a non-empty folder that may not be replaced (one
            line naming it; nothing is created or deleted).
        """
        from mnist_logreg.study._run_files import write_run_folder  # it imports the results

        return write_run_folder(self, Path(folder), force=force)  # type: ignore[arg-type]


def check_out(
    out: Path, layout: RunLayout, *, force: bool, names: OptionNames = PYTHON_NAMES
) -> bool:
    """Check a run folder before anything is created; return whether it holds a run to replace.

    Parameters
    ----------
    out : Path
        The folder to create.
    layout : RunLayout
        What the command writes, to recognise one of its run folders.
    force : bool
        Whether an earlier run folder of the same command may be replaced.
    names : OptionNames, optional
        How the messages name the folder and ``force``.

    Returns
    -------
    bool
        True when ``out`` is an earlier run folder of this command that ``force`` replaces.

    Raises
    ------
    InputError
        If ``out`` is a file or a link, or a non-empty folder that is not replaceable; the one-line
        message names the path.
    """
    out = Path(out)
    where = f"{names.folder} {out}"
    if out.is_symlink():
        raise InputError(f"{where}: is a symbolic link; give the folder itself")
    if not out.exists():
        return False
    if not out.is_dir():
        raise InputError(f"{where}: exists and is not a folder")
    if not _entries(out):
        return False
    if not force:
        resume = (f"use {names.resume} {out} to finish an interrupted run, or "
                  if names.resume else "use ")
        raise InputError(
            f"{where}: folder exists and is not empty; {resume}{names.force} to replace an "
            f"earlier {layout.command} run folder"
        )
    command = _recorded_command(out)
    if command != layout.command:
        raise InputError(
            f"{where}: {names.force} replaces only an earlier {layout.command} run folder, and "
            "this folder is not one (no config.json or metrics.json naming the command); nothing "
            "was deleted"
        )
    foreign = layout.holds_only_our_files(out)
    if foreign is not None:
        raise InputError(
            f"{where}: {names.force} refused: the folder holds {foreign!r}, which "
            f"{layout.command} does not write; nothing was deleted"
        )
    return True


@dataclass
class NewRunFolder:
    """A run folder being written: ``path`` is where the files go now, ``out`` where they end.

    When the run replaces an earlier one (``replaces``), or is written whole from a finished
    result (``staged``), ``path`` is a hidden staging folder beside ``out``, put in place by
    :meth:`commit`; otherwise ``path`` is ``out``.
    """

    out: Path
    path: Path
    layout: RunLayout
    replaces: bool
    names: OptionNames = PYTHON_NAMES
    staged: bool = False

    def commit(self) -> None:
        """Put the finished run in place: swap the staging folder with the old run, delete it."""
        if not (self.replaces or self.staged):
            return
        # Checked again just before deleting: the folder may have changed while the run ran.
        if check_out(self.out, self.layout, force=self.replaces, names=self.names):
            shutil.rmtree(_swap(self.path, self.out))
        else:  # the old run was removed meanwhile (an empty folder is replaced by the rename)
            os.rename(self.path, self.out)
        self.replaces = self.staged = False
        self.path = self.out


@contextlib.contextmanager
def new_run_folder(
    out: Path,
    config: dict[str, Any],
    layout: RunLayout,
    *,
    replaces: bool,
    names: OptionNames = PYTHON_NAMES,
    staged: bool = False,
) -> Iterator[NewRunFolder]:
    """Create the run folder (or its staging folder) with ``config.json``; clean up on failure.

    Parameters
    ----------
    out : Path
        The checked run folder (see :func:`check_out`).
    config : dict
        The run's configuration, what ``--resume`` will read back (``command`` is added).
    layout : RunLayout
        The command's files.
    replaces : bool
        What :func:`check_out` returned: write beside ``out`` and swap at the end.
    names : OptionNames, optional
        How messages name the folder.
    staged : bool, optional
        Write into a staging folder beside ``out`` even when nothing is replaced, so that a
        failure leaves no partial folder (a finished result's write; a running command writes
        into ``out`` itself, for ``--resume``).

    Yields
    ------
    NewRunFolder
        Call its :meth:`~NewRunFolder.commit` once ``metrics.json`` is written. If the block
        raises first, a staging folder is removed (``out`` keeps the previous run, or stays
        missing); a new folder written in place is kept with its checkpoints, for ``--resume``.
    """
    out = Path(os.path.abspath(out))  # "." names its folder, whose parent holds the staging
    try:
        if replaces or staged:
            out.parent.mkdir(parents=True, exist_ok=True)
            path = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
            os.chmod(path, 0o777 & ~_umask())
        else:
            out.mkdir(parents=True, exist_ok=True)
            path = out
        (path / CHECKPOINTS).mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{names.folder} {out}: cannot create the folder ({exc.strerror})"
        ) from exc
    folder = NewRunFolder(out=out, path=path, layout=layout, replaces=replaces, names=names,
                          staged=staged)
    try:
        write_json(path / CONFIG_FILE, {"command": layout.command, **config})
        yield folder
    except BaseException:
        if folder.replaces or folder.staged:
            shutil.rmtree(folder.path, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap(new: Path, out: Path) -> Path:
    """Exchange the folders ``new`` and ``out``; return where the old ``out`` now lies."""
    if _rename_exchange(new, out):
        return new
    old = new.with_name(new.name[: -len(".new")] + ".old")
    os.rename(out, old)
    try:
        os.rename(new, out)
    except OSError:
        os.rename(old, out)
        raise
    return old


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step with Linux's ``renameat2``; False where it is unavailable."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)
