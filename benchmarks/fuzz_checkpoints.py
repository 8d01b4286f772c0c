"""Long fuzz of the run folders' checkpoint readers (study and compare).

Real checkpoints are made once by a tiny study and a tiny comparison on the ``digits`` dataset;
then ``--n`` inputs are fed to :func:`mnist_logreg.study.parse_checkpoint` (one reader for
both):

- ``study-bytes``, ``compare-bytes``, ``final-json``, ``final-npz``: a real checkpoint (a study
  fold, a comparison fold, a final model's JSON or its ``.npz`` arrays) with 1-16 random byte
  edits (overwrite, insert, delete, truncate, duplicate a slice);
- ``study-field``, ``compare-field``: a real checkpoint with one node of its JSON tree replaced by a
  random JSON value (or removed);
- ``random-json``: a random JSON value; ``random-bytes``: random bytes.

Each input runs under a time limit (``--time-limit``, SIGALRM). Outcomes: ``ok`` (accepted; then
the record is checked for what the summary relies on, ``unsound`` if it does not hold), ``error``
(our one-line :class:`~mnist_logreg.errors.DataFormatError`), ``traceback`` (any other
exception, or a multi-line message) and ``hang`` (past the limit, and again when retried once after
the run; ``slow once`` if the retry is within it: a loaded machine can preempt one input). Exits 1
on any traceback, hang or unsound record.

Usage::

    python benchmarks/fuzz_checkpoints.py --n 100000 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import DataFormatError
from mnist_logreg.model_selection import CompareConfig, NestedCVConfig, replay_range
from mnist_logreg.study import (
    ComparisonConfig,
    Expectations,
    StudyConfig,
    parse_checkpoint,
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


class Hang(Exception):
    """Raised by the alarm when one input runs past the time limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def make_checkpoints(folder: Path) -> tuple[Expectations, Expectations]:
    """Write the real checkpoints of a tiny study and comparison into ``folder/checkpoints``."""
    data = load_dataset("digits")
    (folder / "checkpoints").mkdir(parents=True)
    run_study(data, STUDY, on_fold=lambda r: write_checkpoint(folder, r, STUDY))
    run_comparison(data, COMPARE,
                   on_checkpoint=lambda r: write_checkpoint(folder, r, COMPARE))
    return (Expectations.from_labels(STUDY, data.y_train, len(data.y_test)),
            Expectations.from_labels(COMPARE, data.y_train, len(data.y_test)))


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value: scalars of every kind, lists and objects up to depth 4."""
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, 1, 2, -1, 99, 2**31, 2**63, 10**30, rng.randrange(-10**6, 10**6)])
    if kind == 3:
        return rng.choice([0.0, -0.0, 0.5, 1.5, -1.0, 1e308, 5e-324, rng.uniform(-1e3, 1e3)])
    if kind == 4:
        return rng.choice(["", "1", "fold", "accuracy", "C", "\x00", "é", "a" * rng.randrange(50)])
    if kind == 5:
        return rng.choice([[], {}, "NaN"])
    if kind in (6, 7):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    keys = ["fold", "candidates", "C", "validation", "accuracy", "seconds", "best_params",
            "scoring", "n_train", "model", "split_scores", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """1-16 random edits of ``data``."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        op = rng.randrange(5)
        at = rng.randrange(max(len(buf), 1))
        if op == 0 and buf:
            buf[at] = rng.randrange(256)
        elif op == 1:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2 and buf:
            del buf[at:at + rng.randint(1, 16)]
        elif op == 3:
            del buf[at:]
        elif op == 4 and buf:
            end = min(len(buf), at + rng.randint(1, 64))
            buf[at:at] = buf[at:end]
    return bytes(buf)


def mutate_field(rng: random.Random, data: bytes) -> bytes:
    """Replace (or remove) one random node of a JSON document's tree."""
    tree = json.loads(data)
    nodes: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            nodes.append((node, key))
            if isinstance(value, dict | list):
                walk(value)

    walk(tree)
    parent, key = rng.choice(nodes)
    if isinstance(parent, dict) and rng.random() < 0.2:
        del parent[key]
    else:
        parent[key] = random_json(rng)
    return json.dumps(tree).encode()


def sound_study(record: dict[str, Any], expect: Expectations) -> bool:
    """Whether an accepted study record holds what the summary relies on."""
    nested = expect.config.protocol
    fold = record["fold"]
    return bool(
        1 <= fold <= nested.outer
        # the initial candidates, then any range extension's (replayed from the record's scores)
        and [c["params"]["C"] for c in record["candidates"]] == sorted(replay_range(
            nested.candidates_for(fold), nested.c_min, nested.c_max,
            expand=nested.expand_range, random_state=nested.random_state, search=fold,
            mean_score={c["params"]["C"]: c["mean_score"] for c in record["candidates"]},
        ).Cs.tolist())
        and all(len(c["split_scores"]) == nested.inner for c in record["candidates"])
        and (record["n_train"], record["n_eval"]) == expect.fold_sizes[fold]
        and 0.0 <= record["validation"]["accuracy"] <= 1.0
    )


def sound_compare(record: dict[str, Any], expect: Expectations) -> bool:
    """Whether an accepted comparison record holds what the comparison relies on."""
    if record["fold"] != 0:
        return bool(0.0 <= record["validation"]["accuracy"] <= 1.0)
    scores = record["arrays"]["scores"]
    return bool(
        scores.shape == (expect.fold_sizes[0][1], expect.n_classes)
        and np.all(np.isfinite(scores))
    )


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz and print its summary; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs to try")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutations")
    parser.add_argument("--time-limit", type=float, default=2.0, help="seconds per input")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        setup = time.perf_counter()
        study_expect, compare_expect = make_checkpoints(Path(tmp))
        ck = Path(tmp) / "checkpoints"
        study = [(p.name, p.read_bytes()) for p in sorted(ck.glob("fold-*.json"))]
        folds = [(p.name, p.read_bytes()) for p in sorted(ck.glob("*-fold-*.json"))]
        finals = [(p.name, p.read_bytes(), p.with_suffix(".npz").read_bytes())
                  for p in sorted(ck.glob("*-final.json"))]
        setup = time.perf_counter() - setup

    def study_case(data: bytes, name: str) -> Callable[[], bool]:
        return lambda: sound_study(parse_checkpoint(data, name, study_expect), study_expect)

    def compare_case(data: bytes, name: str, arrays: bytes | None) -> Callable[[], bool]:
        return lambda: sound_compare(
            parse_checkpoint(data, name, compare_expect, arrays), compare_expect)

    def draw() -> tuple[str, Callable[[], bool]]:
        kind = rng.choice(["study-bytes", "study-field", "compare-bytes", "compare-field",
                           "final-json", "final-npz", "random-json", "random-bytes"])
        if kind in ("study-bytes", "study-field"):
            name, data = rng.choice(study)
            mutate = mutate_bytes if kind == "study-bytes" else mutate_field
            return kind, study_case(mutate(rng, data), name)
        if kind in ("compare-bytes", "compare-field"):
            name, data = rng.choice(folds)
            mutate = mutate_bytes if kind == "compare-bytes" else mutate_field
            return kind, compare_case(mutate(rng, data), name, None)
        if kind in ("final-json", "final-npz"):
            name, data, arrays = rng.choice(finals)
            if kind == "final-json":
                data = (mutate_bytes if rng.random() < 0.5 else mutate_field)(rng, data)
            else:
                arrays = mutate_bytes(rng, arrays)
            return kind, compare_case(data, name, arrays)
        if kind == "random-json":
            data = json.dumps(random_json(rng)).encode()
        else:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        if rng.random() < 0.5:
            return kind, study_case(data, rng.choice(study)[0])
        name, _, arrays = rng.choice(finals)
        return kind, compare_case(data, name, arrays)

    outcomes: Counter[str] = Counter()
    by_kind: Counter[tuple[str, str]] = Counter()
    failures: list[str] = []
    hung: list[tuple[int, str, Callable[[], bool]]] = []
    slowest = 0.0
    signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    for i in range(args.n):
        kind, case = draw()
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.time_limit)
        try:
            outcome = "ok" if case() else "unsound"
        except Hang:
            outcome = "hang"
            hung.append((i, kind, case))
        except DataFormatError as exc:
            outcome = "error" if "\n" not in str(exc) else "traceback"
        except Exception as exc:
            outcome = "traceback"
            if len(failures) < 10:
                failures.append(f"input {i} ({kind}): {type(exc).__name__}: {exc}"[:300])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        slowest = max(slowest, time.perf_counter() - t0)
        outcomes[outcome] += 1
        by_kind[(kind, outcome)] += 1
    seconds = time.perf_counter() - start
    # An input past the limit is tried once more: a hang only if it is slow again (on a shared,
    # loaded machine one input can be preempted past the limit).
    for i, kind, case in hung:
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.time_limit)
        try:
            case()
            again = "ok"
        except Hang:
            again = "hang"
        except Exception as exc:
            again = type(exc).__name__
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = (time.perf_counter() - t0) * 1000
        failures.append(f"input {i} ({kind}) passed the time limit; retried: {again} "
                        f"in {elapsed:.1f} ms")
        if again != "hang":
            outcomes["hang"] -= 1
            outcomes["slow once"] += 1
            by_kind[(kind, "hang")] -= 1
            by_kind[(kind, "slow once")] += 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"fuzz_checkpoints: {args.n} inputs, seed {args.seed}, time limit {args.time_limit} s")
    print(f"setup (tiny study + comparison on digits): {setup:.1f} s; fuzz: {seconds:.1f} s "
          f"({args.n / max(seconds, 1e-9):.0f} inputs/s), slowest input {slowest * 1000:.1f} ms")
    names = ("ok", "error", "traceback", "hang", "slow once", "unsound")
    print("outcomes: " + ", ".join(f"{k} {outcomes[k]}" for k in names))
    for kind in sorted({k for k, _ in by_kind}):
        counts = ", ".join(f"{o} {by_kind[(kind, o)]}" for o in names if by_kind[(kind, o)])
        print(f"  {kind:14} {counts}")
    print(f"peak RSS: {peak_mb:.0f} MB")
    for line in failures[:20]:
        print("  " + line)
    bad = outcomes["traceback"] + outcomes["hang"] + outcomes["unsound"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
