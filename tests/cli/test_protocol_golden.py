"""Golden tests of the protocol: a fixed-seed study and comparison give committed metrics.json.

Both run end to end through the command line on ``digits`` (600 training rows, seed 5): the study
with 3 outer and 2 inner folds and 3 candidates (with the reference protocol's fixed C range, and
with the default range extension), the comparison with every model's quick budget.
Their metrics.json, with wall times, the platform and library versions left out, must equal the
committed files: the same keys, the same integers and strings, every float equal to 1e-9 relative
(room for another machine's last-bit rounding, none for a changed protocol).

After a deliberate change to the protocol's numbers, regenerate the expected files with
``MNIST_LOGREG_UPDATE_GOLDEN=1 python -m pytest tests/cli/test_protocol_golden.py`` and review
their diff.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MNIST_LOGREG_UPDATE_GOLDEN") == "1"

COMMON = ["--dataset", "digits", "--max-train", "600", "--bootstrap", "20", "--seed", "5",
          "--n-jobs", "1"]
STUDY = ["study", "--outer", "3", "--inner", "2", "--candidates", "3", *COMMON]
CASES = {
    # the reference protocol (fixed C range); its numbers are those of the study before the
    # range extension existed, the new keys (config.expand_range, each search's "range") aside
    "study": [*STUDY, "--no-expand-range"],
    # the default: two searches (fold 2, final) extend [0.01, 10] by the decade above it
    "study_expand": STUDY,
    "compare": ["compare", "--quick", *COMMON],
}


def _stable(data: Any) -> Any:
    """``data`` without wall times, the machine and library versions."""
    if isinstance(data, dict):
        return {k: _stable(v) for k, v in data.items()
                if k not in ("timings", "seconds", "versions")
                and not k.endswith(("_seconds", "seconds_per_10k"))}
    if isinstance(data, list):
        return [_stable(v) for v in data]
    return data


def _differences(actual: Any, expected: Any, where: str = "") -> list[str]:
    """Where ``actual`` and ``expected`` differ (floats to 1e-9 relative)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(actual) != list(expected):
            return [f"{where}: keys {list(actual)} != {list(expected)}"]
        return [d for k in expected for d in _differences(actual[k], expected[k], f"{where}.{k}")]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            return [f"{where}: length {len(actual)} != {len(expected)}"]
        return [d for i, (a, e) in enumerate(zip(actual, expected, strict=True))
                for d in _differences(a, e, f"{where}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, int | float) and not isinstance(
        actual, bool
    ):
        if math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12):
            return []
        return [f"{where}: {actual!r} != {expected!r}"]
    if type(actual) is not type(expected) or actual != expected:
        return [f"{where}: {actual!r} != {expected!r}"]
    return []


@pytest.mark.parametrize("command", sorted(CASES))
def test_metrics_match_the_golden_file(command: str, tmp_path: Path) -> None:
    """Test that a fixed-seed run's metrics.json equals the committed one, timings aside."""
    from mnist_logreg.cli.app import main

    out = tmp_path / "run"
    with pytest.raises(SystemExit) as info:
        main([*CASES[command], "--out", str(out)])
    assert info.value.code == 0
    actual = _stable(json.loads((out / "metrics.json").read_text()))
    expected_path = GOLDEN / f"{command}_metrics.json"
    if UPDATE:
        expected_path.write_text(json.dumps(actual, indent=1) + "\n")
    expected = json.loads(expected_path.read_text())
    differences = _differences(actual, expected)
    assert not differences, "\n".join(differences[:20])


def test_differences_sees_a_changed_number() -> None:
    """Test that the comparison reports a float off by 1e-6, a new key and a changed string."""
    expected = {"a": [1.0, 2], "b": "x"}
    assert _differences({"a": [1.0, 2], "b": "x"}, expected) == []
    assert _differences({"a": [1.000001, 2], "b": "x"}, expected) == [".a[0]: 1.000001 != 1.0"]
    assert _differences({"a": [1.0, 2], "b": "y"}, expected) == [".b: 'y' != 'x'"]
    assert len(_differences({"a": [1.0, 2], "b": "x", "c": 1}, expected)) == 1
