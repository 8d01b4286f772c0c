"""Tests of the run folders' checkpoints: written, read back, and refused unless valid."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import DataFormatError
from mnist_logreg.model_selection import CompareConfig, NestedCVConfig, replay_range
from mnist_logreg.study import (
    ComparisonConfig,
    Expectations,
    StudyConfig,
    parse_checkpoint,
    read_checkpoints,
    run_comparison,
    run_study,
    write_checkpoint,
)

STUDY = StudyConfig(
    dataset="digits",
    protocol=NestedCVConfig(outer=2, inner=2, n_candidates=3, random_state=3),
    max_train=400,
    n_bootstrap=0,
)
COMPARE = ComparisonConfig(
    dataset="digits",
    protocol=CompareConfig(models=("knn", "lr"), outer=2, quick=True, random_state=3),
    max_train=600,
    n_bootstrap=0,
)


@pytest.fixture(scope="module")
def study_run(tmp_path_factory) -> tuple[Path, Expectations, dict[Any, dict[str, Any]]]:
    """A folder with the real checkpoints of a tiny study, its expectations and its records."""
    data = load_dataset("digits")
    folder = tmp_path_factory.mktemp("study")
    (folder / "checkpoints").mkdir()
    records: dict[tuple[str, int], dict[str, Any]] = {}

    def save(record: dict[str, Any]) -> None:
        records[(record["model"], record["fold"])] = copy.deepcopy(record)
        write_checkpoint(folder, record, STUDY)

    run_study(data, STUDY, on_fold=save)
    return folder, Expectations.from_labels(STUDY, data.y_train, len(data.y_test)), records


@pytest.fixture(scope="module")
def compare_run(tmp_path_factory) -> tuple[Path, Expectations]:
    """A folder with the real checkpoints of a tiny comparison and its expectations."""
    data = load_dataset("digits")
    folder = tmp_path_factory.mktemp("compare")
    (folder / "checkpoints").mkdir()
    run_comparison(
        data, COMPARE, on_checkpoint=lambda rec: write_checkpoint(folder, rec, COMPARE)
    )
    return folder, Expectations.from_labels(COMPARE, data.y_train, len(data.y_test))


def _study_bytes(study_run, fold: int = 1) -> bytes:
    return (study_run[0] / "checkpoints" / f"fold-{fold}.json").read_bytes()


def test_study_checkpoints_read_back_as_written(study_run) -> None:
    """Test that a study's checkpoints are read back equal to the records the study made."""
    folder, expect, records = study_run
    read = read_checkpoints(folder, expect)
    assert sorted(read) == [("lr", 1), ("lr", 2)]
    assert [json.loads(json.dumps(read[k])) for k in sorted(read)] == [
        json.loads(json.dumps(records[k])) for k in sorted(records)]
    written = json.loads(_study_bytes(study_run))
    assert len(written["config_sha256"]) == 64


def test_a_stray_fold_beyond_the_configured_folds_is_refused(study_run, tmp_path) -> None:
    """Test that fold-99.json (a valid fold renumbered) is refused, not summarized as a fold."""
    record = json.loads(_study_bytes(study_run))
    record["fold"] = 99
    data = json.dumps(record).encode()
    with pytest.raises(DataFormatError, match=r"fold-99\.json.*not one of this run's 2 outer"):
        parse_checkpoint(data, "fold-99.json", study_run[1])


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r.pop("candidates"), "lacks 'candidates'"),
        (lambda r: r.update(fold="1"), "'fold' must be an integer"),
        (lambda r: r.update(fold=2), "'fold' is 2, but this run's is 1"),
        (lambda r: r["candidates"][0]["params"].update(C="small"),
         r"'candidates'\[0\]\['params'\]\['C'\]"),
        (lambda r: r["candidates"][0]["params"].update(C=123.0), "lacks C = "),
        (lambda r: r["candidates"].pop(), "lacks C = "),
        (lambda r: r["candidates"].append({**r["candidates"][0], "params": {"C": 0.5}}),
         "the candidates' 'params'"),
        (lambda r: r.pop("model"), "lacks 'model'"),
        (lambda r: r["range"].update(edge="high"), "'range'"),
        (lambda r: r["candidates"][1]["split_scores"].append(0.5), "must have 2 entries"),
        (lambda r: r["candidates"][1].update(mean_score="high"), "must be a number"),
        (lambda r: r.update(best_params={"C": 0.5}), "not one of the search's candidates"),
        (lambda r: r.update(n_eval=1), "'n_eval'"),
        (lambda r: r.update(scoring="f1_macro"), "'scoring'"),
        (lambda r: r["validation"].update(accuracy=1.5), r"'validation'\['accuracy'\]"),
        (lambda r: r["validation"].pop("f1_macro"), "'validation' keys differ"),
        (lambda r: r["seconds"].update(search=-1), r"'seconds'\['search'\]"),
        (lambda r: r.update(config_sha256="0" * 64), "another configuration"),
    ],
)
def test_malformed_study_checkpoints_are_named_in_one_line(study_run, mutate, needle) -> None:
    """Test that each broken field of a study checkpoint gives one DataFormatError naming it."""
    record = json.loads(_study_bytes(study_run))
    mutate(record)
    with pytest.raises(DataFormatError, match=needle) as info:
        parse_checkpoint(json.dumps(record).encode(), "fold-1.json", study_run[1])
    assert "checkpoints/fold-1.json: invalid checkpoint" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_study_checkpoint_of_the_earlier_format_is_refused(study_run) -> None:
    """Test that an earlier version's study record (C-keyed candidates, no 'model') is refused
    with one line saying so."""
    record = json.loads(_study_bytes(study_run))
    old = {"fold": 1, "best_params": record["best_params"], "scoring": record["scoring"],
           "candidates": [{**c["params"], **{k: v for k, v in c.items() if k != "params"}}
                          for c in record["candidates"]],
           "range": record["range"], "n_train": record["n_train"],
           "n_validation": record["n_eval"], "validation": record["validation"],
           "seconds": {"search": 1.0, "refit": 1.0}}
    with pytest.raises(DataFormatError, match="earlier version of mnist-logreg") as info:
        parse_checkpoint(json.dumps(old).encode(), "fold-1.json", study_run[1])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"[]", b"null", b'{"fold": NaN}', b'{"fold": 1e999}', b"\xff\xfe", b"[" * 100_000],
)
def test_unreadable_study_checkpoints_are_refused(study_run, data) -> None:
    """Test that empty, truncated, non-object, NaN, non-UTF-8 or deeply nested files are refused."""
    with pytest.raises(DataFormatError, match=r"fold-1\.json"):
        parse_checkpoint(data, "fold-1.json", study_run[1])


def test_unexpected_files_in_the_checkpoints_folder_are_refused(study_run, tmp_path) -> None:
    """Test that a file the study never writes is named, and an interrupted write is ignored."""
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "fold-1.json").write_bytes(_study_bytes(study_run))
    (folder / "checkpoints" / ".fold-2.json.abc123.tmp").write_bytes(b"{half")
    assert sorted(read_checkpoints(folder, study_run[1])) == [("lr", 1)]
    (folder / "checkpoints" / "notes.txt").write_text("hello")
    with pytest.raises(DataFormatError, match=r"notes\.txt.*not a file the study writes"):
        read_checkpoints(folder, study_run[1])


def test_compare_checkpoints_read_back_with_their_arrays(compare_run) -> None:
    """Test that a comparison's checkpoints are read back, final scores as float64 arrays."""
    folder, expect = compare_run
    records = read_checkpoints(folder, expect)
    assert sorted(records) == [("knn", 0), ("knn", 1), ("knn", 2), ("lr", 0), ("lr", 1), ("lr", 2)]
    scores = records[("lr", 0)]["arrays"]["scores"]
    assert scores.shape == (expect.fold_sizes[0][1], expect.n_classes)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-9)


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def test_malformed_compare_checkpoints_are_refused(compare_run) -> None:
    """Test stray models and folds, missing or wrong-shaped arrays, and NaN scores are refused."""
    folder, expect = compare_run
    ck = folder / "checkpoints"
    fold1 = (ck / "knn-fold-1.json").read_bytes()
    final = (ck / "lr-final.json").read_bytes()
    arrays = (ck / "lr-final.npz").read_bytes()
    shape = (expect.fold_sizes[0][1], expect.n_classes)
    with pytest.raises(DataFormatError, match="'svm' is not one of this run's"):
        parse_checkpoint(fold1, "svm-fold-1.json", expect)
    with pytest.raises(DataFormatError, match="fold 9 is not one of this run's 2"):
        parse_checkpoint(fold1, "knn-fold-9.json", expect)
    with pytest.raises(DataFormatError, match="'fold' is 1, but this run's is 2"):
        parse_checkpoint(fold1, "knn-fold-2.json", expect)
    with pytest.raises(DataFormatError, match=r"test scores .* missing"):
        parse_checkpoint(final, "lr-final.json", expect)
    with pytest.raises(DataFormatError, match="shape"):
        parse_checkpoint(final, "lr-final.json", expect, _npz(scores=np.zeros((3, 3))))
    nan = np.full(shape, 0.1)
    nan[0, 0] = np.nan
    with pytest.raises(DataFormatError, match="non-finite"):
        parse_checkpoint(final, "lr-final.json", expect, _npz(scores=nan))
    with pytest.raises(DataFormatError, match="exactly one 'scores'"):
        parse_checkpoint(final, "lr-final.json", expect, _npz(other=np.zeros(shape)))
    with pytest.raises(DataFormatError, match="unreadable"):
        parse_checkpoint(final, "lr-final.json", expect, arrays[: len(arrays) // 2])
    assert parse_checkpoint(final, "lr-final.json", expect, arrays)["fold"] == 0


# --- fuzzing ------------------------------------------------------------------------------------

FIXTURES = [HealthCheck.function_scoped_fixture]  # the fixtures are module-scoped, never mutated

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


def _assert_sound_study_record(record: dict[str, Any], expect: Expectations) -> None:
    """What the summary relies on holds for an accepted record."""
    nested = expect.config.protocol
    assert 1 <= record["fold"] <= nested.outer
    replayed = replay_range(
        nested.candidates_for(record["fold"]), nested.c_min, nested.c_max,
        expand=nested.expand_range, random_state=nested.random_state, search=record["fold"],
        mean_score={c["params"]["C"]: c["mean_score"] for c in record["candidates"]},
    )
    assert [c["params"]["C"] for c in record["candidates"]] == sorted(replayed.Cs.tolist())
    assert record["range"] == json.loads(json.dumps(replayed.record(record["best_params"]["C"])))
    assert all(len(c["split_scores"]) == nested.inner for c in record["candidates"])
    assert (record["n_train"], record["n_eval"]) == expect.fold_sizes[record["fold"]]
    assert 0.0 <= record["validation"]["accuracy"] <= 1.0


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(value=JSON)
def test_fuzz_arbitrary_json_is_refused_in_one_line(study_run, value) -> None:
    """Test that arbitrary JSON values are refused by both readers with one DataFormatError line."""
    data = json.dumps(value).encode()
    with pytest.raises(DataFormatError) as info:
        parse_checkpoint(data, "fold-1.json", study_run[1])
    assert "\n" not in str(info.value)


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.data())
def test_fuzz_mutated_study_checkpoints(study_run, data) -> None:
    """Test that a real checkpoint with mutated bytes or a replaced field is sound or refused."""
    expect = study_run[1]
    raw = bytearray(_study_bytes(study_run, data.draw(st.sampled_from([1, 2]))))
    if data.draw(st.booleans()):
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] = data.draw(st.integers(0, 255))
    else:
        record = json.loads(raw)
        target = record
        path = data.draw(st.lists(st.sampled_from(["fold", "candidates", 0, "params", "C",
                                                   "validation", "model",
                                                   "accuracy", "seconds", "search", "n_train",
                                                   "best_params", "split_scores", 1]),
                                  min_size=1, max_size=3))
        for key in path[:-1]:
            if isinstance(target, dict) and key in target:
                target = target[key]
            elif isinstance(target, list) and isinstance(key, int) and key < len(target):
                target = target[key]
        last = path[-1]
        if isinstance(target, dict) and isinstance(last, str):
            target[last] = data.draw(JSON)
        elif isinstance(target, list) and isinstance(last, int) and last < len(target):
            target[last] = data.draw(JSON)
        raw = bytearray(json.dumps(record).encode())
    name = f"fold-{json.loads(_study_bytes(study_run, 1))['fold']}.json"
    try:
        record = parse_checkpoint(bytes(raw), name, expect)
    except DataFormatError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("checkpoints/")
    else:
        _assert_sound_study_record(record, expect)


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.data())
def test_fuzz_mutated_compare_checkpoints(compare_run, data) -> None:
    """Test that a comparison's final checkpoint with mutated JSON or arrays is sound or refused."""
    folder, expect = compare_run
    raw = bytearray((folder / "checkpoints" / "lr-final.json").read_bytes())
    arrays = bytearray((folder / "checkpoints" / "lr-final.npz").read_bytes())
    target = raw if data.draw(st.booleans()) else arrays
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(target) - 1))
        target[at] = data.draw(st.integers(0, 255))
    try:
        record = parse_checkpoint(bytes(raw), "lr-final.json", expect, bytes(arrays))
    except DataFormatError as exc:
        assert "\n" not in str(exc)
    else:
        scores = record["arrays"]["scores"]
        assert scores.shape == (expect.fold_sizes[0][1], expect.n_classes)
        assert np.all(np.isfinite(scores)) and np.all((scores >= 0) & (scores <= 1))
