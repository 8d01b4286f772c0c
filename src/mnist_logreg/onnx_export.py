"""Export a fitted model (the whole pipeline) as an ONNX graph.

The graph (ONNX opset 17, IR version 8, default domain only) computes from raw pixels what
``load_model(path).predict_proba`` and ``predict`` compute:

=================  =====================  ===============================================
name               type / shape           meaning
=================  =====================  ===============================================
``pixels``         float32 [N, F]         input: raw pixels on the model's scale (0..255
                                          for MNIST), one flattened image per row (C
                                          order), F = n_features (784 for MNIST), N
                                          symbolic (any batch size)
``probabilities``  float32 [N, K]         output: class probabilities, columns in the
                                          order of ``classes_``
``label``          int64 [N] (string for  output: the predicted class, ``classes_[argmax
                   string classes)        raw_prediction]`` (binary: ``z > 0``)
=================  =====================  ===============================================

Nodes, in order (each pipeline step becomes its own nodes; nothing is folded)::

    Div(pixels, pixel_max)                        PixelScaler: x / pixel_max (float32)
    Sub(., mean_)  Div(., scale_)                 StandardScaler: (x - mean) / scale (float32)
    Cast(double) MatMul(., coef_.T) Add(., b)     z = x W^T + b, [N, n_outputs] (float64)
    Softmax(z, axis=1)                            multinomial, K >= 3 classes
    Sigmoid(z); s / ReduceSum(s)                  one-vs-rest, K >= 3 (a row whose sigmoids
                                                  all underflow gives 1/K, like the native model)
    Sigmoid(z); Concat(1 - p, p)                  two classes (one output column)
    Cast(float) -> probabilities
    ArgMax(z, axis=1) or z > 0; Gather(classes_)  -> label

Precision: the graph repeats the native pipeline's arithmetic in the same dtypes: PixelScaler and
StandardScaler compute in float32 (StandardScaler casts its float64 statistics to the data's
dtype), the linear layer and the link function in the dtype numpy promotes to (float64 for the
float64 ``coef_`` this package fits), and only the final probabilities are rounded to float32.
On the MNIST test set the largest difference from ``predict_proba`` is about 3e-8 (float32
rounding of the output; the tests require <= 1e-5) and the labels are identical.

Why the steps are not folded into ``W`` and ``b``: folding gives ``W' = W / (pixel_max * scale)``
and ``b' = b - W' . (pixel_max * mean)``. Pixels that are almost constant in the training set
(MNIST's borders) have a tiny ``scale``, hence huge ``W'`` and large terms that cancel in ``b'``,
and the result would no longer round like the native pipeline. The elementwise nodes cost
nothing next to the matrix product.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.preprocessing import StandardScaler

from mnist_logreg import __version__
from mnist_logreg._model_schema import model_steps
from mnist_logreg.errors import InputError
from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression
from mnist_logreg.preprocessing import PixelScaler

__all__ = ["INPUT_NAME", "IR_VERSION", "LABEL_NAME", "OPSET", "PROBABILITIES_NAME", "to_onnx"]

#: ONNX operator set of the default domain used by the graph.
OPSET = 17
#: ONNX IR version (the one that goes with opset 17; onnxruntime >= 1.11 reads it).
IR_VERSION = 8
INPUT_NAME = "pixels"
PROBABILITIES_NAME = "probabilities"
LABEL_NAME = "label"

_F32 = np.float32
_NP_TYPE = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64}


class _Graph:
    """Collects nodes and constant tensors, naming every intermediate value uniquely."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def cast(self, x: str, to: int, hint: str) -> str:
        return self.op("Cast", [x], f"{hint}_cast", to=to)

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name=name))
        return name

    def op(
        self, op_type: str, inputs: list[str], hint: str, output: str | None = None, **attrs: Any
    ) -> str:
        out = output or self._name(hint)
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=self._name(f"{hint}_{op_type}"), **attrs)
        )
        return out


def _classes_tensor(classes: np.ndarray) -> tuple[np.ndarray, int]:
    """The class labels as an ONNX-friendly array and its TensorProto element type."""
    kind = classes.dtype.kind
    if kind in "biu":
        return classes.astype(np.int64), TensorProto.INT64
    if kind == "f":
        return classes.astype(np.float64), TensorProto.DOUBLE
    if kind in "USO":
        return np.array([str(c) for c in classes], dtype=object), TensorProto.STRING
    raise InputError(f"cannot export class labels of dtype {classes.dtype} to ONNX")


def to_onnx(model: Any, *, metadata: dict[str, Any] | None = None) -> onnx.ModelProto:
    """Build the ONNX graph of a fitted pipeline (or bare classifier).

    Parameters
    ----------
    model : Pipeline or LogisticRegression
        As returned by :func:`mnist_logreg.persistence.load_model`: PixelScaler and
        StandardScaler steps (each optional, in any order) followed by a
        :class:`~mnist_logreg.linear_model.LogisticRegression` or
        :class:`~mnist_logreg.linear_model.OneVsRestLogisticRegression`.
    metadata : dict, optional
        The model file's metadata (:func:`~mnist_logreg.persistence.read_metadata`); its
        ``extra`` entries (image_shape, pixel_max, class_names, dataset) are copied to the ONNX
        model's ``metadata_props`` as JSON strings.

    Returns
    -------
    onnx_model : onnx.ModelProto
        Checked with :func:`onnx.checker.check_model`. Input ``pixels`` float32
        [N, n_features]; outputs ``probabilities`` float32 [N, K] and ``label`` [N] (int64 for
        integer classes, string for string classes). See the module docstring.

    Raises
    ------
    InputError
        If a step is of an unknown type, the classifier is not fitted, or the arrays disagree
        in shape (``coef_`` rows against ``classes_``, scaler arrays against ``n_features``)
        or hold NaN, infinite or (scales) non-positive values.
    """
    steps = model_steps(model)
    *transforms, (clf_name, clf) = steps
    if not isinstance(clf, LogisticRegression):
        raise InputError(
            f"cannot export step {clf_name!r} of type {type(clf).__name__} to ONNX; the last "
            "step must be LogisticRegression or OneVsRestLogisticRegression"
        )
    try:
        coef = np.asarray(clf.coef_)
        intercept = np.asarray(clf.intercept_).reshape(-1)
        classes = np.asarray(clf.classes_)
    except AttributeError:
        raise InputError(f"cannot export step {clf_name!r}: it is not fitted") from None
    n_outputs, n_features, n_classes = _check_linear_layer(clf_name, coef, intercept, classes)

    g = _Graph()
    x, x_type = INPUT_NAME, TensorProto.FLOAT
    for name, step in transforms:
        if isinstance(step, PixelScaler):
            # np.divide(X, dtype(pixel_max), dtype=dtype): one rounding, in the step's dtype
            if np.dtype(step.dtype) == np.float64:
                x, x_type = g.cast(x, TensorProto.DOUBLE, f"{name}_cast"), TensorProto.DOUBLE
            _check_values(name, "pixel_max", np.asarray(step.pixel_max, dtype=np.float64), ())
            pixel_max = np.array(step.pixel_max, dtype=_NP_TYPE[x_type])
            x = g.op("Div", [x, g.const("pixel_max", pixel_max)], f"{name}_div")
        elif isinstance(step, StandardScaler):
            # sklearn: X -= mean_.astype(X.dtype); X /= scale_.astype(X.dtype)
            np_type = _NP_TYPE[x_type]
            if step.with_mean and getattr(step, "mean_", None) is not None:
                _check_values(name, "mean_", step.mean_, (n_features,), positive=False)
                mean = g.const("mean", step.mean_.astype(np_type))
                x = g.op("Sub", [x, mean], f"{name}_sub")
            if step.with_std and getattr(step, "scale_", None) is not None:
                _check_values(name, "scale_", step.scale_, (n_features,))
                scale = g.const("scale", step.scale_.astype(np_type))
                x = g.op("Div", [x, scale], f"{name}_div")
        else:
            raise InputError(
                f"cannot export step {name!r} of type {type(step).__name__} to ONNX "
                "(known: PixelScaler, StandardScaler)"
            )

    # raw_prediction = X @ coef_.T + intercept_ in the promoted dtype, as numpy computes it
    z_type = TensorProto.DOUBLE if coef.dtype == np.float64 else x_type
    x = g.cast(x, z_type, "linear")
    np_type = _NP_TYPE[z_type]
    z = g.op("MatMul", [x, g.const("coef_T", np.ascontiguousarray(coef.T, np_type))], "linear")
    z = g.op("Add", [z, g.const("intercept", intercept.astype(np_type))], "linear")
    if n_outputs == 1:
        p = g.op("Sigmoid", [z], "binary")
        q = g.op("Sub", [g.const("one", np.array(1.0, dtype=np_type)), p], "binary")
        proba = g.op("Concat", [q, p], "binary", axis=1)
        # predict: classes_[z > 0]
        positive = g.op("Greater", [z, g.const("zero", np.array(0.0, dtype=np_type))], "label")
        index = g.cast(positive, TensorProto.INT64, "label")
        index = g.op("Squeeze", [index, g.const("axis1", np.array([1], dtype=np.int64))], "label")
    else:
        if isinstance(clf, OneVsRestLogisticRegression) or clf._multi_class == "ovr":
            sig = g.op("Sigmoid", [z], "ovr")
            axes = g.const("axes", np.array([1], dtype=np.int64))
            total = g.op("ReduceSum", [sig, axes], "ovr", keepdims=1)
            ratio = g.op("Div", [sig, total], "ovr")
            zero = g.const("zero", np.array(0.0, dtype=np_type))
            positive = g.op("Greater", [total, zero], "ovr")
            uniform = g.const("uniform", np.array(1.0 / n_outputs, dtype=np_type))
            proba = g.op("Where", [positive, ratio, uniform], "ovr")
        else:
            proba = g.op("Softmax", [z], "multinomial", axis=1)
        # predict: classes_[argmax(raw_prediction)]
        index = g.op("ArgMax", [z], "label", axis=1, keepdims=0)
    g.op("Cast", [proba], "output", output=PROBABILITIES_NAME, to=TensorProto.FLOAT)
    class_values, label_type = _classes_tensor(classes)
    g.op("Gather", [g.const("classes", class_values), index], "label", output=LABEL_NAME, axis=0)

    graph = helper.make_graph(
        g.nodes,
        "mnist_logreg_pipeline",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", n_features])],
        outputs=[
            helper.make_tensor_value_info(PROBABILITIES_NAME, TensorProto.FLOAT, ["N", n_classes]),
            helper.make_tensor_value_info(LABEL_NAME, label_type, ["N"]),
        ],
        initializer=g.initializers,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="mnist-logreg",
        producer_version=__version__,
        doc_string=(
            f"mnist-logreg {type(clf).__name__} pipeline: input '{INPUT_NAME}' float32 "
            f"[N, {n_features}] raw pixels; outputs '{PROBABILITIES_NAME}' float32 "
            f"[N, {n_classes}], '{LABEL_NAME}' [N]."
        ),
    )
    onnx_model.ir_version = IR_VERSION
    props = {"classes": classes.tolist()}
    if metadata:
        props.update(metadata.get("extra") or {})
    helper.set_model_props(onnx_model, {str(k): _json(v) for k, v in props.items()})
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def _check_values(
    step: str, attribute: str, value: Any, shape: tuple[int, ...], *, positive: bool = True
) -> None:
    """Refuse a transform's array of the wrong shape, or with NaN, infinite or (scales) <= 0."""
    array = np.asarray(value)
    if array.shape != shape or array.dtype.kind not in "iuf":
        raise InputError(
            f"cannot export step {step!r}: {attribute} has shape {array.shape} and dtype "
            f"{array.dtype}, expected shape {shape} of numbers"
        )
    if not np.isfinite(array).all() or (positive and not (array > 0).all()):
        rule = "finite and > 0" if positive else "finite"
        raise InputError(f"cannot export step {step!r}: {attribute} must be {rule}")


def _check_linear_layer(
    name: str, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray
) -> tuple[int, int, int]:
    """Shapes of ``coef_``, ``intercept_`` and ``classes_`` agree and the weights are finite."""
    n_classes = len(classes) if classes.ndim == 1 else -1
    n_outputs = 1 if n_classes == 2 else n_classes
    if (
        n_classes < 2
        or coef.ndim != 2
        or coef.shape[0] != n_outputs
        or coef.shape[1] < 1
        or intercept.shape != (n_outputs,)
        or coef.dtype.kind != "f"
    ):
        raise InputError(
            f"cannot export step {name!r}: coef_ {coef.shape}, intercept_ {intercept.shape} and "
            f"classes_ {classes.shape} do not agree (expected ({n_outputs}, n_features), "
            f"({n_outputs},) for {n_classes} classes)"
        )
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise InputError(f"cannot export step {name!r}: coef_ or intercept_ holds NaN or inf")
    return n_outputs, coef.shape[1], n_classes


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
