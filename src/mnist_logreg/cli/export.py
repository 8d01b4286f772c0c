"""``mnist-logreg export``: write a saved model's whole pipeline as an ONNX file."""

from __future__ import annotations

from pathlib import Path

import typer

from mnist_logreg.atomic import write_atomic
from mnist_logreg.errors import InputError, MnistLogregError
from mnist_logreg.persistence import read_model_file


def export_cli(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file (.npz)."),
    onnx_path: Path = typer.Option(..., "--onnx", help="ONNX file to write (.onnx)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --onnx if it exists."),
) -> None:
    """Export the model (pixel scaling, standardization, linear layer, softmax) as ONNX.

    The graph uses opset 17; input 'pixels' float32 [N, n_features] (raw pixels, 0..255 for
    MNIST); outputs 'probabilities' float32 [N, n_classes] and 'label' [N]. The model file is
    fully checked first (digest, and its HMAC when MNIST_LOGREG_MODEL_KEY is set).
    """
    if onnx_path.is_dir():
        raise InputError(f"--onnx {onnx_path}: is a folder; give a file name")
    if onnx_path.exists() and not force:
        raise InputError(f"--onnx {onnx_path}: file exists; use --force to overwrite it")
    if not onnx_path.parent.is_dir():
        raise InputError(f"--onnx {onnx_path}: folder {onnx_path.parent} does not exist")
    model_file = read_model_file(model_path)  # every check of persistence, once
    model, metadata = model_file.model, model_file.metadata
    try:
        from mnist_logreg.onnx_export import INPUT_NAME, OPSET, to_onnx
    except ImportError as exc:
        raise MnistLogregError(
            f"ONNX export needs the 'onnx' package ({exc.name} is missing): "
            "pip install 'mnist-logreg[onnx]'"
        ) from None
    onnx_model = to_onnx(model, metadata=metadata)
    write_atomic(onnx_path, onnx_model.SerializeToString())
    n_features = int(onnx_model.graph.input[0].type.tensor_type.shape.dim[1].dim_value)
    n_classes = int(onnx_model.graph.output[0].type.tensor_type.shape.dim[1].dim_value)
    typer.echo(
        f"Wrote {onnx_path}: ONNX opset {OPSET}, input '{INPUT_NAME}' float32 [N, {n_features}] "
        f"(raw pixels), outputs 'probabilities' float32 [N, {n_classes}] and 'label' [N]."
    )
