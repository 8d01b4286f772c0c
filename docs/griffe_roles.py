"""Griffe extension: Sphinx cross-reference roles in the numpydoc docstrings, shown as code.

The docstrings are written for numpydoc (``:class:`~mnist_logreg.study.StudyResult```); MkDocs
renders Markdown, where such a role would appear verbatim. This rewrites, when the docs are built
(the sources are unchanged):

- ``:class:`~a.b.C``` -> ```C``` (the ``~`` form shows the last component, as in Sphinx);
  ``:func:`a.b.f``` -> ```a.b.f```; ``:meth:`Text <target>``` -> ```Text```;
- a paragraph ending in ``::`` (reStructuredText's literal block) -> ``:`` (``text ::`` ->
  ``text``, a lone ``::`` -> nothing); the indented block that follows is a Markdown code block
  already.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const):`([^`]+)`")
LITERAL_MARKER = re.compile(r"(\S)::$", re.MULTILINE)
SPACED_LITERAL_MARKER = re.compile(r"(\S)[ \t]+::$", re.MULTILINE)
BARE_LITERAL_MARKER = re.compile(r"^(\s*)::$", re.MULTILINE)


def _role_text(match: re.Match[str]) -> str:
    target = match.group(1).strip()
    explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", target)
    if explicit:
        return f"`{explicit.group(1)}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def markdown_docstring(text: str) -> str:
    """The docstring ``text`` with Sphinx roles as inline code and ``::`` markers as ``:``."""
    text = ROLE.sub(_role_text, text)
    text = BARE_LITERAL_MARKER.sub(r"\1", text)
    text = SPACED_LITERAL_MARKER.sub(r"\1", text)
    return LITERAL_MARKER.sub(r"\1:", text)


class SphinxRolesAsCode(Extension):
    """Rewrite every loaded docstring with :func:`markdown_docstring`."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        """Rewrite the docstring of each object as it is loaded."""
        if getattr(obj, "docstring", None) is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
