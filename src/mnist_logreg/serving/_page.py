"""The drawing page served at ``GET /``: one self-contained HTML document (no external files).

The page is made of three package data files in ``serving/static/``: ``page.html`` (the markup,
with ``$style`` and ``$script`` where the other two go), ``page.css`` and ``page.js``. They are read
once with :mod:`importlib.resources` and inlined, so the browser makes no request but ``POST
/predict``; the Content-Security-Policy allows exactly that inline style and script, by hash.

The user draws light ink on a black 280x280 canvas (mouse, pen or touch, through pointer events).
While drawing (at most one request in flight) and at the end of each stroke, the page posts the
canvas as a PNG data URL to ``POST /predict``; the server normalizes it like MNIST and answers with
the probabilities and the 28x28 image the model saw, which the page draws as the predicted class,
one bar per class (``.bar`` elements) and a magnified picture.
"""

from __future__ import annotations

import base64
import hashlib
from importlib.resources import files
from string import Template

__all__ = ["PAGE_CSP", "PAGE_HTML"]


def _read(name: str) -> str:
    return files("mnist_logreg.serving").joinpath("static", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# The text between <style> and </style> (and <script> and </script>): inlined, and hashed below.
_STYLE = "\n" + _read("page.css")
_SCRIPT = "\n" + _read("page.js")

#: The whole page, style and script inlined.
PAGE_HTML = Template(_read("page.html")).substitute(style=_STYLE, script=_SCRIPT)

#: Content-Security-Policy of the page: only its own inline script and style (by hash) run, and
#: the only place it may connect to is its own origin.
PAGE_CSP = (
    "default-src 'none'; "
    f"script-src 'sha256-{_sha256(_SCRIPT)}'; "
    f"style-src 'sha256-{_sha256(_STYLE)}'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
