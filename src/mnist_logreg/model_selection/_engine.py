"""The one scheduler of nested cross-validation: inner-split tasks, then each search's refit.

A run is a list of :class:`SearchPlan` (one per model and outer fold, fold 0 being the final
model). Every plan has one task per inner split, each returning ``(scores, seconds)`` with one score
per candidate; once all of a plan's splits are in, the plan's refit task is built from the table of
scores and queued, and its result turned into the plan's outcome. The study and the comparison
build their plans differently (a warm-started C path for the study, any registry model for the
comparison) and share this loop.

A plan may grow: with an ``extend`` callback, once every split of a round is in, the plan is asked
for one more round (one task per inner split, scoring new candidates; the study's C range
extension). The new round's scores are appended as columns of the plan's table; the refit waits
until a round adds nothing. A split whose scores for the new round are already known (the study's
inner task scored the first decade below the range in advance, on the same split and exactly as
the round's task would) contributes them directly, without a task.

Tasks run on a :class:`~mnist_logreg.model_selection.TaskRunner`; at most ``runner.n_workers`` are
in flight. The next task is chosen by: refits first (a fold finishes, and is checkpointed, as soon
as its search is complete), then the most estimated work ahead (a task's own cost plus its refit's,
so the long SVM refits start early), then plan and split order. Results depend only on the tasks'
arguments, never on the scheduling.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

TASK_BLAS_THREADS = 1
"""BLAS and OpenMP threads of every task, whatever the backend. Multi-threaded matrix and distance
products round differently (which flips ties between equally distant neighbours, and can move a
search's best C), so only a fixed thread count makes the results independent of the backend and
the scheduling; parallelism comes from running tasks side by side."""

Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
"""A task as ``(function, args, kwargs)``; the function must be importable by worker processes."""


@dataclass
class SearchPlan:
    """One search (its inner-split tasks) and its refit, as the engine runs them.

    Attributes
    ----------
    model : str
        The model's name (progress and log messages).
    fold : int
        Outer fold (1-based), or 0 for the final model.
    splits : list of Call
        One task per inner split; each returns ``(scores, seconds)`` or ``(scores, seconds,
        state)``, ``scores`` of shape (n_candidates,); ``state`` is handed to ``extend``.
    split_costs : list of float
        Estimated seconds of each split task (scheduling and progress only).
    refit_cost : float
        Estimated seconds of the refit.
    refit : callable
        ``refit(table)`` with ``table`` of shape (n_splits, n_candidates): the refit task.
    finish : callable
        ``finish(table, search_seconds, result)``: the outcome, from the refit task's result.
    extend : callable or None
        ``extend(table, states)``, called when every task of a round is in (``states``: each
        split's latest ``state``, or None): the next round, one entry per split in split
        order, each a task or the split's scores for the round when they are already known
        (an ndarray; that split's state becomes None); or an empty list to go on to the
        refit.
    """

    model: str
    fold: int
    splits: list[Call]
    split_costs: list[float]
    refit_cost: float
    refit: Callable[[np.ndarray], Call]
    finish: Callable[[np.ndarray, float, Any], Any]
    extend: Callable[[np.ndarray, list[Any]], list[Call | np.ndarray]] | None = None
    scores: dict[int, np.ndarray] = field(default_factory=dict)
    states: dict[int, Any] = field(default_factory=dict)
    seconds: float = 0.0
    waiting: int = 0
    rounds: int = 1


@dataclass(frozen=True)
class TaskDone:
    """What the progress callback learns about a finished task (``kind``: search or refit).

    ``added`` counts the tasks this one's completion queued beyond the plan's first round (an
    extension of the C range), so that progress can raise its total.
    """

    kind: str
    model: str
    fold: int
    estimated_seconds: float
    seconds: float
    added: int = 0


@dataclass
class _Task:
    kind: str
    plan: int
    split: int
    cost: float
    priority: tuple[bool, float, int, int]


def _table(plan: SearchPlan) -> np.ndarray:
    return np.vstack([plan.scores[i] for i in range(len(plan.splits))])


def _queue_refit(plan: SearchPlan, index: int, calls: dict[tuple[int, int], Call],
                 ready: list[_Task]) -> None:
    calls[(index, -1)] = plan.refit(_table(plan))
    ready.append(_Task("refit", index, -1, plan.refit_cost, (True, plan.refit_cost, -index, 0)))


def _next_round(plan: SearchPlan) -> list[tuple[int, Call]]:
    """``(split, task)`` of ``plan``'s next round; empty when the search is over.

    Scores a split already has for the round are appended here; a round that needs no task at
    all is followed at once by the next one.
    """
    if plan.extend is None:
        return []
    while True:
        more = plan.extend(_table(plan), [plan.states[i] for i in range(len(plan.splits))])
        if not more:
            return []
        plan.rounds += 1
        tasks = []
        for j, entry in enumerate(more):
            if isinstance(entry, np.ndarray):
                plan.scores[j] = np.concatenate([plan.scores[j], entry.astype(float)])
                plan.states[j] = None
            else:
                tasks.append((j, entry))
        if tasks:
            return tasks


def run_plans(
    plans: Sequence[SearchPlan],
    runner: Any,
    *,
    on_outcome: Callable[[Any], None] | None = None,
    on_task: Callable[[TaskDone], None] | None = None,
) -> list[Any]:
    """Run every plan's split tasks and refit on ``runner``; return the outcomes.

    Parameters
    ----------
    plans : sequence of SearchPlan
    runner : TaskRunner
        Where the tasks run.
    on_outcome : callable, optional
        Called with each outcome as soon as its refit is finished (to checkpoint it).
    on_task : callable, optional
        Called with a :class:`TaskDone` after every task (progress).

    Returns
    -------
    outcomes : list
        In the order the refits finished.
    """
    ready: list[_Task] = []
    for index, plan in enumerate(plans):
        plan.waiting = len(plan.splits)
        for j, cost in enumerate(plan.split_costs):
            priority = (False, cost + plan.refit_cost, -index, -j)
            ready.append(_Task("search", index, j, cost, priority))
    calls: dict[tuple[int, int], Call] = {}
    outcomes: list[Any] = []
    in_flight: dict[Any, _Task] = {}
    started: dict[Any, float] = {}
    try:
        while ready or in_flight:
            while ready and len(in_flight) < max(1, runner.n_workers):
                ready.sort(key=lambda t: t.priority, reverse=True)
                task = ready.pop(0)
                plan = plans[task.plan]
                if task.kind == "search" and (task.plan, task.split) not in calls:
                    fn, args, kwargs = plan.splits[task.split]
                else:
                    fn, args, kwargs = calls.pop((task.plan, task.split))
                future = runner.submit(fn, *args, **kwargs)
                in_flight[future] = task
                started[future] = time.perf_counter()
            done, _ = runner.wait_first(list(in_flight))
            for future in sorted(done, key=lambda f: (in_flight[f].plan, in_flight[f].split)):
                task = in_flight.pop(future)
                elapsed = time.perf_counter() - started.pop(future)
                plan = plans[task.plan]
                added = 0
                if task.kind == "search":
                    scores, seconds, *state = future.result()
                    scores = np.asarray(scores, dtype=float)
                    previous = plan.scores.get(task.split)
                    plan.scores[task.split] = (
                        scores if previous is None else np.concatenate([previous, scores])
                    )
                    plan.states[task.split] = state[0] if state else None
                    plan.seconds += seconds
                    plan.waiting -= 1
                    if plan.waiting == 0:
                        more = _next_round(plan)
                        if more:
                            # the next round: one task per split that needs one, keyed like the
                            # first round's (the first round's calls stay in plan.splits)
                            plan.waiting = len(more)
                            added = len(more)
                            for j, call in more:
                                calls[(task.plan, j)] = call
                                cost = plan.split_costs[j]
                                priority = (False, cost + plan.refit_cost, -task.plan, -j)
                                ready.append(_Task("search", task.plan, j, cost, priority))
                        else:
                            _queue_refit(plan, task.plan, calls, ready)
                else:
                    outcome = plan.finish(_table(plan), plan.seconds, future.result())
                    logger.info("%s fold %d done", plan.model, plan.fold)
                    outcomes.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)
                if on_task is not None:
                    on_task(TaskDone(task.kind, plan.model, plan.fold, task.cost, elapsed,
                                     added))
    finally:
        runner.cancel(list(in_flight))
    return outcomes


__all__ = ["TASK_BLAS_THREADS", "Call", "SearchPlan", "TaskDone", "run_plans"]
