"""Tests of the one nested-CV scheduler: task order, the refit's table, outcomes, cancellation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mnist_logreg.model_selection import SerialRunner
from mnist_logreg.model_selection._engine import SearchPlan, TaskDone, run_plans


def _split_task(log: list[str], label: str, scores: list[float]) -> tuple[np.ndarray, float]:
    log.append(label)
    return np.array(scores), 0.5


def _refit_task(log: list[str], label: str, best: int) -> dict[str, Any]:
    log.append(label)
    return {"best": best}


def _plan(log: list[str], model: str, fold: int, split_scores: list[list[float]],
          split_cost: float = 1.0, refit_cost: float = 1.0) -> SearchPlan:
    splits = [(_split_task, (log, f"{model}{fold}:s{j}", scores), {})
              for j, scores in enumerate(split_scores)]

    def refit(table: np.ndarray) -> Any:
        return (_refit_task, (log, f"{model}{fold}:refit", int(table.mean(axis=0).argmax())), {})

    def finish(table: np.ndarray, seconds: float, result: Any) -> dict[str, Any]:
        return {"model": model, "fold": fold, "table": table.tolist(), "seconds": seconds,
                **result}

    return SearchPlan(model, fold, splits, [split_cost] * len(splits), refit_cost, refit, finish)


def test_refits_first_then_most_work_ahead() -> None:
    """Test that a refit runs as soon as its search is complete and costlier searches go first."""
    log: list[str] = []
    plans = [
        _plan(log, "cheap", 1, [[0.1, 0.2], [0.3, 0.4]], split_cost=1.0),
        _plan(log, "dear", 1, [[0.5, 0.1], [0.5, 0.2]], split_cost=10.0),
    ]
    events: list[TaskDone] = []
    outcomes = run_plans(plans, SerialRunner(), on_task=events.append)
    assert log == ["dear1:s0", "dear1:s1", "dear1:refit", "cheap1:s0", "cheap1:s1", "cheap1:refit"]
    assert [(o["model"], o["best"]) for o in outcomes] == [("dear", 0), ("cheap", 1)]
    assert [(e.kind, e.model, e.estimated_seconds) for e in events[:3]] == [
        ("search", "dear", 10.0), ("search", "dear", 10.0), ("refit", "dear", 1.0)]


def test_the_refit_sees_every_split_in_order_and_the_search_seconds() -> None:
    """Test that the table has one row per split in split order and the seconds are summed."""
    log: list[str] = []
    plan = _plan(log, "m", 2, [[1.0, 0.0, 0.5], [0.0, 1.0, 0.25], [0.0, 0.0, 2.0]])
    saved: list[Any] = []
    [outcome] = run_plans([plan], SerialRunner(), on_outcome=saved.append)
    assert outcome["table"] == [[1.0, 0.0, 0.5], [0.0, 1.0, 0.25], [0.0, 0.0, 2.0]]
    assert outcome["best"] == 2  # means 1/3, 1/3, 0.917
    assert outcome["seconds"] == pytest.approx(1.5)
    assert saved == [outcome]


class _RecordingRunner(SerialRunner):
    """A serial runner that reports one finished task at a time and records cancellations."""

    n_workers = 2

    def __init__(self) -> None:
        self.cancelled: list[Any] = []

    def wait_first(self, futures: Any) -> tuple[set[Any], set[Any]]:
        first, *rest = list(futures)
        return {first}, set(rest)

    def cancel(self, futures: Any) -> None:
        self.cancelled.extend(futures)


def _failing_task() -> tuple[np.ndarray, float]:
    raise RuntimeError("task failed")


def test_a_failing_task_cancels_the_tasks_in_flight() -> None:
    """Test that an error in one task propagates and the other task in flight is cancelled."""
    log: list[str] = []
    good = _plan(log, "good", 1, [[0.1], [0.2]], split_cost=1.0)
    bad = SearchPlan("bad", 1, [(_failing_task, (), {})], [5.0], 1.0,
                     refit=lambda table: (_failing_task, (), {}), finish=lambda *a: None)
    runner = _RecordingRunner()
    with pytest.raises(RuntimeError, match="task failed"):
        run_plans([good, bad], runner)
    assert len(runner.cancelled) == 1  # the good plan's first split, submitted beside it
    assert log == ["good1:s0"]


def test_a_round_takes_known_scores_and_runs_tasks_only_for_the_other_splits() -> None:
    """Test that an extension round whose scores some splits already have runs tasks only for
    the others, appends every split's scores in split order, and that a round known for every
    split is followed at once by the next one."""
    log: list[str] = []
    plan = _plan(log, "m", 1, [[0.1, 0.2], [0.3, 0.4]])
    rounds: list[list[Any]] = []

    def extend(table: np.ndarray, states: list[Any]) -> list[Any]:
        rounds.append(list(states))
        if table.shape[1] == 2:  # split 0 knows its scores, split 1 needs a task
            return [np.array([0.9]), (_split_task, (log, "m1:e1", [0.8]), {})]
        if table.shape[1] == 3:  # both known
            return [np.array([0.5]), np.array([0.6])]
        return []

    plan.extend = extend
    events: list[TaskDone] = []
    [outcome] = run_plans([plan], SerialRunner(), on_task=events.append)
    assert log == ["m1:s0", "m1:s1", "m1:e1", "m1:refit"]
    assert outcome["table"] == [[0.1, 0.2, 0.9, 0.5], [0.3, 0.4, 0.8, 0.6]]
    assert plan.rounds == 3  # the initial round and two extensions
    # a split whose scores were known has no new state; a task's split keeps its own
    assert rounds[1] == [None, None] and rounds[2] == [None, None]
    assert [e.added for e in events] == [0, 1, 0, 0]
