"""Preprocessing: pixel scaling to [0, 1] and the scale-then-standardize pipeline.

Standardization is scikit-learn's StandardScaler placed inside the model pipeline, so every
cross-validation fold fits it on its own training rows (see :func:`make_preprocessor`).
"""

from mnist_logreg.preprocessing._scaling import PixelScaler, make_preprocessor

__all__ = ["PixelScaler", "make_preprocessor"]
