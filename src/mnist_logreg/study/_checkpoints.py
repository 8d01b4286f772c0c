"""Checkpoints of a run folder: one file per finished search, trusted only once validated.

One format for the study and the comparison: each finished search and refit is saved as its
record (:func:`~mnist_logreg.study.outcome_record`: model, fold, best parameters, every
candidate's scores, row counts, timings, validation metrics) in ``checkpoints/<model>-fold-K.json``
or ``<model>-final.json`` (the final model's test scores beside it in ``<model>-final.npz``); the
study, whose one model is ``lr``, names its files ``fold-K.json`` (and keeps its final model, which
it does not checkpoint). Each record carries ``config_sha256``, the SHA-256 of the run's
configuration (:func:`config_digest`). :func:`write_checkpoint` and :func:`read_checkpoints` with
one :class:`Expectations` serve both commands.

On ``--resume`` every file in ``checkpoints/`` is checked against the run's configuration and
data before any of it is used: the name is one the run writes; the fold exists in the configured
folds; every field is present with its type; numbers are finite and within their range; the
candidates are exactly the ones the configuration draws for that search (a C path's range
extensions replayed from the recorded scores); the row counts are the fold's; the configuration
digest matches. A file that fails raises :class:`~mnist_logreg.errors.DataFormatError` naming it
and the first problem, in one line. A study checkpoint written before this format (without
``model``) is refused as such: such a run cannot be resumed, only rerun. Files written by an
interrupted write (``.<name>.<random>.tmp``) and a final model's arrays without their JSON file
(the arrays are written first) are ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg._json_fields import (
    FieldError,
    boolean,
    integer,
    json_list,
    json_object,
    number,
    show,
)
from mnist_logreg.atomic import write_atomic
from mnist_logreg.datasets import parse_npy
from mnist_logreg.errors import DataFormatError, InputError
from mnist_logreg.evaluation import classification_metrics
from mnist_logreg.model_selection import FINAL, RangeSearch, outer_splits, replay_range
from mnist_logreg.study._config import RunConfig
from mnist_logreg.study._run_folder import CHECKPOINTS, TEMP_FILE, parse_json
from mnist_logreg.study._run_folder import to_json as _dumps
from mnist_logreg.study._study import VALIDATION_METRICS, subsample_rows

MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024
"""Largest checkpoint file read (a final model's test scores on 10,000 rows take 0.8 MB)."""
MAX_INT = 2**53
"""Largest integer accepted in a checkpoint (exactly representable as a float)."""

CHECKPOINT_NAME = re.compile(
    r"(?:(?P<model>[a-z][a-z0-9-]*?)-)?(?:fold-(?P<fold>[1-9][0-9]{0,5})|final)\.(?P<ext>json|npz)"
)
"""``[<model>-]fold-K.json``, ``[<model>-]final.json`` and ``.npz`` (no model: the study's)."""


class _Invalid(FieldError):
    """A problem of a checkpoint; turned into a DataFormatError naming the file."""


def config_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of a run's configuration (canonical JSON: sorted keys, no spaces).

    Parameters
    ----------
    config : mapping
        The JSON-ready configuration (``StudyConfig.to_dict()``, ``ComparisonConfig.to_dict()``).

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- writing ------------------------------------------------------------------------------------


# --- field checks -------------------------------------------------------------------------------


def _field(record: Mapping[str, Any], key: str, where: str = "") -> Any:
    if key not in record:
        raise _Invalid(f"lacks {where}{key!r}")
    return record[key]


def _equal(value: Any, expected: Any, what: str) -> None:
    if type(value) is not type(expected) or value != expected:
        raise _Invalid(f"{what} is {show(value)}, but this run's is {show(expected)}")


def _seconds(record: dict[str, Any], keys: tuple[str, ...]) -> None:
    seconds = json_object(_field(record, "seconds"), "'seconds'")
    for key in keys:
        number(_field(seconds, key, "'seconds' "), f"'seconds'[{key!r}]", 0.0)


def _scores(candidate: dict[str, Any], what: str, n_splits: int) -> None:
    number(_field(candidate, "mean_score", what + " "), f"{what}['mean_score']")
    number(_field(candidate, "std_score", what + " "), f"{what}['std_score']", 0.0)
    splits = json_list(_field(candidate, "split_scores", what + " "), f"{what}['split_scores']",
                   n_splits)
    for j, score in enumerate(splits):
        number(score, f"{what}['split_scores'][{j}]")


def _parse_json(data: bytes) -> Any:
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise _Invalid(f"is larger than {MAX_CHECKPOINT_BYTES} bytes")
    try:
        return parse_json(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _Invalid(f"is not valid JSON ({message[:80]})") from None


def _checked(name: str, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except FieldError as exc:
        raise DataFormatError(f"{CHECKPOINTS}/{name}: invalid checkpoint: {exc}") from None


def _digest(record: dict[str, Any], expected: str) -> None:
    digest = record.pop("config_sha256", None)
    if digest is not None and digest != expected:
        raise _Invalid("was written by a run with another configuration (config_sha256 differs)")


@contextlib.contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    """Prefix the block's checkpoint errors with the run folder."""
    try:
        yield
    except DataFormatError as exc:
        message = str(exc)
        if message.startswith(CHECKPOINTS + "/"):
            raise DataFormatError(f"{folder}{os.sep}{message}") from exc
        raise


def _checkpoint_files(folder: Path) -> list[Path]:
    checkpoints = Path(folder) / CHECKPOINTS
    if not checkpoints.exists():
        return []
    try:
        entries = sorted(checkpoints.iterdir())
    except OSError as exc:
        raise DataFormatError(f"{checkpoints}: cannot list the folder ({exc.strerror})") from exc
    files = []
    for entry in entries:
        if TEMP_FILE.fullmatch(entry.name):
            continue
        if not stat.S_ISREG(entry.lstat().st_mode):
            raise DataFormatError(f"{CHECKPOINTS}/{entry.name}: is not a plain file")
        files.append(entry)
    return files


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CHECKPOINT_BYTES + 1)
    except OSError as exc:
        raise DataFormatError(f"{CHECKPOINTS}/{path.name}: unreadable ({exc.strerror})") from exc
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise DataFormatError(
            f"{CHECKPOINTS}/{path.name}: is larger than {MAX_CHECKPOINT_BYTES} bytes"
        )
    return data


@cache
def _validation_keys() -> dict[str, type]:
    """The keys of a fold's ``validation`` block and their JSON types (``float`` for numbers)."""
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    block = classification_metrics(y, y, proba, np.array([0, 1]))
    block.pop("classification_report", None)
    return {k: float if isinstance(v, int | float) else type(v) for k, v in block.items()}


_UPPER = {"log_loss": math.inf, "brier": 2.0}
"""Upper bounds of the validation metrics that are not within [0, 1]."""
_PER_CLASS = ("precision", "recall", "f1", "support", "roc_auc")


def _check_validation(
    value: Any, classes: tuple[str, ...], n_validation: int, full: bool
) -> None:
    """A fold's ``validation`` block (``full``: every metric, else :data:`VALIDATION_METRICS`):
    every metric in range, counts adding up."""
    validation = json_object(value, "'validation'")
    expected = _validation_keys() if full else dict.fromkeys(VALIDATION_METRICS, float)
    if set(validation) != set(expected):
        missing = sorted(set(expected) - set(validation))
        extra = sorted(set(validation) - set(expected))
        raise _Invalid(f"'validation' keys differ (missing {missing[:3]}, unexpected {extra[:3]})")
    for key, kind in expected.items():
        what = f"'validation'[{key!r}]"
        if key == "n_samples":
            _equal(validation[key], n_validation, what)
        elif kind is float:
            if validation[key] is not None:
                number(validation[key], what, 0.0, _UPPER.get(key, 1.0))
        elif not isinstance(validation[key], kind):
            raise _Invalid(f"{what} must be a {kind.__name__}")
    number(validation["accuracy"], "'validation'['accuracy']", 0.0, 1.0)
    if "confusion_matrix" in validation:
        matrix = json_list(validation["confusion_matrix"], "'confusion_matrix'", len(classes))
        total = 0
        for i, row in enumerate(matrix):
            for j, count in enumerate(json_list(row, f"'confusion_matrix'[{i}]", len(classes))):
                total += integer(count, f"'confusion_matrix'[{i}][{j}]", 0, n_validation)
        if total != n_validation:
            raise _Invalid(f"'confusion_matrix' counts {total} rows, not {n_validation}")
    if "per_class" in validation:
        per_class = json_object(validation["per_class"], "'per_class'")
        if list(per_class) != list(classes):
            raise _Invalid("'per_class' must have one entry per class, in order")
        for label, entry in per_class.items():
            entry = json_object(entry, f"'per_class'[{label!r}]")
            if set(entry) != set(_PER_CLASS):
                raise _Invalid(f"'per_class'[{label!r}] must have {', '.join(_PER_CLASS)}")
            for key in _PER_CLASS:
                what = f"'per_class'[{label!r}][{key!r}]"
                if key == "support":
                    integer(entry[key], what, 0, n_validation)
                elif entry[key] is not None:
                    number(entry[key], what, 0.0, 1.0)


# --- what a run's checkpoints must say ----------------------------------------------------------


@dataclass(frozen=True)
class Expectations:
    """What a run's checkpoints must say: derived from its configuration and data.

    Parameters
    ----------
    config : RunConfig
        The run's configuration (a study's or a comparison's).
    fold_sizes : dict of int to (int, int)
        ``(n_train, n_eval)`` of each outer fold and of the final model (fold 0, evaluated on
        the test set).
    classes : tuple of str
        The training labels' classes, as the ``per_class`` keys name them.
    """

    config: RunConfig[Any]
    fold_sizes: dict[int, tuple[int, int]]
    classes: tuple[str, ...]
    digest: str = field(init=False)
    _candidates: dict[tuple[str, int], list[Any]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", config_digest(self.config.to_dict()))

    @classmethod
    def from_labels(cls, config: RunConfig[Any], y_train: np.ndarray, n_test: int) -> Expectations:
        """Expectations of a run on a dataset with these training labels.

        Parameters
        ----------
        config : RunConfig
        y_train : ndarray of shape (n_samples,)
            All the dataset's training labels (``max_train`` is applied here).
        n_test : int
            Rows of the test set.
        """
        protocol = config.protocol
        rows = subsample_rows(y_train, config.max_train, protocol.random_state)
        y = np.asarray(y_train)[rows]
        splits = outer_splits(y, protocol.outer, protocol.random_state)
        sizes = {k: (len(train), len(val)) for k, (train, val) in enumerate(splits, start=1)}
        sizes[FINAL] = (len(y), int(n_test))
        return cls(config=config, fold_sizes=sizes, classes=tuple(str(c) for c in np.unique(y)))

    @property
    def n_classes(self) -> int:
        """Classes of the training labels (the columns of the final model's test scores)."""
        return len(self.classes)

    def candidates(self, model: str, fold: int) -> list[Any]:
        """A comparison's candidates of ``model`` in search ``fold``, as read back from JSON."""
        if (model, fold) not in self._candidates:
            drawn = self.config.protocol.candidates(model, fold)
            self._candidates[(model, fold)] = json.loads(_dumps(drawn))
        return self._candidates[(model, fold)]


def write_checkpoint(folder: Path, record: Mapping[str, Any], config: RunConfig[Any]) -> None:
    """Save one finished search of a study or a comparison atomically (see the module's text).

    A final model's arrays (``record["arrays"]``) go to ``<stem>.npz``, written first, so a JSON
    file always has its arrays.

    Parameters
    ----------
    folder : Path
        The run folder.
    record : mapping
        The search's record (:func:`~mnist_logreg.study.outcome_record`).
    config : RunConfig
        The run's configuration, whose digest the checkpoint carries.
    """
    fold = int(record["fold"])
    stem = ("" if config.protocol.c_path else f"{record['model']}-") + (
        "final" if fold == FINAL else f"fold-{fold}")
    data = {k: v for k, v in record.items() if k != "arrays"}
    data["config_sha256"] = config_digest(config.to_dict())
    if record.get("arrays"):
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {str(k): np.asarray(v) for k, v in record["arrays"].items()}
        np.savez(buffer, **arrays)
        write_atomic(Path(folder) / CHECKPOINTS / f"{stem}.npz", buffer.getvalue())
    write_atomic(Path(folder) / CHECKPOINTS / f"{stem}.json", _dumps(data))


def read_checkpoints(folder: Path, expect: Expectations) -> dict[tuple[str, int], dict[str, Any]]:
    """Every finished search saved in ``folder/checkpoints``, validated.

    Parameters
    ----------
    folder : Path
        The run folder.
    expect : Expectations
        The run's configuration, fold sizes and classes.

    Returns
    -------
    dict
        Records keyed by (model, fold), 0 for a final model.

    Raises
    ------
    DataFormatError
        For the first file that is not a valid checkpoint of this run.
    """
    with _in_folder(folder):
        files = {path.name: path for path in _checkpoint_files(folder)}
        records: dict[tuple[str, int], dict[str, Any]] = {}
        for name, path in files.items():
            match = CHECKPOINT_NAME.fullmatch(name)
            if match is not None and match["ext"] == "npz":
                if match["fold"] is not None:
                    raise DataFormatError(f"{CHECKPOINTS}/{name}: is not a file the "
                                          f"{expect.config.command} writes")
                continue  # a final model's arrays, read with its JSON (or left by a cut-off write)
            arrays_name = name[: -len(".json")] + ".npz" if name.endswith("final.json") else None
            arrays = (_read_bytes(files[arrays_name])
                      if arrays_name is not None and arrays_name in files else None)
            record = parse_checkpoint(_read_bytes(path), name, expect, arrays)
            records[(str(record["model"]), int(record["fold"]))] = record
        return records


def parse_checkpoint(
    data: bytes, name: str, expect: Expectations, arrays: bytes | None = None
) -> dict[str, Any]:
    """Parse and validate one checkpoint (its JSON and, for a final model, its arrays).

    Parameters
    ----------
    data : bytes
        The JSON file's content.
    name : str
        Its file name (``[<model>-]fold-K.json`` or ``<model>-final.json``).
    expect : Expectations
        The run's configuration, fold sizes and classes.
    arrays : bytes, optional
        The content of ``<model>-final.npz`` (required for a final model).

    Returns
    -------
    dict
        The search's record, as :func:`~mnist_logreg.study.outcome_record` made it (a final
        model's with ``"arrays": {"scores": ndarray}``).

    Raises
    ------
    DataFormatError
        Naming the file and the first problem.
    """
    return _checked(name, lambda: _record(data, name, expect, arrays))  # type: ignore[no-any-return]


def _record(data: bytes, name: str, expect: Expectations, arrays: bytes | None) -> dict[str, Any]:
    cv = expect.config.protocol
    match = CHECKPOINT_NAME.fullmatch(name)
    if (match is None or match["ext"] != "json" or (match["model"] is None) != cv.c_path
            or (cv.c_path and match["fold"] is None)):
        raise _Invalid(f"is not a file the {'study' if cv.c_path else 'comparison'} writes ("
                       + ("fold-K.json)" if cv.c_path
                          else "<model>-fold-K.json, <model>-final.json)"))
    model = match["model"] or cv.models[0]
    fold = FINAL if match["fold"] is None else int(match["fold"])
    if model not in cv.models:
        raise _Invalid(f"model {model!r} is not one of this run's ({', '.join(cv.models)})")
    if fold > cv.outer:
        raise _Invalid(f"fold {fold} is not one of this run's {cv.outer} outer folds")
    record = json_object(_parse_json(data), "the checkpoint")
    if "model" not in record and "n_validation" in record:
        raise _Invalid("was written by an earlier version of mnist-logreg (a study record "
                       "without 'model'), which cannot be resumed; start a new run")
    _digest(record, expect.digest)
    if cv.c_path:  # the study's message for a fold that is not a number
        integer(_field(record, "fold"), "'fold'", 1, MAX_INT)
    _equal(_field(record, "fold"), fold, "'fold'")
    _equal(_field(record, "scoring"), cv.scoring, "'scoring'")
    _equal(_field(record, "model"), model, "'model'")
    budget = cv.budget(model)
    candidates = json_list(_field(record, "candidates"), "'candidates'")
    for i, candidate in enumerate(candidates):
        what = f"'candidates'[{i}]"
        json_object(_field(json_object(candidate, what), "params", what + " "), f"{what}['params']")
        _scores(candidate, what, budget.inner)
    if cv.c_path:
        expected, state = _expected_search(cv, fold, candidates)
    else:
        expected = expect.candidates(model, fold)
    _equal([c["params"] for c in candidates], expected, "the candidates' 'params'")
    best = json_object(_field(record, "best_params"), "'best_params'")
    if best not in expected:
        raise _Invalid(f"'best_params' {show(best)} is not one of the search's candidates")
    if cv.c_path:
        _equal(_field(record, "range"), json.loads(_dumps(state.record(best["C"]))), "'range'")
    n_train, n_eval = expect.fold_sizes[fold]
    _equal(_field(record, "n_train"), n_train, "'n_train'")
    n_search = n_train if budget.search_rows is None else min(budget.search_rows, n_train)
    _equal(_field(record, "n_search"), n_search, "'n_search'")
    _equal(_field(record, "n_eval"), n_eval, "'n_eval'")
    _seconds(record, ("search", "fit", "predict"))
    number(_field(record, "predict_seconds_per_10k"), "'predict_seconds_per_10k'", 0.0)
    integer(_field(record, "model_bytes"), "'model_bytes'", 0, MAX_INT)
    json_object(_field(record, "details"), "'details'")
    proba = boolean(_field(record, "scores_are_proba"), "'scores_are_proba'")
    if fold != FINAL:
        _check_validation(_field(record, "validation"), expect.classes, n_eval, cv.c_path)
        return record
    if "validation" in record:
        raise _Invalid("a final model's checkpoint has no 'validation'")
    if arrays is None:
        raise _Invalid("its test scores (the .npz file beside it) are missing")
    scores = _scores_array(arrays, (n_eval, expect.n_classes))
    if proba and not bool(np.all((scores >= 0.0) & (scores <= 1.0))):
        raise _Invalid("its test probabilities are not all within [0, 1]")
    record["arrays"] = {"scores": scores}
    return record


def _expected_search(
    cv: Any, fold: int, candidates: list[Any]
) -> tuple[list[dict[str, float]], RangeSearch]:
    """The candidates (sorted) and range decisions a C-path search must have made.

    The search is replayed from the record's own mean scores: the initial candidates are the
    configuration's, and each extension must follow from the scores before it.
    """
    scores = {}
    for i, c in enumerate(candidates):
        C = float(number(_field(c["params"], "C", f"'candidates'[{i}]['params'] "),
                         f"'candidates'[{i}]['params']['C']", 0.0))
        scores[C] = float(c["mean_score"])
    try:
        state = replay_range(cv.candidates_for(fold), cv.c_min, cv.c_max,
                             expand=cv.expand_range, random_state=cv.random_state,
                             search=fold, mean_score=scores)
    except KeyError as exc:
        raise _Invalid(
            f"'candidates' lacks C = {exc.args[0]!r}, which this run's search draws"
        ) from exc
    return [{"C": float(C)} for C in np.sort(state.Cs)], state


def _scores_array(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The ``scores`` array of a final model's ``.npz``: float, of ``shape``, finite.

    Sizes are checked before anything is decompressed or allocated: the archive must hold one
    ``scores.npy`` whose declared size and header agree with ``shape``.
    """
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise _Invalid(f"its arrays are larger than {MAX_CHECKPOINT_BYTES} bytes")
    expected_bytes = shape[0] * shape[1] * 8
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if [info.filename for info in infos] != ["scores.npy"]:
                raise _Invalid("its arrays must be exactly one 'scores' array")
            if infos[0].file_size > expected_bytes + 4096:
                raise _Invalid("its 'scores' array is larger than the test set's")
            with archive.open(infos[0]) as handle:
                raw = handle.read(expected_bytes + 4096 + 1)
    except _Invalid:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            NotImplementedError, RuntimeError, MemoryError) as exc:
        raise _Invalid(f"its arrays are unreadable ({type(exc).__name__})") from None
    try:
        scores = parse_npy(raw, "its 'scores' array", kinds="f", what="scores")
    except InputError as exc:  # DataFormatError included
        raise _Invalid(str(exc)) from None
    if scores.shape != shape or scores.dtype != np.float64:
        raise _Invalid(f"its 'scores' array must be float64 of shape {shape}, got "
                       f"{scores.dtype} of shape {show(scores.shape)}")
    if not bool(np.all(np.isfinite(scores))):
        raise _Invalid("its 'scores' array has non-finite values")
    return scores


__all__ = [
    "Expectations",
    "config_digest",
    "parse_checkpoint",
    "read_checkpoints",
    "write_checkpoint",
]
