"""Tests of ``mnist-logreg datasets``: the table, summaries, JSON and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnist_logreg.datasets import FASHION_MNIST_ENV, IDX_FILE_NAMES, write_idx

RunCli = Callable[..., Any]


def _idx_folder(folder: Path) -> Path:
    """Write a tiny plain IDX folder: 6 training and 4 test images of 2x3 pixels, 2 classes."""
    folder.mkdir()
    arrays = [
        np.arange(36, dtype=np.uint8).reshape(6, 2, 3),
        np.array([0, 1, 0, 1, 0, 1], np.uint8),
        np.full((4, 2, 3), 7, np.uint8),
        np.array([1, 1, 0, 1], np.uint8),
    ]
    for name, array in zip(IDX_FILE_NAMES, arrays, strict=True):
        write_idx(folder / name, array)
    return folder


def test_table_lists_sources(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Test that `datasets` lists mnist (available, 60000/10000, counts), digits, fashion-mnist."""
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "missing"))
    result = run_cli("datasets")
    assert result.code == 0, result.err
    for name in ("mnist", "digits", "fashion-mnist", "idx:DIR", "openml:NAME"):
        assert name in result.out
    # the row whose first cell is "mnist" (a wrapped location may put "mnist" in another cell)
    (mnist_row,) = [
        line for line in result.out.splitlines()
        if len(cells := line.split("│")) > 2 and cells[1].strip() == "mnist"
    ]
    assert "yes" in mnist_row and "60000" in mnist_row and "10000" in mnist_row
    assert "5923" in result.out and "LeCun" in result.out
    fashion_row = result.out[result.out.index("fashion-mnist") : result.out.index("digits")]
    assert "no: folder not found" in fashion_row
    assert "apt-get" in fashion_row and "dataset-fashion-mnist" in fashion_row


def test_table_as_json(run_cli: RunCli) -> None:
    """Test that `datasets --json` prints the source listing as JSON."""
    result = run_cli("datasets", "--json")
    assert result.code == 0, result.err
    sources = {entry["name"]: entry for entry in json.loads(result.out)}
    assert sources["mnist"]["available"] is True
    assert sources["mnist"]["n_train"] == 60000 and sources["mnist"]["n_test"] == 10000
    assert sources["mnist"]["train_class_counts"][:2] == [5923, 6742]


def test_mnist_summary(run_cli: RunCli) -> None:
    """Test that `datasets mnist` prints shapes, dtype, pixel range, class counts and checksums."""
    result = run_cli("datasets", "mnist")
    assert result.code == 0, result.err
    out = result.out
    assert "60000 x 784" in out and "10000 x 784" in out and "uint8" in out
    assert "0 .. 255" in out and "5923" in out and "1135" in out
    assert "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971" in out


def test_idx_summary_as_json(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that `datasets idx:DIR --json` prints the folder's summary as JSON."""
    folder = _idx_folder(tmp_path / "data")
    result = run_cli("datasets", f"idx:{folder}", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["train"]["X_shape"] == [6, 6] and summary["test"]["X_shape"] == [4, 6]
    assert summary["train"]["pixel_range"] == [0, 35] and summary["test"]["pixel_range"] == [7, 7]
    assert summary["train"]["class_counts"] == [3, 3] and summary["test"]["class_counts"] == [1, 3]
    assert summary["image_shape"] == [2, 3] and len(summary["checksums"]) == 4


def test_fashion_path_option(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that `datasets fashion-mnist --path DIR` reads that folder with the clothing names."""
    folder = _idx_folder(tmp_path / "fashion")
    result = run_cli("datasets", "fashion-mnist", "--path", str(folder), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["class_names"][0] == "T-shirt/top"


def _assert_one_line_error(result: Any, *fragments: str) -> None:
    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("mnist-logreg: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_folder_exits_2_naming_it(run_cli: RunCli) -> None:
    """Test that `datasets idx:/nonexistent` exits 2 with one stderr line naming the folder."""
    _assert_one_line_error(
        run_cli("datasets", "idx:/nonexistent"), "/nonexistent", "does not exist"
    )


def test_corrupted_file_exits_2_naming_it(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that a truncated IDX file in the folder exits 2 with one stderr line naming the file."""
    folder = _idx_folder(tmp_path / "data")
    path = folder / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-3])
    _assert_one_line_error(run_cli("datasets", f"idx:{folder}"), str(path), "truncated payload")


def test_unknown_name_and_missing_fashion_exit_2(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Test that an unknown name and a missing Fashion-MNIST folder exit 2 with one helpful line."""
    _assert_one_line_error(run_cli("datasets", "cifar"), "unknown dataset 'cifar'", "mnist")
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "missing"))
    _assert_one_line_error(
        run_cli("datasets", "fashion-mnist"),
        str(tmp_path / "missing"),
        "apt-get install dataset-fashion-mnist",
    )
    _assert_one_line_error(run_cli("datasets", "--path", str(tmp_path)), "--path needs")


def _strict_json(text: str) -> Any:
    """Parse standard JSON only: Infinity, -Infinity and NaN are refused."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def _broken_fashion(folder: Path) -> Path:
    """An IDX folder whose training labels hold the int32 label 2**31 - 1."""
    _idx_folder(folder)
    write_idx(folder / IDX_FILE_NAMES[1], np.array([0, 1, 0, 1, 0, 2**31 - 1], np.int32))
    return folder


def test_listing_survives_a_broken_configured_folder(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Test that `datasets` (table and --json) lists a broken Fashion-MNIST folder as no: why."""
    monkeypatch.setenv(FASHION_MNIST_ENV, str(_broken_fashion(tmp_path / "f")))
    result = run_cli("datasets")
    assert result.code == 0, result.err
    fashion_row = result.out[result.out.index("fashion-mnist") : result.out.index("digits")]
    assert "no:" in fashion_row and "2147483647" in fashion_row
    result = run_cli("datasets", "--json")
    assert result.code == 0, result.err
    sources = {entry["name"]: entry for entry in _strict_json(result.out)}
    assert sources["fashion-mnist"]["available"] is False
    assert "label 2147483647 at index 5 is outside 0..9" in sources["fashion-mnist"]["status"]
    assert sources["mnist"]["available"] is True


def test_json_output_is_standard(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that `datasets idx:DIR --json` of float images is standard JSON; inf maps to null."""
    from mnist_logreg.cli.datasets import _dumps

    folder = _idx_folder(tmp_path / "data")
    write_idx(folder / IDX_FILE_NAMES[0], np.full((6, 2, 3), 3.4e38, np.float32))
    write_idx(folder / IDX_FILE_NAMES[2], np.full((4, 2, 3), -1.5, np.float32))
    result = run_cli("datasets", f"idx:{folder}", "--json")
    assert result.code == 0, result.err
    summary = _strict_json(result.out)
    assert summary["train"]["X_dtype"] == "float32" and summary["test"]["pixel_range"] == [
        -1.5,
        -1.5,
    ]
    assert _strict_json(_dumps({"a": [float("inf"), float("nan"), 1.5]})) == {
        "a": [None, None, 1.5]
    }


@pytest.mark.parametrize(
    ("file_index", "array", "fragments"),
    [
        (0, np.zeros((0, 2, 3), np.uint8), ("holds 0 images but",)),
        (2, np.full((4, 2, 3), np.inf, np.float64), ("pixel 0 of image 0 is inf",)),
        (2, np.zeros((4, 0, 0), np.uint8), ("images of shape (0, 0) hold no pixels",)),
        (3, np.array([1, 1, 0, 5], np.uint8), ("test label(s) 5", "never occur")),
    ],
    ids=["no training images", "infinite pixels", "0x0 test images", "unseen test label"],
)
def test_unusable_folder_exits_2_with_one_line(
    run_cli: RunCli, tmp_path: Path, file_index: int, array: np.ndarray, fragments: tuple[str, ...]
) -> None:
    """Test that `datasets idx:DIR` on unusable data exits 2 with one line naming the dataset."""
    folder = _idx_folder(tmp_path / "data")
    write_idx(folder / IDX_FILE_NAMES[file_index], array)
    _assert_one_line_error(run_cli("datasets", f"idx:{folder}"), str(folder), *fragments)


def test_terminal_escapes_are_printed_escaped(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Test that an escape sequence in a configured path is shown as \\x1b, never sent raw."""
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "evil\x1b[31mred"))
    result = run_cli("datasets")
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "evil\\x1b[31mred" in result.out


def test_study_and_fit_refuse_unusable_data_before_creating_output(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """Test that `study` and `fit` on a folder with no test images exit 2 and create nothing."""
    folder = _idx_folder(tmp_path / "data")
    write_idx(folder / IDX_FILE_NAMES[2], np.zeros((0, 2, 3), np.uint8))
    write_idx(folder / IDX_FILE_NAMES[3], np.zeros(0, np.uint8))
    run = tmp_path / "run"
    _assert_one_line_error(
        run_cli("study", "--dataset", f"idx:{folder}", "--out", run), "no test images"
    )
    model = tmp_path / "model.npz"
    _assert_one_line_error(
        run_cli("fit", "--dataset", f"idx:{folder}", "--C", "1", "--out", model), "no test images"
    )
    assert not run.exists() and not model.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


# ----------------------------------------------------------------------------- stores


def _build(run_cli: RunCli, out: Path, *extra: str) -> Any:
    return run_cli(
        "datasets", "build", "deformed-mnist", "--n", "120", "--chunk-size", "50",
        "--seed", "2", "--out", out, *extra,
    )  # fmt: skip


def test_build_verify_and_summarize_a_store(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that build writes 120 images in 3 chunks, with progress; verify and NAME read it."""
    out = tmp_path / "store"
    result = _build(run_cli, out)
    assert result.code == 0, result.err
    assert "120 images in 3 chunks of 50 (seed 2)" in result.out
    assert "120/120 images" in result.err  # the progress bar
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["n"], manifest["chunk_size"], len(manifest["chunks"])) == (120, 50, 3)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["images", "labels", "manifest.json", "zarr.json"]
    verified = run_cli("datasets", "verify", out, "--json")
    assert verified.code == 0, verified.err
    assert json.loads(verified.out)["n_images"] == 120
    summary = run_cli("datasets", f"zarr:{out}", "--json")
    assert summary.code == 0, summary.err
    data = json.loads(summary.out)
    assert data["train"]["X_shape"] == [120, 784] and data["test"]["X_shape"] == [10000, 784]
    assert sum(data["train"]["class_counts"]) == 120
    assert data["store"]["seed"] == 2 and data["store"]["n_chunks"] == 3


def test_resume_via_the_cli_matches_a_one_shot_build(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that --resume finishes a store whose last chunk was lost, with identical checksums."""
    one_shot, resumed = tmp_path / "one", tmp_path / "two"
    assert _build(run_cli, one_shot).code == 0
    assert _build(run_cli, resumed).code == 0
    manifest = json.loads((resumed / "manifest.json").read_text())
    manifest["chunks"] = manifest["chunks"][:1]  # as if killed during chunk 1
    (resumed / "manifest.json").write_text(json.dumps(manifest))
    (resumed / "images" / "c" / "2" / "0" / "0").write_bytes(b"partial")
    unfinished = run_cli("datasets", "verify", resumed)
    assert unfinished.code == 2 and "unfinished (1 of 3 chunks)" in unfinished.err
    result = run_cli("datasets", "build", "deformed-mnist", "--out", resumed, "--resume")
    assert result.code == 0, result.err
    first = json.loads((one_shot / "manifest.json").read_text())["chunks"]
    assert json.loads((resumed / "manifest.json").read_text())["chunks"] == first
    assert run_cli("datasets", "verify", resumed).code == 0


def test_corrupted_chunk_exits_2_naming_it(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that a truncated chunk makes verify and NAME exit 2 with one line naming the chunk."""
    out = tmp_path / "store"
    assert _build(run_cli, out).code == 0
    chunk = out / "images" / "c" / "1" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[:-10])
    for args in (("datasets", "verify", out), ("datasets", f"zarr:{out}")):
        result = run_cli(*args)
        assert result.code == 2
        (error,) = [line for line in result.err.splitlines() if "error:" in line]
        assert "c/1/0/0: chunk 1 of 'images' (rows 50..99) cannot be decoded" in error
        assert "Traceback" not in result.err


def test_build_refuses_before_creating_anything(run_cli: RunCli, tmp_path: Path) -> None:
    """Test that bad flags and foreign folders exit 2 naming the flag or folder, nothing created."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    cases = [
        (("other", "--n", "5", "--out", tmp_path / "a"), "unknown generator 'other'"),
        (("deformed-mnist", "--out", tmp_path / "a"), "--n"),
        (("deformed-mnist", "--n", "0", "--out", tmp_path / "a"), "--n"),
        (("deformed-mnist", "--n", "5", "--seed", "-1", "--out", tmp_path / "a"), "--seed"),
        (("deformed-mnist", "--n", "5", "--chunk-size", "0", "--out", tmp_path / "a"), "--chunk"),
        (("deformed-mnist", "--n", "5", "--jobs", "0", "--out", tmp_path / "a"), "--jobs"),
        (("deformed-mnist", "--n", "5", "--out", folder), "not empty"),
        (("deformed-mnist", "--out", folder, "--resume"), "manifest.json: not found"),
        (("deformed-mnist", "--n", "5", "--out", tmp_path / "no" / "a"), "parent folder"),
    ]
    for args, expected in cases:
        result = run_cli("datasets", "build", *args)
        assert result.code == 2, (args, result.err)
        assert expected in result.err, (args, result.err)
        assert "generating" not in result.err  # refused before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_listing_names_the_zarr_source(run_cli: RunCli) -> None:
    """Test that `datasets` and `datasets --json` list zarr:DIR after the other sources."""
    table = run_cli("datasets")
    assert table.code == 0 and "zarr:DIR" in table.out
    listing = json.loads(run_cli("datasets", "--json").out)
    assert [entry["name"] for entry in listing][-2:] == ["openml:NAME", "zarr:DIR"]
    assert listing[-1]["available"] is None


def test_datasets_help_lists_the_subcommands(run_cli: RunCli) -> None:
    """Test that `datasets --help` exits 0 and names build and verify."""
    result = run_cli("datasets", "--help")
    assert result.code == 0
    assert "build" in result.out and "verify" in result.out
