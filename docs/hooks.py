"""MkDocs hooks: pages generated from the code when the site is built, so that they cannot drift.

- ``cli.md``: every command's ``--help`` rendered from the Typer app (:func:`cli_reference`).
- The tutorial's ``python`` blocks run, in order, in a temporary folder; a ``<!-- output -->``
  line after a block becomes what the block printed, ``<!-- repr_html NAME -->`` the Jupyter
  summary of the variable NAME, ``<!-- metrics_outline NAME -->`` the key outline of
  ``NAME.results`` (the ``metrics.json`` of that run), and every PNG the code writes is published
  under ``figures/`` (:func:`run_blocks`).
- ``<!-- include FILE -->``, ``<!-- include FILE "### Heading" -->`` and
  ``<!-- include FILE paragraph "Start of the paragraph" -->`` in any page insert a file of the
  repository, one section of it, or one paragraph (:func:`expand_includes`): the README and
  BENCHMARKS.md stay the single source of their text.

The functions take and return strings and are tested in ``tests/test_docs.py``; only the
``on_*`` hooks touch MkDocs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = "tutorial.md"
HOME = "index.md"
README = "README.md"
FIGURES = "figures"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"^<!-- (output|repr_html|metrics_outline)(?: (\w+))? -->$", re.MULTILINE)
INCLUDE = re.compile(r'^<!-- include (\S+)(?: (paragraph )?"([^"]+)")? -->$', re.MULTILINE)
HEADING = re.compile(r"^(#{1,6}) ")


# --- includes ------------------------------------------------------------------------------------


def section_of(text: str, heading: str) -> str:
    """The section of Markdown ``text`` that starts with the line ``heading``.

    It ends before the next heading of the same or a higher level (fenced code is skipped).

    Raises
    ------
    ValueError
        When no line of ``text`` is ``heading``.
    """
    lines = text.splitlines(keepends=True)
    level = len(heading) - len(heading.lstrip("#"))
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == heading), None)
    if start is None:
        raise ValueError(f"no heading {heading!r}")
    fenced = False
    for end in range(start + 1, len(lines)):
        if lines[end].startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(lines[end])
        if match and len(match.group(1)) <= level:
            return "".join(lines[start:end]).rstrip() + "\n"
    return "".join(lines[start:]).rstrip() + "\n"


def paragraph_of(text: str, start: str) -> str:
    """The paragraph of ``text`` (lines up to a blank one) whose first line starts with ``start``.

    Raises
    ------
    ValueError
        When no paragraph starts so.
    """
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.lstrip("\n").startswith(start):
            return paragraph.strip("\n") + "\n"
    raise ValueError(f"no paragraph starting with {start!r}")


def expand_includes(markdown: str, root: Path = ROOT, home: bool = False) -> str:
    """Replace every ``<!-- include ... -->`` line by the file, section or paragraph it names.

    The home page is the whole README; on other pages, the README's in-page links (``](#x)``)
    are pointed at it (``](index.md#x)``), unless ``home``.
    """
    def include(match: re.Match[str]) -> str:
        text = (root / match.group(1)).read_text(encoding="utf-8")
        if match.group(1) == README and not home:
            text = text.replace("](#", f"]({HOME}#")
        if match.group(3) is None:
            return text.rstrip() + "\n"
        if match.group(2):
            return paragraph_of(text, match.group(3))
        return section_of(text, match.group(3))

    return INCLUDE.sub(include, markdown)


# --- the command-line reference ------------------------------------------------------------------


def cli_reference() -> str:
    """Markdown with the ``--help`` of ``mnist-logreg`` and of each of its commands."""
    import typer
    from typer.testing import CliRunner

    from mnist_logreg.cli.app import app

    runner = CliRunner()
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    parts = [
        "# Command line\n\n",
        "Generated from the Typer application (`mnist_logreg.cli.app`) when this site is built: "
        "each block is the command's `--help`. Errors end with one line on stderr and exit "
        "code 2 for bad usage or input, 1 for other failures.\n",
    ]
    root = typer.main.get_command(app)
    names: list[str | None] = [None]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        names.append(name)
        # a group's subcommands (datasets build, datasets verify) get their own block
        names.extend(f"{name} {sub}" for sub in getattr(command, "commands", {}))
    for name in names:
        args = ["--help"] if name is None else [*name.split(), "--help"]
        result = runner.invoke(app, args, env=env, prog_name="mnist-logreg")
        if result.exit_code != 0:
            raise RuntimeError(f"mnist-logreg {' '.join(args)} exited with {result.exit_code}")
        text = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        title = "mnist-logreg" if name is None else f"mnist-logreg {name}"
        parts.append(f"\n## `{title}`\n\n```text\n{text.strip(chr(10))}\n```\n")
    return "".join(parts)


# --- executed pages ------------------------------------------------------------------------------


JSON_TYPES = {type(None): "null", bool: "bool", int: "int", float: "float", str: "string"}


def _kind(value: Any) -> str:
    """A JSON value's type in a few words (``object``, ``list of 10 int``, ``float``)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        if not value:
            return "list"
        first = value[0]
        inner = _kind(first) if isinstance(first, dict | list) else JSON_TYPES.get(
            type(first), type(first).__name__)
        return f"list of {len(value)} ({inner})" if isinstance(first, list) else (
            f"list of {len(value)} {inner}")
    return JSON_TYPES.get(type(value), type(value).__name__)


def outline(value: Any, indent: str = "") -> list[str]:
    """A JSON value's keys and types as indented lines.

    A list shows its length and its first item's outline; an object whose values are three or
    more objects with the same outline (per-class metrics) shows the first one only.
    """
    lines: list[str] = []
    if isinstance(value, list):
        return outline(value[0], indent) if value and isinstance(value[0], dict) else lines
    items = list(value.items())
    nested = [outline(item, indent + "  ") for _, item in items if isinstance(item, dict)]
    same = len(items) >= 3 and len(nested) == len(items) and all(n == nested[0] for n in nested)
    for index, (key, item) in enumerate(items):
        if same and index == 1:
            lines.append(f"{indent}... ({len(items) - 1} more keys like {items[0][0]!r}: "
                         f"{', '.join(repr(k) for k, _ in items[1:4])}, ...)")
            break
        lines.append(f"{indent}{key}: {_kind(item)}")
        if isinstance(item, dict) or (isinstance(item, list) and item
                                      and isinstance(item[0], dict)):
            lines.extend(outline(item, indent + "  "))
    return lines


def run_blocks(markdown: str, workdir: Path,
               namespace: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """Run the ``python`` blocks of ``markdown`` in order in ``workdir``; fill in the markers.

    ``namespace`` (default: a new one) holds the variables the blocks and markers see.

    Returns
    -------
    markdown : str
        With each marker replaced (see the module docstring).
    namespace : dict
        The variables the blocks defined.
    """
    namespace = {"__name__": "docs_page"} if namespace is None else namespace
    pieces: list[str] = []
    position = 0
    last_output = ""
    events = sorted([*PYTHON_BLOCK.finditer(markdown), *MARKER.finditer(markdown)],
                    key=lambda m: m.start())
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        for number, match in enumerate(events, 1):
            if match.re is PYTHON_BLOCK:
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    exec(compile(match.group(1), f"docs block {number}", "exec"), namespace)
                last_output = out.getvalue()
                continue
            pieces.append(markdown[position:match.start()])
            position = match.end()
            kind, name = match.group(1), match.group(2)
            if kind == "output":
                pieces.append(f"```text\n{last_output.rstrip()}\n```")
            elif kind == "repr_html":
                pieces.append(namespace[name]._repr_html_().strip())
            else:
                body = "\n".join(outline(namespace[name].results))
                pieces.append(f"```text\n{body}\n```")
    finally:
        os.chdir(cwd)
    pieces.append(markdown[position:])
    return "".join(pieces), namespace


# --- MkDocs hooks --------------------------------------------------------------------------------

_generated: dict[str, str] = {}
_namespace: dict[str, Any] = {}


def on_files(files: Any, config: Any) -> Any:
    """Add the generated command-line page, run the tutorial and add the figures it wrote."""
    from mkdocs.structure.files import File

    os.environ.setdefault("MPLBACKEND", "Agg")
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    tutorial = Path(config["docs_dir"]) / TUTORIAL
    with tempfile.TemporaryDirectory(prefix="mnist-logreg-docs-") as tmp:
        text, namespace = run_blocks(expand_includes(tutorial.read_text(encoding="utf-8")),
                                     Path(tmp))
        _generated[TUTORIAL] = text
        _namespace.update(namespace)
        for png in sorted(Path(tmp).glob("*.png")):
            files.append(File.generated(config, f"{FIGURES}/{png.name}",
                                        content=png.read_bytes()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Expand the include markers; the tutorial gets its executed text."""
    if page.file.src_uri == TUTORIAL:
        return _generated[TUTORIAL]
    markdown = expand_includes(markdown, home=page.file.src_uri == HOME)
    if MARKER.search(markdown):  # a tutorial variable (metrics_outline result) on another page
        with tempfile.TemporaryDirectory(prefix="mnist-logreg-docs-") as tmp:
            markdown, _ = run_blocks(markdown, Path(tmp), _namespace)
    return markdown
