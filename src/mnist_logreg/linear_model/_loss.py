"""Pointwise cross-entropy losses of a linear model's raw predictions.

Two losses, both acting row by row on a ``raw_prediction`` matrix of shape (n_samples, n_outputs)
and a ``target`` matrix of the same shape:

* :class:`BinaryCrossEntropy` (the sigmoid model): every column is its own binary problem, the
  target is 0 or 1. One column is the two-class model; K columns are the K problems of
  one-vs-rest, solved together.
* :class:`MultinomialCrossEntropy` (the softmax model): each row is one distribution over
  ``n_classes`` columns, the target row is one-hot (any probability vector works).

Each loss gives its value, its gradient with respect to ``raw_prediction`` and the product of its
Hessian (with respect to ``raw_prediction``) with a direction. Sample weights and the sum over
samples belong to :mod:`._linear_loss`; here everything is per sample.

Derivation of the binary model (the study's gradient)
-----------------------------------------------------
For a sample x_n with label t_n in {0, 1} and weights w, let z_n = w . x_n (+ intercept) be the raw
prediction. The model's posterior is the logistic sigmoid

    p(t_n = 1 | x_n) = sigma(z_n) = 1 / (1 + exp(-z_n)),    p(t_n = 0 | x_n) = 1 - sigma(z_n).

The likelihood of independent labels is the product of Bernoulli probabilities

    L(w) = prod_n sigma(z_n)^t_n (1 - sigma(z_n))^(1 - t_n),

so the negative log-likelihood (the cross-entropy) is

    -log L(w) = sum_n loss_n,   loss_n = -t_n log sigma(z_n) - (1 - t_n) log(1 - sigma(z_n)).

With sigma'(z) = sigma(z) (1 - sigma(z)), d/dz log sigma(z) = 1 - sigma(z) and
d/dz log(1 - sigma(z)) = -sigma(z), hence

    d loss_n / d z_n = -t_n (1 - sigma(z_n)) + (1 - t_n) sigma(z_n) = sigma(z_n) - t_n,

and by the chain rule (d z_n / d w = x_n) the gradient of the negative log-likelihood is

    grad_w = sum_n (sigma(w . x_n) - t_n) x_n.

The second derivative is d^2 loss_n / d z_n^2 = sigma(z_n) (1 - sigma(z_n)) > 0: the loss is convex.

Stable forms
------------
Since log sigma(z) = -log(1 + exp(-z)) and log(1 - sigma(z)) = -z - log(1 + exp(-z)),

    loss = log(1 + exp(z)) - t z = max(z, 0) + log1p(exp(-|z|)) - t z,

which never exponentiates a positive number (no overflow at z = +-1e4) and loses no precision for
large |z|. The sigmoid itself is :func:`scipy.special.expit`, stable on the whole real line.

The multinomial loss with p = softmax(z), p_k = exp(z_k) / sum_j exp(z_j), is

    loss = -sum_k t_k log p_k = logsumexp(z) - sum_k t_k z_k        (when sum_k t_k = 1),

with logsumexp(z) = m + log sum_k exp(z_k - m), m = max_k z_k (every exponent <= 0). Its gradient
is p - t and its Hessian diag(p) - p p^T, whose diagonal p_k (1 - p_k) the block preconditioner
uses.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["BinaryCrossEntropy", "MultinomialCrossEntropy"]


class BinaryCrossEntropy:
    """Sigmoid cross-entropy, column by column: each column is an independent binary problem.

    ``loss(t, z) = max(z, 0) + log1p(exp(-|z|)) - t z``, gradient ``sigma(z) - t``, Hessian
    ``sigma(z) (1 - sigma(z))`` (diagonal).
    """

    name = "binary"

    @staticmethod
    def predict_proba(raw_prediction: np.ndarray) -> np.ndarray:
        """Return sigma(raw_prediction), elementwise.

        Parameters
        ----------
        raw_prediction : ndarray of shape (n_samples, n_outputs)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_outputs)
            Probability of the positive label of each column.
        """
        return expit(raw_prediction)

    @staticmethod
    def loss(target: np.ndarray, raw_prediction: np.ndarray) -> np.ndarray:
        """Return the loss of every entry.

        Parameters
        ----------
        target : ndarray of shape (n_samples, n_outputs)
            Labels, 0 or 1.
        raw_prediction : ndarray of shape (n_samples, n_outputs)

        Returns
        -------
        loss : ndarray of shape (n_samples, n_outputs)
        """
        z = raw_prediction
        # loss = max(z, 0) + log1p(exp(-|z|)) - t z
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - target * z

    @staticmethod
    def loss_gradient(
        target: np.ndarray, raw_prediction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the loss and its derivative with respect to ``raw_prediction``, entry by entry.

        Parameters
        ----------
        target : ndarray of shape (n_samples, n_outputs)
        raw_prediction : ndarray of shape (n_samples, n_outputs)

        Returns
        -------
        loss : ndarray of shape (n_samples, n_outputs)
        gradient : ndarray of shape (n_samples, n_outputs)
            sigma(z) - t.
        """
        z = raw_prediction
        abs_z = np.abs(z)
        # e = exp(-|z|) in (0, 1]: the one exponential both the loss and the sigmoid need.
        e = np.exp(-abs_z)
        loss = np.maximum(z, 0) + np.log1p(e) - target * z
        # sigma(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0.
        proba = np.where(z >= 0, 1, e) / (1 + e)
        return loss, proba - target

    @staticmethod
    def hessian_diagonal(raw_prediction: np.ndarray) -> np.ndarray:
        """Return the Hessian's diagonal sigma(z) (1 - sigma(z)), shape (n_samples, n_outputs)."""
        p = expit(raw_prediction)
        return p * (1 - p)


class MultinomialCrossEntropy:
    """Softmax cross-entropy over the columns of each row.

    ``loss(t, z) = logsumexp(z) - t . z``, gradient ``softmax(z) - t``, Hessian
    ``diag(p) - p p^T`` with ``p = softmax(z)``.
    """

    name = "multinomial"

    @staticmethod
    def predict_proba(raw_prediction: np.ndarray) -> np.ndarray:
        """Return softmax(raw_prediction) row by row.

        Parameters
        ----------
        raw_prediction : ndarray of shape (n_samples, n_classes)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one.
        """
        # softmax(z) = exp(z - m) / sum_k exp(z_k - m), m = max_k z_k: every exponent <= 0.
        e = np.exp(raw_prediction - raw_prediction.max(axis=1, keepdims=True))
        e /= e.sum(axis=1, keepdims=True)
        return e

    @staticmethod
    def loss(target: np.ndarray, raw_prediction: np.ndarray) -> np.ndarray:
        """Return the loss of every row.

        Parameters
        ----------
        target : ndarray of shape (n_samples, n_classes)
            One-hot rows (or any rows of probabilities).
        raw_prediction : ndarray of shape (n_samples, n_classes)

        Returns
        -------
        loss : ndarray of shape (n_samples, 1)
        """
        z = raw_prediction
        m = z.max(axis=1, keepdims=True)
        # logsumexp(z) = m + log sum_k exp(z_k - m)
        lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        # -sum_k t_k log p_k = sum_k t_k (logsumexp(z) - z_k)
        return (target * (lse - z)).sum(axis=1, keepdims=True)

    @staticmethod
    def loss_gradient(
        target: np.ndarray, raw_prediction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the loss of every row and its gradient with respect to ``raw_prediction``.

        Parameters
        ----------
        target : ndarray of shape (n_samples, n_classes)
        raw_prediction : ndarray of shape (n_samples, n_classes)

        Returns
        -------
        loss : ndarray of shape (n_samples, 1)
        gradient : ndarray of shape (n_samples, n_classes)
            softmax(z) - t (for rows of ``target`` summing to one).
        """
        z = raw_prediction
        m = z.max(axis=1, keepdims=True)
        shifted = z - m  # <= 0
        e = np.exp(shifted)
        # The sum of exponentials is accumulated in float64 even for float32 input: it is
        # 1 + (small terms) for a confident row, and float32 would round the small terms away
        # from log(total), the row's whole loss (measured: 2e-8 relative noise in the summed
        # objective in float32, 3e-9 this way, at the cost of one float64 column per row).
        total = e.sum(axis=1, keepdims=True, dtype=np.float64)  # in [1, n_classes]
        # loss = sum_k t_k (log total - (z_k - m)) = log(total) sum_k t_k - sum_k t_k (z_k - m)
        loss = np.log(total) * target.sum(axis=1, keepdims=True, dtype=np.float64)
        loss -= (target * shifted).sum(axis=1, keepdims=True, dtype=np.float64)
        e /= total.astype(e.dtype)  # softmax
        e -= target
        return loss, e

    @staticmethod
    def hessian_diagonal(raw_prediction: np.ndarray) -> np.ndarray:
        """Return the Hessian's diagonal p_k (1 - p_k), shape (n_samples, n_classes)."""
        p = MultinomialCrossEntropy.predict_proba(raw_prediction)
        return p * (1 - p)
