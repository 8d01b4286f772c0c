"""``mnist-logreg compare``: several models on the same folds, written to a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import TaskProgressColumn
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
from mnist_logreg.evaluation import fmt_interval, fmt_number
from mnist_logreg.model_selection import (
    FINAL,
    MODEL_NAMES,
    CompareConfig,
    TaskDone,
    parse_models,
    plan_cost,
)
from mnist_logreg.study import (
    QUICK_MAX_TRAIN,
    ComparisonConfig,
    ComparisonResult,
    run_comparison,
    training_rows,
    write_checkpoint,
)


def compare_cli(
    models: Annotated[
        str,
        typer.Option("--models", help="Comma-separated: " + ", ".join(MODEL_NAMES) + "."),
    ] = ",".join(MODEL_NAMES),
    dataset: DatasetOption = "mnist",
    outer: Annotated[
        int,
        typer.Option(
            "--outer",
            help="Outer CV folds shared by every model (3 keeps the SVM refits cheap).",
        ),
    ] = 3,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help=f"Tiny budgets on {QUICK_MAX_TRAIN} training rows (unless --max-train): "
            "a smoke test.",
        ),
    ] = False,
    max_train: Annotated[
        int | None,
        typer.Option("--max-train", help="Seeded stratified subsample of N training rows."),
    ] = None,
    seed: Annotated[
        int,
        typer.Option("--seed", help="Seed of every random choice (folds, subsamples, candidates)."),
    ] = 42,
    n_bootstrap: BootstrapOption = 1000,
    n_jobs: NJobsOption = -1,
    scheduler: SchedulerOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run folder to create (default runs/compare-<dataset>-<time>)."),
    ] = None,
    resume: ResumeOption = None,
    force: ForceOption = False,
) -> None:
    """Compare SVM, KNN, decision tree and logistic regressions on the same folds."""

    def protocol() -> CompareConfig:
        return CompareConfig(models=parse_models(models), outer=outer, quick=quick,
                             random_state=seed)

    rows = QUICK_MAX_TRAIN if quick and max_train is None else max_train
    run_command(COMPARE, protocol, dataset=dataset, max_train=rows, n_bootstrap=n_bootstrap,
                out=out, resume=resume, force=force, n_jobs=n_jobs, scheduler=scheduler)


# --- running and reporting --------------------------------------------------------------------


def _run_with_progress(run: RunContext) -> ComparisonResult:
    """Run the comparison with progress bars, checkpointing each finished search."""
    err, dataset, config, runner, completed = (run.err, run.dataset, run.config, run.runner,
                                               run.completed)
    cv = config.protocol
    rows = training_rows(dataset, config.max_train, cv.random_state)
    planned = plan_cost(cv, len(rows), len(dataset.y_test), int(dataset.X_train.shape[1]),
                        set(completed))
    n_searches = len(cv.models) * (cv.outer + 1)
    with run_progress(err, TaskProgressColumn()) as progress:
        # The bar advances by each task's estimated cost, so that the remaining-time estimate
        # weighs an SVM refit more than a KNN search.
        work = progress.add_task(
            f"compare on {config.dataset} ({runner.description})", total=max(planned, 1e-9)
        )
        searches = progress.add_task("model x fold searches", total=n_searches,
                                     completed=len(completed))

        def on_task(done: TaskDone) -> None:
            progress.advance(work, done.estimated_seconds)

        def on_checkpoint(record: dict[str, Any]) -> None:
            write_checkpoint(run.folder, record, config)
            progress.advance(searches)
            fold = int(record["fold"])
            where = "final" if fold == FINAL else f"fold {fold}/{cv.outer}"
            params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in record["best_params"].items())
            accuracy = (record.get("validation") or {}).get("accuracy")
            score = "" if accuracy is None else f", validation accuracy {accuracy:.4f}"
            progress.console.print(
                f"{record['model']} {where}: {params}{score} "
                f"(fit {record['seconds']['fit']:.1f} s on {record['n_train']} rows)"
            )

        return run_comparison(dataset, config, runner=runner, completed=completed,
                              on_checkpoint=on_checkpoint, on_task=on_task)


def _print_summary(result: ComparisonResult, folder: Path) -> None:
    console = Console()
    results = result.results
    table = Table(title=f"Test set ({results['dataset']['n_test']} images)", box=box.SIMPLE_HEAD,
                  padding=(0, 1))
    for header in ("model", "accuracy", "95% CI", "log-loss", "fit s", "pred/10k s", "MB"):
        table.add_column(header, justify="left" if header == "model" else "right")
    chosen = []
    for name, entry in results["models"].items():
        test = entry["test"]
        table.add_row(
            name, fmt_number(test["accuracy"]), fmt_interval(test["accuracy"]),
            fmt_number(test["log_loss"], 3), f"{entry['fit_seconds']:.1f}",
            f"{entry['predict_seconds_per_10k']:.2f}", f"{entry['model_bytes'] / 1e6:.1f}",
        )
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in entry["best_params"].items())
        chosen.append(f"{name}: {params}")
    console.print(table)
    console.print("Chosen: " + "; ".join(chosen))
    pairs = results["mcnemar"]["pairs"]
    if pairs:
        real = [f"{p['better']} > {p['model_b'] if p['better'] == p['model_a'] else p['model_a']}"
                for p in pairs if p["significant"]]
        console.print(
            "McNemar (Holm, 5%): " + (", ".join(real) if real else "no significant difference")
            + f"; {len(pairs) - len(real)} of {len(pairs)} pairs not significantly different."
        )
    console.print(
        f"Total {results['timings']['total_seconds']:.1f} s. Report: {folder / 'report.html'}"
    )


def _resumed(config: ComparisonConfig, done: int) -> str:
    searches = len(config.protocol.models) * (config.protocol.outer + 1)
    return f"{done} of {searches} searches done."


COMPARE = RunCommand(ComparisonResult, _run_with_progress, _print_summary, resumed=_resumed)
