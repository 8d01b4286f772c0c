"""``mnist-logreg study``: the whole study in one command, written to a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, TextColumn
from rich.table import Table

from mnist_logreg.cli._options import (
    BootstrapOption,
    DatasetOption,
    ForceOption,
    NJobsOption,
    ResumeOption,
    SchedulerOption,
)
from mnist_logreg.cli._progress import run_progress
from mnist_logreg.cli._run_command import RunCommand, RunContext, run_command
from mnist_logreg.evaluation import boundary_notes, fmt_interval, fmt_number
from mnist_logreg.model_selection import NestedCVConfig, TaskDone, count_tasks
from mnist_logreg.study import (
    StudyResult,
    run_study,
    write_checkpoint,
)

HEADLINE = (
    ("accuracy", "Accuracy"),
    ("f1_macro", "F1 (macro)"),
    ("f1_weighted", "F1 (weighted)"),
    ("roc_auc_ovr", "ROC AUC (OvR, macro)"),
    ("log_loss", "Log-loss"),
    ("brier", "Brier score"),
    ("ece", "ECE"),
)


def study_cli(
    dataset: DatasetOption = "mnist",
    outer: Annotated[
        int,
        typer.Option(
            "--outer", help="Outer CV folds (6 gives 10,000-row validation folds on MNIST)."
        ),
    ] = 6,
    inner: Annotated[int, typer.Option("--inner", help="Inner CV folds of each search.")] = 5,
    candidates: Annotated[int, typer.Option("--candidates", help="C candidates per search.")] = 10,
    c_min: Annotated[
        float, typer.Option("--c-min", help="Smallest C of the search interval.")
    ] = 0.01,
    c_max: Annotated[
        float, typer.Option("--c-max", help="Largest C of the search interval.")
    ] = 10.0,
    sampling: Annotated[
        str,
        typer.Option(
            "--sampling",
            help="loguniform (stratified log C: unbiased, no gaps) or uniform (the reference's).",
        ),
    ] = "loguniform",
    expand_range: Annotated[
        bool,
        typer.Option(
            "--expand-range/--no-expand-range",
            help="Where a search's best C lies in the lowest or highest stratum of log C, search "
            "one more decade on that side (at most 3, within [1e-6, 1e4]); "
            "--no-expand-range keeps the reference protocol's fixed range.",
        ),
    ] = True,
    scoring: Annotated[
        str, typer.Option("--scoring", help="Any scikit-learn scorer name.")
    ] = "accuracy",
    strategy: Annotated[
        str, typer.Option("--strategy", help="multinomial (softmax) or ovr (one-vs-all).")
    ] = "multinomial",
    seed: Annotated[
        int,
        typer.Option(
            "--seed", help="Seed of every random choice (folds, candidates, subsample, bootstrap)."
        ),
    ] = 42,
    max_train: Annotated[
        int | None,
        typer.Option(
            "--max-train", help="Seeded stratified subsample of N training rows (quick runs)."
        ),
    ] = None,
    n_bootstrap: BootstrapOption = 1000,
    n_jobs: NJobsOption = -1,
    scheduler: SchedulerOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run folder to create (default runs/study-<dataset>-<time>)."),
    ] = None,
    resume: ResumeOption = None,
    force: ForceOption = False,
) -> None:
    """Run the whole study (nested CV of C, final model, test metrics, figures, report)."""

    def protocol() -> NestedCVConfig:
        return NestedCVConfig(
            outer=outer, inner=inner, n_candidates=candidates, c_min=c_min, c_max=c_max,
            sampling=sampling, scoring=scoring, strategy=strategy, random_state=seed,
            expand_range=expand_range,
        )

    run_command(STUDY, protocol, dataset=dataset, max_train=max_train, n_bootstrap=n_bootstrap,
                out=out, resume=resume, force=force, n_jobs=n_jobs, scheduler=scheduler)


def _run_with_progress(run: RunContext) -> StudyResult:
    """Run the study with progress bars, checkpointing each outer fold."""
    err, config, runner, completed = run.err, run.config, run.runner, run.completed
    n_todo = config.protocol.outer - len(completed)
    total = count_tasks(config.protocol, n_todo)
    with run_progress(err, MofNCompleteColumn(), TextColumn("{task.fields[unit]}")) as progress:
        tasks = progress.add_task(
            f"study on {config.dataset} ({runner.description})", total=total, unit="fits"
        )
        folds_done = progress.add_task(
            "outer folds", total=config.protocol.outer, completed=len(completed), unit=""
        )

        def on_task(done: TaskDone) -> None:
            if done.added:  # a range extension queued more inner paths
                total = next(t.total for t in progress.tasks if t.id == tasks) or 0
                progress.update(tasks, total=total + done.added)
            progress.advance(tasks)

        def on_fold(record: dict[str, Any]) -> None:
            write_checkpoint(run.folder, record, config)
            progress.advance(folds_done)
            accuracy = record["validation"].get("accuracy")
            progress.console.print(
                f"outer fold {record['fold']}/{config.protocol.outer}: "
                f"C = {record['best_params']['C']:.4g}, validation accuracy "
                + ("n/a" if accuracy is None else f"{accuracy:.4f}")
                + range_note(record.get("range")),
                markup=False,
            )

        return run_study(run.dataset, config, runner=runner, completed_folds=completed,
                         on_fold=on_fold, on_task=on_task)


def _print_summary(result: StudyResult, folder: Path) -> None:
    console = Console()
    test = result.results["test"]
    final = result.results["final"]
    table = Table(
        title=f"Test set ({result.results['dataset']['n_test']} images), "
        f"final C = {final['best_params']['C']:.4g}"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for key, label in HEADLINE:
        if key in test:
            entry = test[key]
            table.add_row(label, fmt_number(entry), fmt_interval(entry))
    console.print(table)
    summary = result.results.get("outer_summary", {})
    if "accuracy" in summary:
        acc = summary["accuracy"]
        console.print(
            f"Outer CV accuracy (estimate of the whole tuning procedure): "
            f"{acc['mean']:.4f} ± {acc['std']:.4f}; chosen C per fold: "
            + ", ".join(f"{c:.3g}" for c in summary["chosen_C"])
        )
    for line in boundary_notes(result.results, expand_option="--expand-range"):
        console.print(line, markup=False, highlight=False)
    console.print(
        f"Total {result.results['timings']['total_seconds']:.1f} s. "
        f"Report: {folder / 'report.html'}"
    )


STUDY = RunCommand(StudyResult, _run_with_progress, _print_summary,
                   resumed=lambda config, done: f"{done} outer fold(s) already done.")


def range_note(c_range: Any) -> str:
    """A fold line's note on its C range: extended, or best still on an edge (else '')."""
    if not isinstance(c_range, dict):
        return ""
    lo, hi = c_range["searched"]
    edge = c_range.get("edge")
    note = ""
    if c_range.get("expanded"):
        note = f"; range extended to [{lo:.3g}, {hi:.3g}]"
    if edge is not None:
        note += f"; WARNING best C in the {edge} edge stratum of [{lo:.3g}, {hi:.3g}]"
    return note
