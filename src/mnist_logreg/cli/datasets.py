"""``mnist-logreg datasets [NAME]``: list the known data sets, or summarize one."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mnist_logreg.datasets import SourceInfo, list_sources, load_dataset
from mnist_logreg.errors import InputError

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


def datasets_cli(
    name: str | None = typer.Argument(
        None,
        help="Data set to load and summarize: mnist, fashion-mnist, digits, idx:DIR or "
        "openml:NAME. Without it, list the known data sets.",
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
    summary = load_dataset(name, **options).summary()
    if as_json:
        typer.echo(_dumps(summary))
    else:
        _print_summary(console, summary)
