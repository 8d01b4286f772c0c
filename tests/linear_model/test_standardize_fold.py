"""Tests of standardization folded into the fit: the objective of StandardScaler -> LR, exactly."""

from __future__ import annotations

import functools
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mnist_logreg.datasets import load_dataset
from mnist_logreg.linear_model import (
    LogisticRegression,
    logistic_regression_path,
    path_estimators,
)
from mnist_logreg.linear_model._linear_loss import LinearModelLoss
from mnist_logreg.linear_model._loss import BinaryCrossEntropy, MultinomialCrossEntropy
from mnist_logreg.linear_model._standardize import standardization


@functools.cache
def _mnist(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """The first n bundled MNIST rows as uint8, with a constant non-zero column appended."""
    data = load_dataset("mnist")
    X = np.asarray(data.X_train[:n], dtype=np.uint8)
    X = np.hstack([X, np.full((n, 1), 7, dtype=np.uint8)])  # zero variance, mean 7
    return X, np.asarray(data.y_train[:n])


def _as(X: np.ndarray, form: str):
    if form == "uint8":
        return X
    if form == "csr":
        return sp.csr_matrix(X)
    if form == "csc-float32":
        return sp.csc_matrix(X.astype(np.float32))
    return X.astype(form)


FORMS = ["uint8", "float32", "float64", "csr"]


@pytest.mark.parametrize("form", [*FORMS, "csc-float32"])
@pytest.mark.parametrize("weighted", [False, True])
def test_statistics_equal_standard_scaler(form: str, weighted: bool) -> None:
    """Test that mean and scale equal StandardScaler's, constant columns included (scale 1)."""
    X, _ = _mnist()
    sw = np.random.default_rng(0).uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    mean, scale, var = standardization(_as(X, form), sw)
    scaler = StandardScaler().fit(X.astype(np.float64), sample_weight=sw)
    np.testing.assert_allclose(var, scaler.var_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean, scaler.mean_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scale, scaler.scale_, rtol=1e-10)
    assert scale[-1] == 1.0 and mean[-1] == pytest.approx(7.0)
    assert np.sum(scale == 1.0) == np.sum(scaler.scale_ == 1.0) > 1


def _losses(kind: str, form: str, weighted: bool, kernel: str = "auto"):
    X, y = _mnist()
    rng = np.random.default_rng(1)
    Xf = _as(X, form)
    dtype = np.float32 if form in ("uint8", "float32", "csr") else np.float64
    if kind == "binary":
        loss, target = BinaryCrossEntropy, (y == 3).astype(np.float64)[:, None]
    else:
        loss, target = MultinomialCrossEntropy, np.eye(10)[y]
    sw = rng.uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    mean, scale, _ = standardization(Xf, sw)
    folded = LinearModelLoss(loss, Xf, target, sw, C=0.59, mean=mean, scale=scale, kernel=kernel)
    # the explicit pipeline: StandardScaler's own transform, float64 so that the reference is
    # exact; the folded side computes in its own dtype
    U = StandardScaler().fit(X.astype(np.float64), sample_weight=sw).transform(
        X.astype(np.float64)
    )
    explicit = LinearModelLoss(loss, U, target, sw, C=0.59)
    w = rng.normal(scale=0.05, size=folded.n_params)
    return folded, explicit, w, dtype


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("weighted", [False, True])
def test_folded_objective_and_gradient_equal_explicit_pipeline(
    kind: str, form: str, weighted: bool
) -> None:
    """Test that the folded objective and gradient equal those on StandardScaler's output."""
    folded, explicit, w, dtype = _losses(kind, form, weighted)
    f1, g1 = folded.value_and_grad(w)
    f2, g2 = explicit.value_and_grad(w)
    assert f1 == pytest.approx(f2, rel=1e-6)
    atol = (1e-5 if dtype == np.float32 else 1e-9) * np.abs(g2).max()
    np.testing.assert_allclose(g1, g2, rtol=1e-4, atol=atol)
    # the raw predictions (in the model's space) agree too
    coef, intercept = folded.unpack(w)
    Z1 = folded.raw_prediction(coef, intercept)
    Z2 = explicit.raw_prediction(coef, intercept)
    np.testing.assert_allclose(Z1, Z2, rtol=1e-4, atol=1e-4 * np.abs(Z2).max())


@pytest.mark.parametrize("kernel", ["dense", "sparse", "csr"])
def test_every_kernel_folds_to_the_same_objective(kernel: str) -> None:
    """Test that each pass kernel gives the explicit pipeline's objective and gradient."""
    folded, explicit, w, _ = _losses("multinomial", "float64", True, kernel=kernel)
    assert folded.kernel.name == kernel
    f1, g1 = folded.value_and_grad(w)
    f2, g2 = explicit.value_and_grad(w)
    assert f1 == pytest.approx(f2, rel=1e-9)
    np.testing.assert_allclose(g1, g2, rtol=1e-7, atol=1e-10 * np.abs(g2).max())


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
def test_folded_gram_and_curvature_equal_explicit(kind: str) -> None:
    """Test that the Gram matrix and curvature blocks of the fold equal the explicit ones."""
    folded, explicit, w, _ = _losses(kind, "float64", True)
    np.testing.assert_allclose(folded.gram(), explicit.gram(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(
        folded.curvature_blocks(w, 200), explicit.curvature_blocks(w, 200), rtol=1e-7,
        atol=1e-10,
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_classes", [2, 10])
@pytest.mark.parametrize("form", FORMS)
def test_estimator_equals_scaler_pipeline(n_classes: int, form: str) -> None:
    """Test that LogisticRegression(standardize=True) reaches the pipeline's optimum."""
    X, y = _mnist()
    if n_classes == 2:
        keep = (y == 3) | (y == 5)
        X, y = X[keep], y[keep]
    sw = np.random.default_rng(2).uniform(0.5, 2.0, size=X.shape[0])
    ours = LogisticRegression(C=0.05, standardize=True, tol=1e-9, max_iter=5000)
    ours.fit(_as(X, form), y, sample_weight=sw)
    X64 = X.astype(np.float64)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, tol=1e-9, max_iter=5000))
    pipe.fit(X64, y, standardscaler__sample_weight=sw, logisticregression__sample_weight=sw)
    assert ours.objective_ == pytest.approx(pipe[-1].objective_, rel=1e-6)
    np.testing.assert_allclose(ours.standardized_coef_, pipe[-1].coef_, atol=2e-3)
    np.testing.assert_array_equal(ours.predict(_as(X, form)), pipe.predict(X64))
    np.testing.assert_allclose(ours.predict_proba(_as(X, form)), pipe.predict_proba(X64),
                               atol=1e-3)
    # coef_ is the raw-space model: it reads raw rows directly
    np.testing.assert_allclose(
        X64 @ ours.coef_.T + ours.intercept_,
        ours.decision_function(X).reshape(len(X), -1), rtol=1e-5, atol=1e-5,
    )
    # unfold gives the equivalent scaler and standardized classifier
    scaler, classifier = ours.unfold()
    np.testing.assert_allclose(
        classifier.decision_function(scaler.transform(X64)), ours.decision_function(X),
        rtol=1e-6, atol=1e-6,
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_intercept_false_keeps_the_centering_offset() -> None:
    """Test that without an intercept the fold still centres the rows as StandardScaler does."""
    X, y = _mnist(300)
    ours = LogisticRegression(C=0.1, standardize=True, fit_intercept=False, tol=1e-9).fit(X, y)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, fit_intercept=False,
                                                              tol=1e-9)).fit(X.astype(float), y)
    assert ours.objective_ == pytest.approx(pipe[-1].objective_, rel=1e-6)
    np.testing.assert_allclose(ours.standardized_intercept_, 0.0)
    assert np.abs(ours.intercept_).max() > 0  # b = -W m


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_unfold_needs_standardize() -> None:
    """Test that unfold() on a model fitted without standardize raises a clear error."""
    X, y = _mnist(200)
    model = LogisticRegression(max_iter=20).fit(X.astype(np.float64) / 255, y)
    with pytest.raises(ValueError, match="standardize=True"):
        model.unfold()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_path_standardized_equals_path_on_standardized_rows() -> None:
    """Test that a standardized path on raw uint8 rows equals the path on StandardScaler's rows."""
    X, y = _mnist()
    Cs = [0.01, 0.1, 1.0]
    raw = logistic_regression_path(X, y, Cs, standardize=True, tol=1e-8, max_iter=5000)
    U = StandardScaler().fit_transform(X.astype(np.float64))
    ref = logistic_regression_path(U, y, Cs, tol=1e-8, max_iter=5000)
    np.testing.assert_allclose(raw.objectives, ref.objectives, rtol=1e-6)
    np.testing.assert_array_equal(raw.predict(X), ref.predict(U))
    est = path_estimators(raw)[1]
    assert est.standardize and est.mean_.shape == (X.shape[1],)
    np.testing.assert_allclose(est.predict_proba(X), raw.predict_proba(X)[1], atol=1e-6)


def test_uint8_fit_makes_no_float_copy_of_the_matrix() -> None:
    """Test that fitting raw uint8 rows allocates well under one float32 copy of them (0.6x)."""
    data = load_dataset("mnist")
    X = np.asarray(data.X_train[:20_000], dtype=np.uint8)
    y = np.asarray(data.y_train[:20_000])
    model = LogisticRegression(C=0.59, standardize=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:3000], y[:3000])  # warm-up: compiled code (the CSR kernel), pools
        tracemalloc.start()
        model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 0.6 * X.size * 4
