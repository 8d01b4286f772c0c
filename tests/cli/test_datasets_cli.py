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
    (mnist_row,) = [
        line for line in result.out.splitlines() if line.lstrip("│| ").startswith("mnist ")
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
