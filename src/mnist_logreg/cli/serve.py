"""``mnist-logreg serve``: a local web page to draw digits, see what the model thinks and why."""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

import typer

from mnist_logreg.cli.predict import check_model_argument
from mnist_logreg.errors import InputError, MnistLogregError
from mnist_logreg.persistence import load_model, read_metadata


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_MAX_METRICS_BYTES = 20_000_000


def _run_metrics(model_path: Path) -> Any:
    """The parsed ``metrics.json`` beside a study's ``model.npz``, or None (absent, unreadable).

    It only completes the page's model card (data set, test accuracy), and the card uses it only
    when its final C is the model's, so a missing or foreign file is not an error.
    """
    path = model_path.parent / "metrics.json"
    try:
        if model_path.name != "model.npz" or not path.is_file():
            return None
        if path.stat().st_size > _MAX_METRICS_BYTES:
            return None
        with path.open("rb") as handle:
            return json.loads(handle.read(_MAX_METRICS_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def serve_cli(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file (.npz)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (loopback by default: this machine only)."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port, 0 to 65535 (0: any free port)."),
) -> None:
    """Serve the drawing page: draw or drop a digit, see the prediction and its evidence map."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be an integer from 0 to 65535. Got {port} instead.")
    check_model_argument(model_path, [], command="serve")
    model = load_model(model_path)
    metadata = read_metadata(model_path)
    try:
        import uvicorn

        from mnist_logreg.serving import create_app, model_card
    except ImportError as exc:
        raise MnistLogregError(
            f"serve needs starlette and uvicorn ({exc.name} is missing): "
            "pip install 'mnist-logreg[serve]'"
        ) from None
    card = model_card(model, metadata, run_metrics=_run_metrics(model_path))
    app = create_app(model, metadata, card=card)
    if not _is_loopback(host):
        sys.stderr.write(
            f"mnist-logreg: warning: binding {host}: the page is reachable from other machines\n"
        )
    shown_host = f"[{host}]" if ":" in host else host
    typer.echo(f"Serving {model_path} on http://{shown_host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
