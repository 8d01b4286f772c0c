"""The ``mnist-logreg`` Typer application and its error contract.

Errors end with one line on stderr: exit code 2 for bad usage or input
(:class:`~mnist_logreg.errors.InputError`, Click usage errors), 1 for other failures.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import typer

from mnist_logreg import __version__
from mnist_logreg.errors import InputError, MnistLogregError

app = typer.Typer(
    name="mnist-logreg",
    help="Logistic regression on MNIST-style images: fast exact fits, nested CV, full reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mnist-logreg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register_commands() -> None:
    """Attach every command module's function to :data:`app` (imports kept local and lazy-safe)."""
    from mnist_logreg.cli import compare as compare_cmd
    from mnist_logreg.cli import datasets as datasets_cmd
    from mnist_logreg.cli import export as export_cmd
    from mnist_logreg.cli import fit as fit_cmd
    from mnist_logreg.cli import predict as predict_cmd
    from mnist_logreg.cli import serve as serve_cmd
    from mnist_logreg.cli import study as study_cmd

    app.add_typer(datasets_cmd.datasets_app, name="datasets")
    app.command("study")(study_cmd.study_cli)
    app.command("fit")(fit_cmd.fit_cli)
    app.command("predict")(predict_cmd.predict_cli)
    app.command("export")(export_cmd.export_cli)
    app.command("serve")(serve_cmd.serve_cli)
    app.command("compare")(compare_cmd.compare_cli)


_register_commands()


def error_exit(message: str, code: int) -> None:
    """Print ``message`` as one line on stderr and exit with ``code``."""
    one_line = " ".join(str(message).split())
    sys.stderr.write(f"mnist-logreg: error: {one_line}\n")
    sys.stderr.flush()
    raise SystemExit(code)


_MEMORY_HINTS = {
    "study": "; try --max-train or a smaller dataset",
    "compare": "; try --max-train or a smaller dataset",
    "fit": "; try --max-train or a smaller dataset",
    "predict": " loading the model or printing the results; try fewer FILEs at a time",
    "export": " loading or converting the model file",
    "serve": " loading the model file",
}


def _out_of_memory_message(argv: Sequence[str] | None) -> str:
    """Name the command that ran out of memory and what to try (per-file errors come earlier)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    command = next((str(a) for a in args if not str(a).startswith("-")), "")
    return f"{command or 'mnist-logreg'}: out of memory{_MEMORY_HINTS.get(command, '')}"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``), exiting with its status."""
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except typer.TyperException as exc:
        # Typer's public base of every parsing error (its vendored Click's UsageError, exit
        # code 2 with the command's context, and ClickException, exit code 1); Typer's Click is
        # not the click package, whose exceptions Typer never raises.
        code = exc.exit_code if exc.exit_code else 1
        message = exc.format_message().strip()
        if code == 2:
            if not message:  # no arguments at all: the help was shown
                raise SystemExit(2) from None
            ctx = getattr(exc, "ctx", None)
            message += f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        error_exit(message, code)
    except typer.Abort:
        error_exit("aborted", 130)
    except KeyboardInterrupt:
        error_exit("interrupted", 130)
    except InputError as exc:
        error_exit(str(exc), 2)
    except MnistLogregError as exc:
        error_exit(str(exc), 1)
    except MemoryError:
        error_exit(_out_of_memory_message(argv), 1)
    except OSError as exc:
        error_exit(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "), 1)
    code = result if isinstance(result, int) else 0
    raise SystemExit(code)
