"""A local web page to try a model by hand: draw a digit, see what the model thinks and why.

:func:`create_app` builds the Starlette application (``GET /`` the page, ``GET /info`` the model
card and limits, ``POST /predict`` the JSON API with the evidence map); ``mnist-logreg serve
MODEL`` runs it with uvicorn on 127.0.0.1. :func:`explain_prediction` splits a linear model's
margin between its two best classes over the pixels. Needs the ``serve`` extra (``pip install
'mnist-logreg[serve]'``: starlette and uvicorn).
"""

from mnist_logreg.serving._app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS, create_app
from mnist_logreg.serving._card import model_card
from mnist_logreg.serving._evidence import Evidence, explain_prediction
from mnist_logreg.serving._page import PAGE_CSP, PAGE_HTML

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "PAGE_CSP",
    "PAGE_HTML",
    "Evidence",
    "create_app",
    "explain_prediction",
    "model_card",
]
