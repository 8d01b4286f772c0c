"""Tests of writing run folders from Python (``StudyResult.write``): the rules of ``--force``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import NestedCVConfig
from mnist_logreg.study import StudyConfig, StudyResult, run_study

CONFIG = StudyConfig(
    dataset="digits",
    protocol=NestedCVConfig(outer=2, inner=2, n_candidates=2, random_state=1),
    max_train=400,
    n_bootstrap=0,
)


@pytest.fixture(scope="module")
def result() -> StudyResult:
    """A tiny study's result."""
    return run_study(load_dataset("digits"), CONFIG)


@pytest.fixture(scope="module")
def written(result: StudyResult, tmp_path_factory) -> Path:
    """The run folder ``result.write`` made in a new folder."""
    return result.write(tmp_path_factory.mktemp("written") / "run")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"")
            for p in sorted(folder.rglob("*"))}


def test_write_creates_the_whole_run_folder(written: Path) -> None:
    """Test that write creates config.json, the fold checkpoints and every output."""
    names = {str(p.relative_to(written)) for p in written.rglob("*")}
    assert {"config.json", "metrics.json", "report.html", "report.md", "model.npz",
            "classification_report.txt", "confusion_matrix.png", "checkpoints/fold-1.json",
            "checkpoints/fold-2.json"} <= names
    assert json.loads((written / "config.json").read_text()) == {"command": "study",
                                                                 **CONFIG.to_dict()}
    assert json.loads((written / "metrics.json").read_text())["config"]["outer"] == 2


def test_write_refuses_a_non_empty_folder_without_force(
    result: StudyResult, written: Path, tmp_path: Path
) -> None:
    """Test that an existing run folder is refused without force: one line naming it, kept."""
    folder = tmp_path / "run"
    shutil.copytree(written, folder)
    before = _snapshot(folder)
    with pytest.raises(InputError) as info:
        result.write(folder)
    message = str(info.value)
    assert message == (f"folder {folder}: folder exists and is not empty; use force=True to "
                       "replace an earlier study run folder")
    assert _snapshot(folder) == before


def test_force_replaces_an_earlier_study_folder(
    result: StudyResult, written: Path, tmp_path: Path
) -> None:
    """Test that force=True replaces an earlier study run folder, leaving nothing beside it."""
    folder = tmp_path / "run"
    shutil.copytree(written, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["test"] = "an older run"
    (folder / "metrics.json").write_text(json.dumps(metrics))
    assert result.write(folder, force=True) == folder
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(
        (written / "metrics.json").read_text()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_write_into_an_empty_folder(result: StudyResult, tmp_path: Path) -> None:
    """Test that an existing empty folder is written into, without force."""
    folder = tmp_path / "empty"
    folder.mkdir()
    result.write(folder)
    assert (folder / "metrics.json").is_file()


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        ("foreign", "force=True replaces only an earlier study run folder"),
        ("compare", "force=True replaces only an earlier study run folder"),
        ("extra_file", "force=True refused: the folder holds 'notes.md', which study does not"),
        ("file", "exists and is not a folder"),
        ("link", "is a symbolic link"),
    ],
)
def test_force_refuses_what_is_not_an_earlier_study_folder(
    result: StudyResult, written: Path, tmp_path: Path, make: str, needle: str
) -> None:
    """Test that force=True deletes nothing that is not an earlier study run folder of only
    study files: a folder of one's own, another command's run, a run with a foreign file, a file
    and a link; each refused in one line naming the path."""
    target = tmp_path / "target"
    if make == "foreign":
        target.mkdir()
        (target / "thesis.tex").write_text("three years of work")
    elif make == "compare":
        shutil.copytree(written, target)
        config = json.loads((target / "config.json").read_text())
        (target / "config.json").write_text(json.dumps({**config, "command": "compare"}))
        (target / "metrics.json").unlink()
    elif make == "extra_file":
        shutil.copytree(written, target)
        (target / "notes.md").write_text("my notes")
    elif make == "file":
        target.write_text("a file")
    else:
        target.symlink_to(written)
    before = sorted(p.name for p in tmp_path.iterdir())
    snapshot = _snapshot(target) if target.is_dir() and not target.is_symlink() else None
    with pytest.raises(InputError) as info:
        result.write(target, force=True)
    message = str(info.value)
    assert "\n" not in message and str(target) in message and needle in message
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging folder left
    if snapshot is not None:
        assert _snapshot(target) == snapshot
    assert (written / "metrics.json").is_file()


def test_a_failed_forced_write_keeps_the_earlier_folder(
    result: StudyResult, written: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that a forced write failing midway (the model file) leaves the earlier run as it was
    and removes its staging folder."""
    from mnist_logreg.study import _study

    folder = tmp_path / "run"
    shutil.copytree(written, folder)
    before = _snapshot(folder)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_study, "save_model", fail)
    with pytest.raises(OSError, match="No space left"):
        result.write(folder, force=True)
    assert _snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_failed_write_to_a_new_folder_leaves_nothing(
    result: StudyResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that a write to a new folder failing midway (the model file) creates no folder and
    leaves no staging folder: a finished result is written whole or not at all."""
    from mnist_logreg.study import _study

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_study, "save_model", fail)
    with pytest.raises(OSError, match="No space left"):
        result.write(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
