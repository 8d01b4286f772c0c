"""``mnist-logreg study``: the whole study in one command, written to a run folder."""

from __future__ import annotations

from contextlib import closing
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
    max_train_option,
    out_option,
    seed_option,
)
from mnist_logreg.cli._progress import run_progress
from mnist_logreg.cli._run_folder import (
    default_out,
    read_checkpoints,
    resume_run_folder,
    start_run_folder,
    write_atomic,
    write_checkpoint,
    write_json,
)
from mnist_logreg.datasets import load_dataset
from mnist_logreg.model_selection import NestedCVConfig, count_tasks, make_runner
from mnist_logreg.model_selection import validate_scheduler as check_scheduler
from mnist_logreg.persistence import save_model
from mnist_logreg.study import StudyConfig, StudyResult, run_study

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
    scoring: Annotated[
        str, typer.Option("--scoring", help="Any scikit-learn scorer name.")
    ] = "accuracy",
    strategy: Annotated[
        str, typer.Option("--strategy", help="multinomial (softmax) or ovr (one-vs-all).")
    ] = "multinomial",
    seed: Annotated[
        int,
        seed_option("Seed of every random choice (folds, candidates, subsample, bootstrap)."),
    ] = 42,
    max_train: Annotated[
        int | None,
        max_train_option("Seeded stratified subsample of N training rows (quick runs)."),
    ] = None,
    n_bootstrap: BootstrapOption = 1000,
    n_jobs: NJobsOption = -1,
    scheduler: SchedulerOption = None,
    out: Annotated[Path | None, out_option("study")] = None,
    resume: ResumeOption = None,
    force: ForceOption = False,
) -> None:
    """Run the whole study (nested CV of C, final model, test metrics, figures, report)."""
    err = Console(stderr=True)
    check_scheduler(scheduler)
    if resume is not None:
        config = StudyConfig.from_dict(resume_run_folder(resume, out))
        config.validate()
        completed = read_checkpoints(resume)
        folder = resume
        err.print(
            f"Resuming {folder} with its saved settings; "
            f"{len(completed)} outer fold(s) already done."
        )
        dataset_obj = load_dataset(config.dataset)
    else:
        config = StudyConfig(
            dataset=dataset,
            nested=NestedCVConfig(
                outer=outer,
                inner=inner,
                n_candidates=candidates,
                c_min=c_min,
                c_max=c_max,
                sampling=sampling,
                scoring=scoring,
                strategy=strategy,
                random_state=seed,
            ),
            max_train=max_train,
            n_bootstrap=n_bootstrap,
        )
        config.validate()
        dataset_obj = load_dataset(config.dataset)
        config.nested.validate_for(dataset_obj.y_train)
        folder = start_run_folder(
            out or default_out("study", config.dataset), config.to_dict(), force=force
        )
        completed = {}

    with closing(make_runner(n_jobs=n_jobs, scheduler=scheduler)) as runner:
        result = _run_with_progress(err, dataset_obj, config, runner, completed, folder)
    _write_run_folder(folder, result)
    _print_summary(result, folder)


def _run_with_progress(
    err: Console,
    dataset: Any,
    config: StudyConfig,
    runner: Any,
    completed: dict[int, dict[str, Any]],
    folder: Path,
) -> StudyResult:
    n_todo = config.nested.outer - len(completed)
    total = count_tasks(config.nested, n_todo)
    with run_progress(err, MofNCompleteColumn(), TextColumn("{task.fields[unit]}")) as progress:
        tasks = progress.add_task(
            f"study on {config.dataset} ({runner.description})", total=total, unit="fits"
        )
        folds_done = progress.add_task(
            "outer folds", total=config.nested.outer, completed=len(completed), unit=""
        )

        def on_task(kind: str) -> None:
            progress.advance(tasks)

        def on_fold(record: dict[str, Any]) -> None:
            write_checkpoint(folder, record)
            progress.advance(folds_done)
            accuracy = record["validation"].get("accuracy")
            progress.console.print(
                f"outer fold {record['fold']}/{config.nested.outer}: "
                f"C = {record['best_params']['C']:.4g}, validation accuracy "
                + ("n/a" if accuracy is None else f"{accuracy:.4f}")
            )

        return run_study(
            dataset,
            config,
            runner=runner,
            completed_folds=completed,
            on_fold=on_fold,
            on_task=on_task,
        )


def _write_run_folder(folder: Path, result: StudyResult) -> None:
    """Write every output atomically; metrics.json last (it marks the run complete)."""
    for name, png in result.figures.items():
        write_atomic(folder / name, png)
    write_atomic(folder / "classification_report.txt", result.classification_report)
    write_atomic(folder / "report.md", result.report_markdown)
    write_atomic(folder / "report.html", result.report_html)
    save_model(result.model, folder / "model.npz")
    write_json(folder / "metrics.json", result.results)


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
            lo, hi = entry["ci95"]
            table.add_row(label, f"{entry['value']:.4f}", f"[{lo:.4f}, {hi:.4f}]")
    console.print(table)
    summary = result.results.get("outer_summary", {})
    if "accuracy" in summary:
        acc = summary["accuracy"]
        console.print(
            f"Outer CV accuracy (estimate of the whole tuning procedure): "
            f"{acc['mean']:.4f} ± {acc['std']:.4f}; chosen C per fold: "
            + ", ".join(f"{c:.3g}" for c in summary["chosen_C"])
        )
    console.print(
        f"Total {result.results['timings']['total_seconds']:.1f} s. "
        f"Report: {folder / 'report.html'}"
    )
