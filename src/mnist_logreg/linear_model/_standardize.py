"""The statistics of StandardScaler, computed without a float copy of the data.

``standardization(X, sample_weight)`` returns the (sample-weighted) mean ``m`` and scale ``s`` of
every column exactly as :class:`sklearn.preprocessing.StandardScaler` fits them: ``m`` the
weighted mean, ``s`` the square root of the weighted (biased) variance, and ``s = 1`` for
columns that StandardScaler considers constant (its own test: variance within the rounding
bound of the two-pass algorithm). Sums are accumulated in
float64, row block by row block, so integer (uint8 pixel) and sparse matrices are never
converted whole.

The fitted model then reads raw rows: ``(x - m) / s @ V^T + c = x @ (V / s)^T + (c - (V / s) m)``
(see :mod:`._linear_loss`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["standardization"]

# Rows per block when accumulating column sums of a dense matrix in float64.
_BLOCK_ROWS = 512


def standardization(
    X: np.ndarray | sp.csr_matrix, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return StandardScaler's ``mean_``, ``scale_`` and ``var_`` of ``X`` (weighted).

    Parameters
    ----------
    X : ndarray or scipy.sparse CSR matrix of shape (n_samples, n_features)
        Any real or integer dtype; read block by block, never copied whole.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of the rows (StandardScaler's ``sample_weight``).

    Returns
    -------
    mean : ndarray of shape (n_features,), float64
        sum_n w_n x_n / sum_n w_n.
    scale : ndarray of shape (n_features,), float64
        sqrt(var), 1 for (near-)constant columns.
    var : ndarray of shape (n_features,), float64
        sum_n w_n (x_n - mean)^2 / sum_n w_n.
    """
    n_samples, n_features = X.shape
    w = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, np.float64)
    total = float(w.sum())
    total = total if total > 0 else 1.0
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        col_sum = np.asarray(X.T @ w, dtype=np.float64).ravel()
        mean = col_sum / total
        # sum_n w_n (x_nj - m_j)^2 = sum over stored entries w_n (x_nj - m_j)^2
        #                             + m_j^2 * (weight of the rows where x_nj is not stored)
        sq = np.zeros(n_features)
        stored_weight = np.zeros(n_features)
        for start in range(0, n_samples, _BLOCK_ROWS * 64):
            block = X[start : start + _BLOCK_ROWS * 64]
            rw = np.repeat(w[start : start + block.shape[0]], np.diff(block.indptr))
            cols = block.indices
            centred = block.data.astype(np.float64) - mean[cols]
            sq += np.bincount(cols, weights=rw * centred * centred, minlength=n_features)
            stored_weight += np.bincount(cols, weights=rw, minlength=n_features)
        var = (sq + mean * mean * (total - stored_weight)) / total
    else:
        col_sum = np.zeros(n_features)
        for start in range(0, n_samples, _BLOCK_ROWS):
            block = X[start : start + _BLOCK_ROWS].astype(np.float64)
            col_sum += w[start : start + _BLOCK_ROWS] @ block
        mean = col_sum / total
        sq = np.zeros(n_features)
        for start in range(0, n_samples, _BLOCK_ROWS):
            block = X[start : start + _BLOCK_ROWS].astype(np.float64)
            block -= mean
            block *= block
            sq += w[start : start + _BLOCK_ROWS] @ block
        var = sq / total
    var = np.maximum(var, 0.0)
    return mean, scale_from_variance(var, mean, total), var


def scale_from_variance(var: np.ndarray, mean: np.ndarray, total: float) -> np.ndarray:
    """StandardScaler's ``scale_`` from a column variance: sqrt(var), 1 for constant columns.

    StandardScaler's test for a constant column: a variance within the error bound of the
    two-pass algorithm (Chan, Golub and LeVeque), n eps var + (n m eps)^2 with n the weight sum
    and eps float64's machine epsilon; such columns keep scale 1.

    Parameters
    ----------
    var, mean : ndarray of shape (n_features,), float64
    total : float
        Sum of the sample weights (number of rows when unweighted), > 0.

    Returns
    -------
    scale : ndarray of shape (n_features,), float64
    """
    eps = np.finfo(np.float64).eps
    constant = var <= total * eps * var + (total * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return scale
