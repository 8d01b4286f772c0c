"""``mnist-logreg datasets``: list the known data sets, summarize one, build and verify stores.

``datasets [NAME] [--json]`` (list, or load NAME and summarize it) is the group's default action:
any first argument that is not a subcommand (``build``, ``verify``) goes to it, so the listing
works exactly as before the group existed.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import TextColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from mnist_logreg.cli._progress import run_progress
from mnist_logreg.datasets import (
    DEFAULT_CHUNK_SIZE,
    GENERATOR_NAME,
    SourceInfo,
    list_sources,
    load_dataset,
    open_zarr_dataset,
    read_manifest,
    verify_store,
)
from mnist_logreg.datasets._store_manifest import MAX_CHUNKS
from mnist_logreg.datasets._zarr_store import (
    MAX_IMAGES,
    check_new_store_folder,
    open_store_for_resume,
)
from mnist_logreg.errors import InputError

_SUBCOMMANDS = ("build", "verify")
_DEFAULT = "show"


class _DatasetsGroup(TyperGroup):
    """The ``datasets`` group: a first argument that is not a subcommand goes to ``show``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in _SUBCOMMANDS and args[0] not in ("--help", "-h")):
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)


datasets_app = typer.Typer(
    cls=_DatasetsGroup,
    help="List the known data sets (datasets [--json]), summarize one (datasets NAME [--json]), "
    "build a store of deformed digits (datasets build), or verify a store (datasets verify).",
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Wide enough for the class-count column when stdout is not a terminal (pipes, tests).
_PIPE_WIDTH = 200


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=_PIPE_WIDTH)
    return console


def _printable(text: str) -> Text:
    """Text with control characters (terminal escapes included) shown escaped, e.g. ``\\x1b``."""
    return Text("".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)))


def _json_ready(value: Any) -> Any:
    """Replace non-finite floats by None (standard JSON has no Infinity nor NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_json_ready(value), indent=2, allow_nan=False)


def _counts(counts: Any) -> str:
    return ", ".join(str(c) for c in counts) if counts is not None else "-"


def _sources_table(sources: list[SourceInfo]) -> Table:
    table = Table(title="Known data sets (load one with: mnist-logreg datasets NAME)")
    table.add_column("name", no_wrap=True)
    for header in ("origin", "location", "available"):
        table.add_column(header, overflow="fold")
    table.add_column("train", no_wrap=True, justify="right")
    table.add_column("test", no_wrap=True, justify="right")
    table.add_column("class counts", overflow="fold")
    for info in sources:
        counts = Text(f"train: {_counts(info.train_class_counts)}")
        if info.test_class_counts is not None:
            counts.append(f"\ntest: {_counts(info.test_class_counts)}")
        if info.train_class_counts is None:
            counts = Text("-")
        table.add_row(
            _printable(info.name),
            _printable(info.origin),
            _printable(info.location),
            _printable(info.status),
            Text(str(info.n_train) if info.n_train is not None else "-"),
            Text(str(info.n_test) if info.n_test is not None else "-"),
            counts,
        )
    return table


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    console.print(_printable(f"{summary['name']}: {summary['source']}"))
    shape = "x".join(str(d) for d in summary["image_shape"])
    console.print(
        Text(
            f"images {shape} ({summary['n_features']} pixels), pixel_max {summary['pixel_max']:g}, "
            f"{summary['n_classes']} classes"
        )
    )
    splits = Table(title="Splits")
    for header in ("split", "X shape", "X dtype", "pixel range", "y dtype"):
        splits.add_column(header)
    for split in ("train", "test"):
        part = summary[split]
        low, high = part["pixel_range"]
        splits.add_row(
            split,
            Text(" x ".join(str(d) for d in part["X_shape"])),
            part["X_dtype"],
            Text(f"{low} .. {high}"),
            part["y_dtype"],
        )
    console.print(splits)
    counts = Table(title="Class counts")
    for header in ("label", "class", "train", "test"):
        counts.add_column(header, justify="right" if header in ("train", "test") else "left")
    train_counts, test_counts = summary["train"]["class_counts"], summary["test"]["class_counts"]
    for label, name in enumerate(summary["class_names"]):
        counts.add_row(
            str(label), _printable(name), str(train_counts[label]), str(test_counts[label])
        )
    console.print(counts)
    if summary["checksums"]:
        checks = Table(title="SHA-256 of the files read")
        checks.add_column("file")
        checks.add_column("sha256", no_wrap=True)
        for file_name, digest in summary["checksums"].items():
            checks.add_row(_printable(file_name), digest)
        console.print(checks)
    else:
        console.print("checksums: none (not read from files)")


@datasets_app.command(_DEFAULT, hidden=True)
def datasets_cli(
    name: str | None = typer.Argument(
        None,
        help="Data set to load and summarize: mnist, fashion-mnist, digits, idx:DIR, "
        "openml:NAME or zarr:DIR (every chunk verified). Without it, list the known data sets.",
        show_default=False,
    ),
    path: Path | None = typer.Option(
        None, "--path", help="Folder of the fashion-mnist IDX files (overrides the default)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout instead of tables."),
) -> None:
    """List the known data sets, or load NAME and print its shapes, pixel range, class counts
    and checksums."""
    console = _console()
    if name is None:
        if path is not None:
            raise InputError("--path needs a data set NAME (fashion-mnist)")
        sources = list_sources()
        if as_json:
            typer.echo(_dumps([info.as_dict() for info in sources]))
        else:
            console.print(_sources_table(sources))
        return
    options: dict[str, Any] = {} if path is None else {"path": path}
    if name.startswith("zarr:") and path is None:
        lazy = open_zarr_dataset(name[len("zarr:") :], name=name)
        with _images_progress("verifying", lazy.manifest.n) as advance:
            check = lazy.verify(advance)
        summary = lazy.summary(check)
    else:
        summary = load_dataset(name, **options).summary()
    if as_json:
        typer.echo(_dumps(summary))
    else:
        _print_summary(console, summary)


# ----------------------------------------------------------------------------- stores


@contextlib.contextmanager
def _images_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr counting images; yields the function that sets the count."""
    err = Console(stderr=True)
    columns = TextColumn("{task.completed:,.0f}/{task.total:,.0f} images")
    with run_progress(err, columns) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.update(task, completed=done)


def _check_range(value: int | None, flag: str, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise typer.BadParameter(f"must be in {low}..{high}, got {value}", param_hint=flag)


@datasets_app.command("build")
def build_cli(
    generator: str = typer.Argument(
        ..., help=f"What to generate: {GENERATOR_NAME} (deformed MNIST training digits)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Store folder to create (missing or empty), or to finish with --resume."
    ),
    n: int | None = typer.Option(
        None, "--n", help="Number of images (required unless --resume).", show_default=False
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        help="Seed of the images (default 0; with --resume, the store's).",
        show_default=False,
    ),
    chunk_size: int | None = typer.Option(
        None,
        "--chunk-size",
        help=f"Images per chunk (default {DEFAULT_CHUNK_SIZE:,}; with --resume, the store's).",
        show_default=False,
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Finish an interrupted build in --out, skipping finished chunks."
    ),
    jobs: int = typer.Option(
        1, "--jobs", help="Processes generating chunks in parallel (same store whatever N)."
    ),
) -> None:
    """Generate N deformed digits into a chunked Zarr store with a checksummed manifest."""
    from mnist_logreg.datasets import build_deformed_store

    if generator != GENERATOR_NAME:
        raise typer.BadParameter(
            f"unknown generator {generator!r}; known: {GENERATOR_NAME}", param_hint="GENERATOR"
        )
    _check_range(n, "--n", 1, MAX_IMAGES)
    _check_range(seed, "--seed", 0, 2**63 - 1)
    _check_range(chunk_size, "--chunk-size", 1, MAX_IMAGES)
    _check_range(jobs, "--jobs", 1, 1024)
    if n is not None and chunk_size is not None and -(-n // chunk_size) > MAX_CHUNKS:
        raise typer.BadParameter(
            f"{n} images in chunks of {chunk_size} make more than {MAX_CHUNKS} chunks",
            param_hint="--chunk-size",
        )
    if resume:  # the store's checks, before the progress bar and the generator start
        total = open_store_for_resume(out).n
    elif n is None:
        raise typer.BadParameter("is required for a new store (or give --resume)", param_hint="--n")
    else:
        check_new_store_folder(out)
        total = n
    try:
        with _images_progress("generating", total) as advance:
            manifest = build_deformed_store(
                out,
                n,
                seed=seed,
                chunk_size=chunk_size,
                resume=resume,
                progress=advance,
                n_jobs=jobs,
            )
    except KeyboardInterrupt:
        if (out / "manifest.json").is_file():
            Console(stderr=True).print(f"finish the build with: --out {out} --resume")
        raise
    typer.echo(
        f"{out}: {manifest.n} images in {manifest.n_chunks} chunks of {manifest.chunk_size} "
        f"(seed {manifest.seed}); load it with --dataset zarr:{out}"
    )


@datasets_app.command("verify")
def verify_cli(
    store: Path = typer.Argument(..., help="Store folder made by 'datasets build'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """Check every chunk of a store against the SHA-256 in its manifest (exit 2 if one differs)."""
    manifest = read_manifest(store)
    with _images_progress("verifying", manifest.n) as advance:
        check = verify_store(store, advance)
    if as_json:
        typer.echo(
            _dumps(
                {
                    "store": str(store),
                    "n_images": check.n_images,
                    "n_chunks": check.n_chunks,
                    "pixel_range": list(check.pixel_range),
                    "ok": True,
                }
            )
        )
    else:
        typer.echo(f"{store}: {check.n_images} images in {check.n_chunks} chunks verified")
