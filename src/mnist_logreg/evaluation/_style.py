"""One look for every figure: rc settings, colorblind-safe palette, figure creation, PNG export.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``, so
drawing touches no global figure registry and works under any backend (PNG export uses Agg).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

import matplotlib as mpl
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
)
"""Okabe & Ito's colorblind-safe colors, without the yellow (too pale for lines on white)."""

LINESTYLES: tuple[str, ...] = ("-", "--", ":", "-.")
"""Line styles cycled once the palette is exhausted (series ``i``: ``i // len(PALETTE)``)."""

SEQUENTIAL_CMAP = "Blues"
"""Colormap of non-negative quantities (confusion matrices)."""

DIVERGING_CMAP = "RdBu_r"
"""Colormap of signed quantities, centred on 0 (coefficients): red positive, blue negative."""

IMAGE_CMAP = "gray_r"
"""Colormap of input images (dark ink on white paper)."""

ERROR_COLOR = "#D55E00"
"""Color that flags a wrong prediction."""

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "lines.linewidth": 1.6,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "image.interpolation": "nearest",
}
"""rc settings applied (with :func:`plot_style`) while any figure of this package is drawn."""

DEFAULT_DPI = 150
"""Resolution of :func:`figure_to_png`."""


def series_style(i: int) -> dict[str, Any]:
    """Color and line style of the ``i``-th series (class, fold): distinct for ``7 * 4`` series."""
    return {
        "color": PALETTE[i % len(PALETTE)],
        "linestyle": LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)],
    }


@contextmanager
def plot_style() -> Iterator[None]:
    """Context in which matplotlib uses :data:`STYLE`."""
    with mpl.rc_context(cast(Any, STYLE)):
        yield


P = ParamSpec("P")
R = TypeVar("R")


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a plotting function so it draws under :func:`plot_style`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with plot_style():
            return func(*args, **kwargs)

    return wrapper


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure with constrained layout, outside pyplot (call under :func:`plot_style`)."""
    return Figure(figsize=figsize, layout="constrained")


def axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the single axes of a new figure of size ``figsize`` (inches)."""
    if ax is not None:
        return ax
    return new_figure(figsize).add_subplot()


def root_figure(ax: Axes) -> Figure:
    """The top-level figure holding ``ax``."""
    fig = ax.get_figure(root=True)
    if fig is None:
        raise ValueError("The axes belong to no figure.")
    return fig


def figure_to_png(fig: Figure, dpi: int = DEFAULT_DPI) -> bytes:
    """Render ``fig`` as PNG bytes and close it.

    Parameters
    ----------
    fig : Figure
    dpi : int, default=150

    Returns
    -------
    png : bytes
        Starts with the PNG signature ``b"\\x89PNG\\r\\n\\x1a\\n"``.
    """
    buffer = io.BytesIO()
    with plot_style():
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    if fig.canvas.manager is not None:  # a pyplot figure: release it from pyplot's registry
        from matplotlib import pyplot as plt

        plt.close(fig)
    return buffer.getvalue()
