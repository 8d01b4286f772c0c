"""The drawing page served at ``GET /``: one self-contained HTML document (no external files).

The page is made of three package data files in ``serving/static/``: ``page.html`` (the markup,
with ``$style`` and ``$script`` where the other two go), ``page.css`` and ``page.js``, plus the
study report's stylesheet (``evaluation/templates/report.css``), so the page and the report share
one look: the style is ``report.css`` followed by ``page.css``, which only adds the page's own
rules. They are read once with :mod:`importlib.resources` and inlined, so the browser makes no
request but ``GET /info`` and ``POST /predict``; the Content-Security-Policy allows exactly that
inline style and script, by hash.

The page shows the model card (from ``GET /info``). The user draws light ink on a black 280x280
canvas (mouse, pen or touch through pointer events; or the keyboard: arrows move the pen, Space or
Enter lifts and lowers it), or drops or chooses a PNG/JPEG picture. While drawing (at most one
request in flight) and at the end of each stroke, the page posts the canvas as a PNG data URL to
``POST /predict`` (a chosen picture is posted as it is, base64); the server normalizes it like
MNIST and answers with the probabilities, the 28x28 image the model saw and the evidence map,
which the page draws as the predicted class, the top classes, one bar per class (``.bar``
elements), the magnified image and the evidence over it (red: for the predicted class, blue: for
the runner-up).
"""

from __future__ import annotations

import base64
import hashlib
from importlib.resources import files
from string import Template

__all__ = ["PAGE_CSP", "PAGE_HTML"]


def _read(name: str) -> str:
    return files("mnist_logreg.serving").joinpath("static", name).read_text(encoding="utf-8")


def _report_css() -> str:
    # through the top-level package, so that serving does not import the evaluation layer
    # (matplotlib) just to read one of its data files
    path = files("mnist_logreg").joinpath("evaluation", "templates", "report.css")
    return path.read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# The text between <style> and </style> (and <script> and </script>): inlined, and hashed below.
_STYLE = "\n" + _report_css() + "\n/* the drawing page's own rules */\n" + _read("page.css")
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
