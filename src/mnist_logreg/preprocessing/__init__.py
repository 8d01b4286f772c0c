"""Preprocessing: pixel scaling to [0, 1] and the scale-then-standardize pipeline.

Standardization is scikit-learn's StandardScaler placed inside the model pipeline, so every
cross-validation fold fits it on its own training rows (see :func:`make_preprocessor`).
"""

from mnist_logreg.preprocessing._scaling import PixelScaler, make_preprocessor

__all__ = ["PixelScaler", "make_preprocessor"]

# Real images and array files -> MNIST-style rows (the classical MNIST normalization).
from mnist_logreg.preprocessing._images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    MAX_JPEG_SCANS,
    MAX_WORKING_SIDE,
    MNIST_IMAGE_SHAPE,
    ModelInputSpec,
    image_to_gray,
    input_kind,
    load_digit_file,
    load_idx_images,
    load_image,
    load_npy_images,
    normalize_digit,
)

__all__ += [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "MAX_JPEG_SCANS",
    "MAX_WORKING_SIDE",
    "MNIST_IMAGE_SHAPE",
    "ModelInputSpec",
    "image_to_gray",
    "input_kind",
    "load_digit_file",
    "load_idx_images",
    "load_image",
    "load_npy_images",
    "normalize_digit",
]
