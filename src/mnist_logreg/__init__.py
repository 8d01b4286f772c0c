"""mnist-logreg: logistic regression on MNIST-style image data.

The package layout mirrors the data flow::

    datasets -> preprocessing -> linear_model -> model_selection -> evaluation -> cli

Imports run downstream only (a test enforces it).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
