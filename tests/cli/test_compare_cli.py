"""Tests of ``mnist-logreg compare``: the run folder, reproducibility, resume, bad options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

QUICK = ["--dataset", "digits", "--quick", "--models", "lr,knn,tree", "--bootstrap", "50",
         "--seed", "5"]
RUN_FILES = [
    "config.json",
    "metrics.json",
    "report.html",
    "report.md",
    "test_predictions.csv",
    "accuracy.png",
    "confusion_matrix_lr.png",
    "confusion_matrix_knn.png",
    "confusion_matrix_tree.png",
]


def _without_timings(data: Any) -> Any:
    """The results with every wall-time measurement (and the machine) removed."""
    if isinstance(data, dict):
        return {k: _without_timings(v) for k, v in data.items()
                if k not in ("timings", "seconds", "platform")
                and not k.endswith(("_seconds", "seconds_per_10k"))}
    if isinstance(data, list):
        return [_without_timings(v) for v in data]
    return data


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """One uninterrupted quick comparison on digits, shared by the tests below."""
    from mnist_logreg.cli.app import main

    out = tmp_path_factory.mktemp("ref") / "run"
    with pytest.raises(SystemExit) as info:
        main(["compare", *QUICK, "--n-jobs", "1", "--out", str(out)])
    assert info.value.code == 0
    return out


def test_compare_writes_the_whole_run_folder(reference_run: Path) -> None:
    """Test that a quick comparison writes every file, one entry per model and every pair."""
    for name in RUN_FILES:
        assert (reference_run / name).is_file(), name
    metrics = json.loads((reference_run / "metrics.json").read_text())
    assert metrics["command"] == "compare"
    assert list(metrics["models"]) == ["lr", "knn", "tree"]
    for entry in metrics["models"].values():
        assert {"value", "ci95"} <= set(entry["test"]["accuracy"])
        assert len(entry["folds"]) == 3
        assert entry["budget"]["inner"] == 2
        assert entry["model_bytes"] > 0
        assert entry["predict_seconds_per_10k"] >= 0
    assert len(metrics["mcnemar"]["pairs"]) == 3
    html = (reference_run / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html
    rows = (reference_run / "test_predictions.csv").read_text().splitlines()
    assert rows[0] == "row,true,lr,knn,tree"
    assert metrics["dataset"]["n_test"] == 450  # scikit-learn's digits: 450 test images
    assert len(rows) == 1 + 450
    checkpoints = sorted(p.name for p in (reference_run / "checkpoints").iterdir())
    assert "knn-final.npz" in checkpoints and "knn-fold-3.json" in checkpoints


def test_same_seed_gives_the_same_metrics(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that a second run with the same seed (in worker processes) gives the same metrics."""
    result = run_cli("compare", *QUICK, "--n-jobs", "2", "--out", tmp_path / "again")
    assert result.code == 0, result.err
    first = json.loads((reference_run / "metrics.json").read_text())
    second = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert _without_timings(first) == _without_timings(second)


def test_resume_finishes_an_interrupted_run(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that --resume reruns only the missing searches and reproduces the results."""
    folder = tmp_path / "interrupted"
    shutil.copytree(reference_run, folder)
    (folder / "metrics.json").unlink()
    for name in ("tree-final.json", "tree-final.npz", "knn-fold-2.json"):
        (folder / "checkpoints" / name).unlink()
    result = run_cli("compare", "--resume", folder, "--n-jobs", "1")
    assert result.code == 0, result.err
    assert "Resuming" in result.err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "knn/2" not in metrics["timings"]["resumed"]
    assert "lr/final" in metrics["timings"]["resumed"]
    reference = json.loads((reference_run / "metrics.json").read_text())
    assert _without_timings(metrics) == _without_timings(reference)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "lr,forest"], "unknown model 'forest'"),
        (["--models", ","], "no model given"),
        (["--outer", "1"], "--outer must be an integer in [2, 1000]"),
        (["--max-train", "4"], "--max-train must be at least 2 x --outer"),
        (["--max-train", "20"], "too few for --outer 3"),
        (["--max-train", "30", "--outer", "2", "--models", "knn"], "knn inner search would see"),
        (["--bootstrap", "-1"], "--bootstrap must be an integer in [0, 100000]"),
        (["--scheduler", "nowhere:1"], "--scheduler must be"),
    ],
)
def test_impossible_options_exit_2_with_one_line(run_cli, tmp_path, args, message) -> None:
    """Test that unknown models and impossible budgets end with one error line and exit code 2."""
    out = tmp_path / "never"
    result = run_cli("compare", "--dataset", "digits", "--quick", *args, "--out", out)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.err
    assert not out.exists()


def test_existing_folder_is_refused_and_out_with_resume_is_refused(run_cli, tmp_path) -> None:
    """Test that a non-empty --out needs --force, and --out with --resume is a usage error."""
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_cli("compare", *QUICK, "--out", out)
    assert result.code == 2 and "--force" in result.err
    assert (out / "keep.txt").read_text() == "mine"
    result = run_cli("compare", "--resume", out, "--out", tmp_path / "other")
    assert result.code == 2 and "either --out or --resume" in result.err


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (folders as empty entries)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"")
        for p in sorted(folder.rglob("*"))
    }


def _one_error_line(result) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    return lines[0]


def test_force_refuses_a_foreign_folder_and_a_study_folder(run_cli, tmp_path) -> None:
    """Test that compare --force replaces neither a folder of one's own files nor a study run."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    before = _snapshot(mine)
    result = run_cli("compare", *QUICK, "--out", mine, "--force")
    assert result.code == 2 and "nothing was deleted" in _one_error_line(result)
    assert _snapshot(mine) == before
    study = tmp_path / "study"
    study.mkdir()
    (study / "config.json").write_text(json.dumps({"command": "study"}))
    before = _snapshot(study)
    result = run_cli("compare", *QUICK, "--out", study, "--force")
    assert result.code == 2 and "earlier compare run folder" in _one_error_line(result)
    assert _snapshot(study) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "study"]


def test_force_replaces_an_earlier_comparison(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that --force replaces an earlier compare run folder and leaves nothing beside it."""
    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    result = run_cli("compare", "--dataset", "digits", "--quick", "--models", "knn",
                     "--bootstrap", "0", "--n-jobs", "1", "--out", folder, "--force")
    assert result.code == 0, result.err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert list(metrics["models"]) == ["knn"]
    assert not (folder / "confusion_matrix_lr.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--seed", "-1"], "--seed must be an integer in [0, 4294967295]"),
        (["--n-jobs", "0"], "--n-jobs must be -1"),
        (["--bootstrap", "100000000000"], "--bootstrap must be an integer in [0, 100000]"),
        (["--outer", "100000"], "--outer must be an integer in [2, 1000]"),
        (["--max-train", "5", "--outer", "2"], "--max-train 5 cannot be a stratified subsample"),
    ],
)
def test_more_bad_options_leave_no_folder(run_cli, tmp_path, args, needle) -> None:
    """Test that seeds, workers, resamples and subsample sizes are checked before any folder."""
    out = tmp_path / "never"
    result = run_cli("compare", "--dataset", "digits", "--quick", *args, "--out", out)
    assert result.code == 2
    assert needle in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("knn-fold-9.json", None, "fold 9 is not one of this run's 3 outer folds"),
        ("svm-fold-1.json", None, "model 'svm' is not one of this run's"),
        ("knn-fold-2.json", b"{", "not valid JSON"),
        ("knn-fold-2.json", b'{"model": "knn", "fold": "2"}', "'fold' is '2'"),
        ("tree-final.npz", b"PK\x03\x04 broken", "arrays are unreadable"),
        ("stray.txt", b"hello", "not a file the comparison writes"),
    ],
)
def test_resume_names_a_bad_checkpoint(reference_run: Path, run_cli, tmp_path, name, content,
                                       needle) -> None:
    """Test that stray, malformed or foreign checkpoints are named in one line, exit 2."""
    folder = tmp_path / "interrupted"
    shutil.copytree(reference_run, folder)
    (folder / "metrics.json").unlink()
    if content is None:
        content = (folder / "checkpoints" / "knn-fold-1.json").read_bytes()
    (folder / "checkpoints" / name).write_bytes(content)
    result = run_cli("compare", "--resume", folder, "--n-jobs", "1")
    assert result.code == 2
    line = _one_error_line(result)
    assert needle in line and (name in line or "tree-final.json" in line), line
    assert not (folder / "metrics.json").exists()


def test_study_cannot_resume_a_comparison(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that `study --resume` on a compare run folder is refused in one line."""
    folder = tmp_path / "interrupted"
    shutil.copytree(reference_run, folder)
    (folder / "metrics.json").unlink()
    result = run_cli("study", "--resume", folder)
    assert result.code == 2
    assert "is a 'compare' run folder, not a study one" in _one_error_line(result)


def test_python_write_equals_the_command_lines_run_folder(reference_run: Path, tmp_path) -> None:
    """Test that ComparisonResult.write writes the compare command's files: same list, same
    config, checkpoints and test scores, same metrics.json (timings aside)."""
    import numpy as np

    from mnist_logreg import CompareConfig, ComparisonConfig, load_dataset, run_comparison

    config = ComparisonConfig(
        dataset="digits", max_train=5000, n_bootstrap=50,
        protocol=CompareConfig(models=("lr", "knn", "tree"), quick=True, random_state=5),
    )
    result = run_comparison(load_dataset("digits"), config)
    folder = result.write(tmp_path / "py")
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert files == sorted(str(p.relative_to(reference_run)) for p in reference_run.rglob("*"))
    assert (folder / "config.json").read_bytes() == (reference_run / "config.json").read_bytes()
    for name in files:
        if name.startswith("checkpoints/") and name.endswith(".json"):
            ours, theirs = (json.loads((f / name).read_text()) for f in (folder, reference_run))
            assert _without_timings(ours) == _without_timings(theirs), name
    for name in ("lr", "knn", "tree"):
        with np.load(folder / "checkpoints" / f"{name}-final.npz") as ours, \
                np.load(reference_run / "checkpoints" / f"{name}-final.npz") as theirs:
            np.testing.assert_array_equal(ours["scores"], theirs["scores"])
        assert result.test_scores[name].shape == (450, 10)
    metrics = json.loads((folder / "metrics.json").read_text())
    reference = json.loads((reference_run / "metrics.json").read_text())
    assert _without_timings(metrics) == _without_timings(reference)
    assert ((folder / "test_predictions.csv").read_bytes()
            == (reference_run / "test_predictions.csv").read_bytes())
