"""Tests of the ONNX export: same probabilities and labels as the native pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx", reason="needs the 'onnx' extra: pip install 'mnist-logreg[onnx]'")
ort = pytest.importorskip(
    "onnxruntime", reason="needs the 'onnx' extra: pip install 'mnist-logreg[onnx]'"
)

from mnist_logreg.datasets import load_dataset  # noqa: E402
from mnist_logreg.errors import InputError  # noqa: E402
from mnist_logreg.linear_model import LogisticRegression  # noqa: E402
from mnist_logreg.model_selection import build_model  # noqa: E402
from mnist_logreg.onnx_export import IR_VERSION, OPSET, to_onnx  # noqa: E402
from mnist_logreg.persistence import load_model, read_metadata, save_model  # noqa: E402


@pytest.fixture(scope="module")
def mnist():
    """The bundled MNIST data set."""
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def model_file(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multinomial model fitted on 5,000 MNIST training images, saved as a model file."""
    rows = np.random.default_rng(0).choice(len(mnist.y_train), 5000, replace=False)
    model = build_model(0.05, pixel_max=255.0).fit(mnist.X_train[rows], mnist.y_train[rows])
    path = tmp_path_factory.mktemp("onnx") / "model.npz"
    save_model(
        model,
        path,
        extra={
            "dataset": "mnist",
            "image_shape": [28, 28],
            "pixel_max": 255.0,
            "class_names": list(mnist.class_names),
        },
    )
    return path


def _session(onnx_model):
    return ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_onnx_matches_native_on_the_whole_mnist_test_set(mnist, model_file: Path) -> None:
    """Test that onnxruntime matches predict_proba within 1e-5 and predict on 10,000 images."""
    model = load_model(model_file)
    session = _session(to_onnx(model, metadata=read_metadata(model_file)))
    X = mnist.X_test.astype(np.float32)
    proba, labels = session.run(None, {"pixels": X})
    native = model.predict_proba(X)
    max_abs_diff = float(np.abs(proba - native).max())
    assert proba.shape == (10000, 10) and proba.dtype == np.float32
    assert max_abs_diff <= 1e-5, max_abs_diff  # about 3e-8: float32 rounding of the output
    assert np.array_equal(labels, model.predict(X))
    # the raw uint8 pixels the model file is fed natively give the same probabilities
    assert np.abs(model.predict_proba(mnist.X_test) - native).max() == 0


def test_graph_interface(model_file: Path) -> None:
    """Test the documented interface: opset 17, input 'pixels' [N, 784], two named outputs."""
    import onnx

    onnx_model = to_onnx(load_model(model_file), metadata=read_metadata(model_file))
    assert [(o.domain, o.version) for o in onnx_model.opset_import] == [("", OPSET)]
    assert OPSET == 17 and onnx_model.ir_version == IR_VERSION
    (inp,) = onnx_model.graph.input
    assert inp.name == "pixels"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = inp.type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("N", 784)
    assert [o.name for o in onnx_model.graph.output] == ["probabilities", "label"]
    props = {p.key: p.value for p in onnx_model.metadata_props}
    assert (
        props["image_shape"] == "[28, 28]" and props["classes"] == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    )
    session = _session(onnx_model)
    for n in (1, 7):
        proba, labels = session.run(None, {"pixels": np.zeros((n, 784), dtype=np.float32)})
        assert proba.shape == (n, 10) and labels.shape == (n,) and labels.dtype == np.int64


@pytest.mark.parametrize("case", ["ovr", "binary", "strings"])
def test_other_classifiers(case: str, mnist) -> None:
    """Test one-vs-rest, two-class and string-label models against their native predictions."""
    X, y = mnist.X_train[:3000], mnist.y_train[:3000]
    if case == "ovr":
        model = build_model(0.05, pixel_max=255.0, strategy="ovr").fit(X, y)
    elif case == "binary":
        keep = y < 2
        model = build_model(0.05, pixel_max=255.0).fit(X[keep], y[keep])
    else:
        names = np.array(
            ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        )
        model = build_model(0.05, pixel_max=255.0).fit(X, names[y])
    X_test = mnist.X_test[:2000].astype(np.float32)
    proba, labels = _session(to_onnx(model)).run(None, {"pixels": X_test})
    assert np.abs(proba - model.predict_proba(X_test)).max() <= 1e-5
    expected = model.predict(X_test)
    if case == "strings":
        expected = expected.astype(str).astype(object)
    assert np.array_equal(labels, expected)


def test_bare_classifier_and_unknown_steps() -> None:
    """Test a classifier without preprocessing, and that unknown steps are refused."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    clf = LogisticRegression(C=1.0).fit(X, y)
    proba, labels = _session(to_onnx(clf)).run(None, {"pixels": X})
    assert np.abs(proba - clf.predict_proba(X)).max() <= 1e-6
    assert np.array_equal(labels, clf.predict(X))
    with pytest.raises(InputError, match="MinMaxScaler"):
        to_onnx(Pipeline([("minmax", MinMaxScaler().fit(X)), ("classifier", clf)]))
    with pytest.raises(InputError, match="last step"):
        to_onnx(MinMaxScaler().fit(X))


def test_inconsistent_or_non_finite_models_are_refused() -> None:
    """Test that NaN weights, a zero scale or classes_ unlike coef_ never become a graph."""
    from sklearn.base import clone

    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(300, 12)).astype(np.float32)
    y = rng.integers(0, 3, size=300)
    fitted = build_model(1.0, pixel_max=255.0).fit(X, y)

    def copy():
        model = clone(fitted)
        for (_, new), (_, old) in zip(model.steps, fitted.steps, strict=True):
            new.__dict__.update({k: np.copy(v) for k, v in vars(old).items() if k.endswith("_")})
        return model

    to_onnx(copy())  # the intact copy exports
    nan = copy()
    nan[-1].coef_[0, 0] = np.nan
    with pytest.raises(InputError, match="coef_ or intercept_ holds NaN"):
        to_onnx(nan)
    extra_class = copy()
    extra_class[-1].classes_ = np.arange(4)
    with pytest.raises(InputError, match=r"coef_ \(3, 12\), intercept_ \(3,\) and classes_ \(4,\)"):
        to_onnx(extra_class)
    zero_scale = copy()
    zero_scale[1].scale_[2] = 0.0
    with pytest.raises(InputError, match="scale_ must be finite and > 0"):
        to_onnx(zero_scale)
    bad_pixel_max = copy()
    bad_pixel_max[0].pixel_max = float("inf")
    with pytest.raises(InputError, match="pixel_max must be finite and > 0"):
        to_onnx(bad_pixel_max)
