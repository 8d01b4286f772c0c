"""Tests of ``mnist-logreg study``: the run folder, reproducibility, resume, Dask, bad options."""

from __future__ import annotations

import json
import re
import shutil
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


# --- never losing data: --force -----------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (folders as empty entries)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"")
        for p in sorted(folder.rglob("*"))
    }


def _foreign_folder(root: Path) -> Path:
    folder = root / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.tex").write_text("three years of work")
    (folder / "sub" / "data.csv").write_text("1,2,3\n")
    return folder


def _one_error_line(result) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    return lines[0]


def test_force_refuses_a_foreign_folder_and_keeps_it(run_cli, tmp_path) -> None:
    """Test that --force on a folder that is not a study run folder deletes nothing, exit 2."""
    folder = _foreign_folder(tmp_path)
    before = _snapshot(folder)
    result = run_cli("study", *QUICK, "--out", folder, "--force")
    assert result.code == 2
    assert "nothing was deleted" in _one_error_line(result)
    assert _snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging folder left


def test_force_refuses_the_working_directory(run_cli, tmp_path, monkeypatch) -> None:
    """Test that `--out . --force` in a folder of one's own files is refused and empties nothing."""
    folder = _foreign_folder(tmp_path)
    monkeypatch.chdir(folder)
    before = _snapshot(folder)
    result = run_cli("study", *QUICK, "--out", ".", "--force")
    assert result.code == 2
    assert "--force replaces only an earlier study run folder" in _one_error_line(result)
    assert _snapshot(folder) == before


def test_force_refuses_a_run_folder_holding_a_foreign_file(
    reference_run: Path, run_cli, tmp_path
) -> None:
    """Test that a study run folder with one file the study never writes is not replaced."""
    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    (folder / "notes.md").write_text("my notes on this run")
    before = _snapshot(folder)
    result = run_cli("study", *QUICK, "--out", folder, "--force")
    assert result.code == 2
    assert "'notes.md'" in _one_error_line(result)
    assert _snapshot(folder) == before


def test_force_refuses_another_commands_run_folder(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that a folder whose metrics.json says command compare is not replaced by study."""
    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["command"] = "compare"
    (folder / "metrics.json").write_text(json.dumps(metrics))
    before = _snapshot(folder)
    result = run_cli("study", *QUICK, "--out", folder, "--force")
    assert result.code == 2
    assert _snapshot(folder) == before


def test_force_replaces_an_earlier_run_folder(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that --force replaces an earlier study run folder with the new run, nothing left."""
    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    args = [a if a != "5" else "6" for a in QUICK]  # another seed
    result = run_cli("study", *args, "--n-jobs", "1", "--out", folder, "--force")
    assert result.code == 0, result.err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["config"]["seed"] == 6
    assert json.loads((folder / "config.json").read_text())["command"] == "study"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == [
        "fold-1.json", "fold-2.json", "fold-3.json"
    ]


def test_a_failed_forced_run_keeps_the_previous_results(
    reference_run: Path, run_cli, tmp_path, monkeypatch
) -> None:
    """Test that a --force run that fails midway leaves the earlier run folder as it was."""
    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    before = _snapshot(folder)

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study_module, "run_study", fail)
    result = run_cli("study", *QUICK, "--n-jobs", "1", "--out", folder, "--force")
    assert result.code == 130
    assert _snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# --- every option validated before any folder ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--scoring", "roc_auc"], "--scoring must be a scorer for a multiclass classifier"),
        (["--scoring", "r2"], "--scoring must be a scorer for a multiclass classifier"),
        (["--seed", "-1"], "--seed must be an integer in [0, 4294967295]"),
        (["--seed", "4294967296"], "--seed must be an integer in [0, 4294967295]"),
        (["--bootstrap", "-1"], "--bootstrap must be an integer in [0, 100000]"),
        (["--bootstrap", "100000000000"], "--bootstrap must be an integer in [0, 100000]"),
        (["--outer", "0"], "--outer must be an integer in [2, 1000]"),
        (["--inner", "-3"], "--inner must be an integer in [2, 1000]"),
        (["--candidates", "100000000"], "--candidates must be an integer in [1, 1000]"),
        (["--c-max", "1e308"], "--c-max must be a finite number in [1e-12, 1e+12]"),
        (["--c-min", "nan"], "--c-min must be a finite number"),
        (["--c-min", "-1"], "--c-min must be a finite number"),
        (["--n-jobs", "0"], "--n-jobs must be -1"),
        (["--n-jobs", "-5"], "--n-jobs must be -1"),
        (["--n-jobs", "100000"], "--n-jobs must be -1 (one per core) or in [1, "),
        (["--scheduler", "local:100000"], "--scheduler local:N starts N local workers, at most"),
        (["--max-train", "0"], "--max-train must be an integer in [1, "),
        (["--max-train", "6", "--outer", "2"], "--max-train 6 cannot be a stratified subsample"),
        (["--max-train", "30"], "too few for --outer 6 and --inner 5"),
        (["--max-train", "99999999999999999999"], "--max-train must be an integer"),
        (["--outer", "500"], "too few for --outer 500"),
        (["--sampling", "outer"], "--sampling must be loguniform or uniform. Got 'outer'"),
        (["--outer", "nan"], "--outer"),
        (["--scheduler", "local:0"], "--scheduler"),
    ],
)
def test_each_bad_option_exits_2_with_one_line_and_no_folder(run_cli, tmp_path, args, needle):
    """Test that each impossible option gives one line naming its flag, exit 2, and no folder."""
    out = tmp_path / "never"
    result = run_cli("study", "--dataset", "digits", *args, "--out", out)
    assert result.code == 2
    assert needle in _one_error_line(result)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_bad_dataset_folder_leaves_no_run_folder(run_cli, tmp_path) -> None:
    """Test that a dataset the loader refuses ends before the run folder is created."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "never"
    result = run_cli("study", "--dataset", f"idx:{empty}", "--out", out)
    assert result.code == 2
    _one_error_line(result)
    assert not out.exists()


def test_bootstrap_0_runs_without_intervals(run_cli, tmp_path) -> None:
    """Test that --bootstrap 0 finishes (no intervals, shown as a dash) instead of crashing."""
    out = tmp_path / "b0"
    result = run_cli("study", "--dataset", "digits", "--outer", "2", "--inner", "2",
                     "--candidates", "2", "--bootstrap", "0", "--n-jobs", "1", "--out", out)
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"]["value"] > 0.9
    assert "—" in result.out


# --- --resume trusts only valid checkpoints -----------------------------------------------------


def _interrupted(reference_run: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "interrupted"
    shutil.copytree(reference_run, folder)
    (folder / "metrics.json").unlink()
    (folder / "checkpoints" / "fold-3.json").unlink()
    return folder


def test_resume_refuses_a_stray_fold(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that a fold-99.json in checkpoints/ is named in one line, not summarized as a fold."""
    folder = _interrupted(reference_run, tmp_path)
    record = json.loads((folder / "checkpoints" / "fold-1.json").read_text())
    record["fold"] = 99
    (folder / "checkpoints" / "fold-99.json").write_text(json.dumps(record))
    result = run_cli("study", "--resume", folder, "--n-jobs", "1")
    assert result.code == 2
    assert "fold-99.json" in _one_error_line(result)
    assert not (folder / "metrics.json").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{", "not valid JSON"),
        (b'{"fold": "two"}', "'fold' must be an integer"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"fold": 2}', "lacks 'scoring'"),
    ],
)
def test_resume_names_a_malformed_checkpoint(
    reference_run: Path, run_cli, tmp_path, content, needle
) -> None:
    """Test that a malformed checkpoint gives one line naming it (exit 2), not a traceback."""
    folder = _interrupted(reference_run, tmp_path)
    (folder / "checkpoints" / "fold-2.json").write_bytes(content)
    result = run_cli("study", "--resume", folder, "--n-jobs", "1")
    assert result.code == 2
    line = _one_error_line(result)
    assert "fold-2.json" in line and needle in line


def test_resume_refuses_a_tampered_configuration(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that checkpoints made under another configuration are refused on --resume."""
    folder = _interrupted(reference_run, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["c_max"] = 5.0
    (folder / "config.json").write_text(json.dumps(config))
    result = run_cli("study", "--resume", folder, "--n-jobs", "1")
    assert result.code == 2
    assert "another configuration" in _one_error_line(result)


def test_resume_refuses_an_impossible_saved_configuration(
    reference_run: Path, run_cli, tmp_path
) -> None:
    """Test that a config.json with an impossible value is named in one line."""
    folder = _interrupted(reference_run, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["seed"] = -4
    (folder / "config.json").write_text(json.dumps(config))
    result = run_cli("study", "--resume", folder, "--n-jobs", "1")
    assert result.code == 2
    assert "config.json" in _one_error_line(result)


def test_force_refuses_links(reference_run: Path, run_cli, tmp_path) -> None:
    """Test that --force replaces neither a link to a run folder nor a run holding a link."""
    outside = tmp_path / "precious.npz"
    outside.write_bytes(b"not ours")
    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    (folder / "model.npz").unlink()
    (folder / "model.npz").symlink_to(outside)
    result = run_cli("study", *QUICK, "--out", folder, "--force")
    assert result.code == 2 and "'model.npz'" in _one_error_line(result)
    link = tmp_path / "link"
    link.symlink_to(reference_run)
    result = run_cli("study", *QUICK, "--out", link, "--force")
    assert result.code == 2 and "symbolic link" in _one_error_line(result)
    assert outside.read_bytes() == b"not ours"
    assert (reference_run / "metrics.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "precious.npz", "run"]


def test_force_replaces_the_run_folder_it_is_run_from(
    reference_run: Path, run_cli, tmp_path, monkeypatch
) -> None:
    """Test that `--out . --force` inside an earlier run folder replaces it via its parent."""
    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    monkeypatch.chdir(folder)
    result = run_cli("study", "--dataset", "digits", "--outer", "2", "--inner", "2",
                     "--candidates", "2", "--bootstrap", "0", "--n-jobs", "1", "--out", ".",
                     "--force")
    assert result.code == 0, result.err
    assert json.loads((folder / "metrics.json").read_text())["config"]["outer"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("expand", [True, False])
def test_edge_strata_are_flagged_in_the_console_and_the_report(tmp_path, capsys, expand) -> None:
    """Test that a search whose best C lies in an edge stratum is flagged on the console, in the
    report's callout and in metrics.json; with --expand-range its range was extended."""
    from mnist_logreg.cli.app import main

    out = tmp_path / "run"
    args = ["study", *QUICK, "--max-train", "600", "--bootstrap", "20", "--n-jobs", "1",
            "--out", str(out)]
    with pytest.raises(SystemExit) as info:
        main([*args, "--expand-range" if expand else "--no-expand-range"])
    assert info.value.code == 0
    console = " ".join(capsys.readouterr().out.split())
    metrics = json.loads((out / "metrics.json").read_text())
    final = metrics["final"]["range"]
    assert metrics["config"]["expand_range"] is expand
    assert final["initial"] == [0.01, 10.0] and final["initial_edge"] == "high"
    html = (out / "report.html").read_text()
    markdown = (out / "report.md").read_text()
    assert '<section id="range"><h2>C range and its edges</h2>' in html
    assert '<p class="callout">Boundary: the best C of' in html
    assert "## C range and its edges" in markdown
    if expand:
        assert final["searched"] == [0.01, 100.0] and final["edge"] is None
        assert [s["side"] for s in final["segments"]] == ["initial", "high"]
        assert ("Note: final search: best C was in the high edge stratum of [0.01, 10]; "
                "range extended to [0.01, 100], best now interior.") in console
        assert "range extended to [0.01, 100]" in console  # the fold 2 line
        assert "Every search extended its range until its best C was interior." in html
    else:
        assert final["searched"] == [0.01, 10.0] and final["edge"] == "high"
        assert len(metrics["final"]["candidates"]) == 3
        assert ("WARNING final search: best C in the high edge stratum of [0.01, 10]; the "
                "optimum may lie beyond (--expand-range searches further).") in console
        assert "the chosen C is a bound, not an optimum" in html
        assert "in the high edge stratum of its range" in html  # the final C's card


# --- the same run folder from Python ------------------------------------------------------------


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_python_write_equals_the_command_lines_run_folder(reference_run: Path, tmp_path) -> None:
    """Test that StudyResult.write writes the study command's files: same list, same config and
    checkpoints, same metrics.json (timings aside) and the same model metadata."""
    from mnist_logreg import NestedCVConfig, StudyConfig, load_dataset, run_study
    from mnist_logreg.persistence import read_metadata

    config = StudyConfig(dataset="digits", n_bootstrap=50,
                         protocol=NestedCVConfig(outer=3, inner=2, n_candidates=3, random_state=5))
    result = run_study(load_dataset("digits"), config)
    folder = result.write(tmp_path / "py")
    assert folder == (tmp_path / "py").resolve()
    assert _files(folder) == _files(reference_run)
    assert "checkpoints/fold-3.json" in _files(folder)
    assert (folder / "config.json").read_bytes() == (reference_run / "config.json").read_bytes()
    for k in (1, 2, 3):
        ours, theirs = (json.loads((f / "checkpoints" / f"fold-{k}.json").read_text())
                        for f in (folder, reference_run))
        for timing in ("seconds", "predict_seconds_per_10k"):
            ours.pop(timing, None), theirs.pop(timing, None)
        assert ours == theirs
    metrics = json.loads((folder / "metrics.json").read_text())
    reference = json.loads((reference_run / "metrics.json").read_text())
    assert _without_timings(metrics) == _without_timings(reference)
    extra, reference_extra = (read_metadata(f / "model.npz")["extra"] for f in (folder,
                                                                                 reference_run))
    assert extra == reference_extra


def test_the_study_model_file_carries_what_the_model_card_shows(reference_run: Path) -> None:
    """Test that the study's model.npz holds the data set, final C and test accuracy (with its
    interval) in its metadata, and that the drawing page's card shows them from the file alone."""
    from mnist_logreg.persistence import read_model_file
    from mnist_logreg.serving._card import model_card

    metrics = json.loads((reference_run / "metrics.json").read_text())
    model_file = read_model_file(reference_run / "model.npz")
    extra = model_file.metadata["extra"]
    assert extra["dataset"] == "digits"
    assert extra["C"] == metrics["final"]["best_params"]["C"]
    assert extra["strategy"] == "multinomial"
    assert extra["test_accuracy"] == metrics["test"]["accuracy"]["value"]
    assert extra["test_accuracy_ci95"] == metrics["test"]["accuracy"]["ci95"]
    assert extra["image_shape"] == [8, 8] and extra["pixel_max"] == 16.0
    assert extra["class_names"] == [str(k) for k in range(10)]
    card = model_card(model_file.model, model_file.metadata)
    assert card["dataset"] == "digits" and card["from_run_metrics"] is False
    assert card["C"] == metrics["final"]["best_params"]["C"]
    assert card["test_accuracy"] == metrics["test"]["accuracy"]["value"]
    assert card["test_accuracy_ci95"] == metrics["test"]["accuracy"]["ci95"]
