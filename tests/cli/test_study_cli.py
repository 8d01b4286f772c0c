"""Tests of ``mnist-logreg study``: the run folder, reproducibility, resume, Dask, bad options."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mnist_logreg.cli import study as study_module

QUICK = [
    "--dataset",
    "digits",
    "--outer",
    "3",
    "--inner",
    "2",
    "--candidates",
    "3",
    "--bootstrap",
    "50",
    "--seed",
    "5",
]
RUN_FILES = [
    "metrics.json",
    "report.html",
    "report.md",
    "classification_report.txt",
    "model.npz",
    "confusion_matrix.png",
    "roc_curves.png",
    "validation_curve.png",
    "coefficients.png",
    "misclassified.png",
    "reliability_diagram.png",
]


def _without_timings(metrics: dict) -> dict:
    metrics = json.loads(json.dumps(metrics))
    metrics.pop("timings")
    metrics["versions"].pop("platform", None)
    for fold in metrics["folds"]:
        fold.pop("seconds")
    metrics["final"].pop("seconds")
    return metrics


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """One uninterrupted quick study, shared by the comparisons below."""
    from mnist_logreg.cli.app import main

    out = tmp_path_factory.mktemp("ref") / "run"
    with pytest.raises(SystemExit) as info:
        main(["study", *QUICK, "--n-jobs", "1", "--out", str(out)])
    assert info.value.code == 0
    return out


def test_study_writes_the_whole_run_folder(reference_run: Path) -> None:
    """Test that a quick study writes every file of the run folder with the documented keys."""
    for name in RUN_FILES:
        assert (reference_run / name).is_file(), name
    metrics = json.loads((reference_run / "metrics.json").read_text())
    assert {
        "schema",
        "command",
        "dataset",
        "config",
        "versions",
        "folds",
        "final",
        "test",
        "timings",
    } <= set(metrics)
    assert metrics["command"] == "study"
    assert [f["fold"] for f in metrics["folds"]] == [1, 2, 3]
    for key in (
        "accuracy",
        "precision_weighted",
        "recall_weighted",
        "f1_weighted",
        "f1_macro",
        "roc_auc_ovr",
        "log_loss",
        "brier",
    ):  # ECE's bootstrap is biased upward
        lo, hi = metrics["test"][key]["ci95"]
        assert lo <= metrics["test"][key]["value"] <= hi
    assert metrics["test"]["accuracy"]["value"] > 0.9
    assert len(metrics["folds"][0]["candidates"]) == 3
    assert (reference_run / "model.npz").stat().st_size > 0
    assert not list(reference_run.glob("*.tmp"))


def test_html_report_has_no_external_references(reference_run: Path) -> None:
    """Test that report.html is self-contained: figures embedded, no network references."""
    html = (reference_run / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html


def test_same_seed_gives_identical_metrics(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that rerunning with the same seed gives the same metrics.json, timings aside."""
    out = tmp_path / "again"
    result = run_cli("study", *QUICK, "--n-jobs", "1", "--out", out)
    assert result.code == 0, result.err
    first = json.loads((reference_run / "metrics.json").read_text())
    second = json.loads((out / "metrics.json").read_text())
    assert _without_timings(first) == _without_timings(second)


def test_resume_after_kill_equals_uninterrupted(
    reference_run: Path, run_cli, tmp_path, monkeypatch
) -> None:
    """Test that a run killed after two folds, then resumed, equals an uninterrupted run."""
    out = tmp_path / "killed"
    original = study_module.write_checkpoint
    calls = []

    def write_then_die(folder, record, config):
        original(folder, record, config)
        calls.append(record["fold"])
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(study_module, "write_checkpoint", write_then_die)
    killed = run_cli("study", *QUICK, "--n-jobs", "1", "--out", out)
    assert killed.code == 130
    assert not (out / "metrics.json").exists()
    assert len(list((out / "checkpoints").glob("fold-*.json"))) == 2
    monkeypatch.setattr(study_module, "write_checkpoint", original)

    resumed = run_cli("study", "--resume", out, "--n-jobs", "1")
    assert resumed.code == 0, resumed.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["timings"]["resumed_folds"] == sorted(calls)
    reference = json.loads((reference_run / "metrics.json").read_text())
    assert _without_timings(metrics) == _without_timings(reference)


def test_local_dask_cluster_equals_local_run(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that running the fits on a Dask LocalCluster gives the local run's results."""
    pytest.importorskip("distributed")
    out = tmp_path / "dask"
    result = run_cli("study", *QUICK, "--scheduler", "local:2", "--out", out)
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert "Dask" in metrics["timings"]["backend"]
    reference = json.loads((reference_run / "metrics.json").read_text())
    assert _without_timings(metrics) == _without_timings(reference)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--c-min", "10", "--c-max", "0.01"], "reversed"),
        (["--outer", "1"], "--outer"),
        (["--scoring", "not_a_scorer"], "--scoring"),
        (["--dataset", "no-such-dataset"], "no-such-dataset"),
        (["--strategy", "ovo"], "--strategy"),
        (["--scheduler", "carrier-pigeon"], "--scheduler"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(run_cli, tmp_path, args, needle) -> None:
    """Test that impossible options end with one stderr line naming them and exit code 2."""
    out = tmp_path / "bad"
    result = run_cli("study", "--dataset", "digits", *args, "--out", out)
    assert result.code == 2
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert needle in lines[0]
    assert not out.exists()


def test_existing_run_folder_is_not_overwritten(reference_run: Path, run_cli) -> None:
    """Test that --out on an existing run folder is refused without --force."""
    before = (reference_run / "metrics.json").read_bytes()
    result = run_cli("study", *QUICK, "--out", reference_run)
    assert result.code == 2
    assert "--force" in result.err
    assert (reference_run / "metrics.json").read_bytes() == before
