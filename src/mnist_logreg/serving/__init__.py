"""A local web page to try a model by hand: draw a digit, see what the model thinks.

:func:`create_app` builds the Starlette application (``GET /`` the page, ``POST /predict`` the
JSON API); ``mnist-logreg serve MODEL`` runs it with uvicorn on 127.0.0.1. Needs the ``serve``
extra (``pip install 'mnist-logreg[serve]'``: starlette and uvicorn).
"""

from mnist_logreg.serving._app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS, create_app
from mnist_logreg.serving._page import PAGE_CSP, PAGE_HTML

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "PAGE_CSP",
    "PAGE_HTML",
    "create_app",
]
