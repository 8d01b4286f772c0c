"""Boundary-aware C range: flag a best C on the edge of its search, and extend the range there.

Edge strata. A search's range ``[c_min, c_max]`` is cut into ``n_candidates`` strata of equal
width in log C: with ``sampling="loguniform"`` these are exactly the Latin hypercube strata the
candidates are drawn from (one candidate each), so "the best candidate lies in the lowest
stratum" is "the best is the smallest candidate, and nothing below it was tried". The same log-C
strata define the edges for ``sampling="uniform"`` too (the question "could the optimum lie
beyond the range?" is asked on the scale where C acts); uniform draws seldom land in the lowest
log stratum, which is the reference protocol's bias, not a flaw of the flag. A range of one
stratum (one candidate) has its best on both edges (``"both"``); nothing is extended then, as the
side is unknown.

Expansion (``expand_range=True``). While the best candidate lies in the lowest (highest) stratum
of the range searched so far, one more decade is searched below (above) it: ``[c_min / 10,
c_min]`` (``[c_max, 10 c_max]``), with ``ceil(n_candidates / decades of the initial range)``
strata per decade (the initial density, rounded up), one log-uniform candidate per stratum,
whatever the initial sampling. The new decade's edge stratum is then the range's edge. Limits:
at most :data:`MAX_EXTRA_DECADES` decades added per search, and never beyond
:data:`EXPANSION_BOUNDS`; a decade cut by the bound keeps the density (fewer strata, at least
one); a configured range that already reaches past a bound is not extended on that side. When
a limit stops the expansion with the best still on the edge, the search says so
(``limit_reached``). Each extension's candidates have their own seed, derived from the run's seed,
the search number and the extension number, so the same seed gives the same searches.

Every search decides from its own inner scores only (an outer fold's extension never sees the
fold's validation rows), so the outer estimate still measures the whole procedure, extension
included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_logreg.model_selection._candidates import sample_candidates

EXPANSION_BOUNDS: tuple[float, float] = (1e-6, 1e4)
"""The range is never extended beyond these C values (the solver's conditioning degrades beyond
1e4 with standardized pixels; below 1e-6 every model predicts the class frequencies)."""
MAX_EXTRA_DECADES = 3
"""Most decades of log C added to one search."""

LOW, HIGH, BOTH = "low", "high", "both"


@dataclass(frozen=True)
class Segment:
    """A stretch of log C searched with ``n_strata`` candidates, one per equal-width stratum.

    ``side`` is ``"initial"`` for the configured range, else the side it extends (low, high).
    """

    c_min: float
    c_max: float
    n_strata: int
    side: str = "initial"

    @property
    def stratum_decades(self) -> float:
        """Width of one stratum, in decades of C."""
        return math.log10(self.c_max / self.c_min) / self.n_strata

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (an entry of a search's ``range.segments``)."""
        return {"side": self.side, "c_min": self.c_min, "c_max": self.c_max,
                "candidates": self.n_strata}


def edge_side(best_C: float, segments: Sequence[Segment]) -> str | None:
    """Where ``best_C`` lies: the lowest stratum (``"low"``), the highest (``"high"``), both, or
    neither (None) of the range made of ``segments``.

    Parameters
    ----------
    best_C : float
        The search's chosen C.
    segments : sequence of Segment
        The stretches searched; the lowest one's first stratum and the highest one's last
        stratum are the range's edges.

    Returns
    -------
    str or None
    """
    lowest = min(segments, key=lambda s: s.c_min)
    highest = max(segments, key=lambda s: s.c_max)
    log_best = math.log10(best_C)
    # a relative slack of 1e-12 decades: a candidate drawn on a stratum's border stays inside it
    low = log_best < math.log10(lowest.c_min) + lowest.stratum_decades - 1e-12
    high = log_best > math.log10(highest.c_max) - highest.stratum_decades + 1e-12
    if low and high:
        return BOTH
    return LOW if low else HIGH if high else None


def strata_per_decade(n_candidates: int, c_min: float, c_max: float) -> int:
    """Strata per decade of an extension: the initial density, rounded up (at least 1)."""
    decades = math.log10(c_max / c_min)
    return max(1, math.ceil(n_candidates / decades - 1e-9))


def next_segment(segments: Sequence[Segment], side: str) -> Segment | None:
    """The decade that extends ``segments`` on ``side``, or None where a limit forbids it.

    Parameters
    ----------
    segments : sequence of Segment
        The stretches searched so far, the configured range first.
    side : {"low", "high"}

    Returns
    -------
    Segment or None
        One decade beyond the range (cut at :data:`EXPANSION_BOUNDS`), with the initial density
        of strata; None once :data:`MAX_EXTRA_DECADES` are used up or the bound is reached.
    """
    initial = segments[0]
    per_decade = strata_per_decade(initial.n_strata, initial.c_min, initial.c_max)
    added = sum(math.log10(s.c_max / s.c_min) for s in segments[1:])
    room = MAX_EXTRA_DECADES - added
    if side == LOW:
        edge = min(s.c_min for s in segments)
        c_min = max(EXPANSION_BOUNDS[0], edge / 10.0)
        c_max = edge
    elif side == HIGH:
        edge = max(s.c_max for s in segments)
        c_min, c_max = edge, min(EXPANSION_BOUNDS[1], edge * 10.0)
    else:
        return None
    low_bound, high_bound = EXPANSION_BOUNDS
    if c_max <= c_min * (1 + 1e-9) or room < 1 - 1e-9 or c_min < low_bound or c_max > high_bound:
        return None  # a limit, or a configured range already beyond the bounds
    decades = math.log10(c_max / c_min)
    n_strata = max(1, math.ceil(per_decade * decades - 1e-9))
    return Segment(float(c_min), float(c_max), n_strata, side)


def extension_seed(random_state: int, search: int, extension: int) -> int:
    """Seed of the candidates of a search's ``extension``-th added decade (1-based)."""
    return int(np.random.SeedSequence([random_state, search, extension]).generate_state(1)[0])


def extension_candidates(segment: Segment, seed: int) -> np.ndarray:
    """The sorted candidates of an added decade: one log-uniform draw per stratum."""
    return sample_candidates(segment.n_strata, segment.c_min, segment.c_max,
                             sampling="loguniform", random_state=seed)


def best_index(means: np.ndarray) -> int:
    """Index of the highest mean score, the first (smallest C, when sorted) among ties."""
    means = np.asarray(means, dtype=np.float64)
    return int(np.flatnonzero(means == means.max())[0])


@dataclass
class RangeSearch:
    """The state of one boundary-aware search: segments searched, candidates, decisions.

    Used round by round: the engine scores :attr:`Cs` (in the order drawn), then asks
    :meth:`extend` with the mean scores of every candidate so far; a returned array of new
    candidates is scored next, None ends the search.

    Parameters
    ----------
    initial_Cs : ndarray
        The configured range's candidates, sorted.
    c_min, c_max : float
        The configured range.
    expand : bool
        Whether to extend the range (False: only record the edge flag).
    random_state, search : int
        Seed of the run, and the search's number (0 = final), for the extensions' seeds.
    """

    initial_Cs: np.ndarray
    c_min: float
    c_max: float
    expand: bool
    random_state: int
    search: int
    segments: list[Segment] = field(init=False)
    rounds: list[np.ndarray] = field(init=False)
    initial_edge: str | None = field(init=False, default=None)
    limit_reached: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.initial_Cs = np.asarray(self.initial_Cs, dtype=np.float64)
        self.segments = [Segment(float(self.c_min), float(self.c_max), len(self.initial_Cs))]
        self.rounds = [self.initial_Cs]

    @property
    def Cs(self) -> np.ndarray:
        """Every candidate so far, in the order scored (round after round)."""
        return np.concatenate(self.rounds)

    def order(self) -> np.ndarray:
        """Positions that sort :attr:`Cs` ascending (stable)."""
        return np.argsort(self.Cs, kind="stable")

    def extend(self, means: np.ndarray) -> np.ndarray | None:
        """Decide from the mean inner scores of :attr:`Cs` whether to search one more decade.

        Returns
        -------
        ndarray or None
            The new decade's sorted candidates (now part of :attr:`Cs`), or None: the search
            is over.
        """
        order = self.order()
        best_C = float(self.Cs[order][best_index(np.asarray(means)[order])])
        side = edge_side(best_C, self.segments)
        if len(self.rounds) == 1:
            self.initial_edge = side
        if not self.expand or side not in (LOW, HIGH):
            return None
        segment = next_segment(self.segments, side)
        if segment is None:
            self.limit_reached = True
            return None
        new = extension_candidates(
            segment, extension_seed(self.random_state, self.search, len(self.segments))
        )
        self.segments.append(segment)
        self.rounds.append(new)
        return new

    def first_low_decade(self) -> np.ndarray | None:
        """The candidates :meth:`extend` adds if the first extension is the decade below.

        Drawn exactly as :meth:`extend` would draw them (same segment, same seed); the state is
        left unchanged. None when the search cannot extend below: no expansion, a single
        candidate (its edge is ``"both"``), a bound, or a range already extended.

        Returns
        -------
        ndarray or None
            The decade's sorted candidates.
        """
        if not self.expand or len(self.segments) != 1 or len(self.initial_Cs) < 2:
            return None
        segment = next_segment(self.segments, LOW)
        if segment is None:
            return None
        return extension_candidates(
            segment, extension_seed(self.random_state, self.search, len(self.segments))
        )

    def record(self, best_C: float) -> dict[str, Any]:
        """The search's ``range`` block of metrics.json."""
        low = min(s.c_min for s in self.segments)
        high = max(s.c_max for s in self.segments)
        return {
            "initial": [float(self.c_min), float(self.c_max)],
            "searched": [float(low), float(high)],
            "initial_edge": self.initial_edge,
            "edge": edge_side(best_C, self.segments),
            "expanded": len(self.segments) > 1,
            "limit_reached": self.limit_reached,
            "segments": [s.to_dict() for s in self.segments],
        }


def replay_range(
    initial_Cs: np.ndarray,
    c_min: float,
    c_max: float,
    *,
    expand: bool,
    random_state: int,
    search: int,
    mean_score: dict[float, float],
) -> RangeSearch:
    """Replay a finished search's decisions from its candidates' mean scores (checkpoints).

    Parameters
    ----------
    initial_Cs, c_min, c_max, expand, random_state, search
        As for :class:`RangeSearch`.
    mean_score : dict of float to float
        Each candidate's mean inner score, as the search recorded it.

    Returns
    -------
    RangeSearch
        The search as it must have run; its :attr:`~RangeSearch.Cs` are the candidates the
        record must hold.

    Raises
    ------
    KeyError
        If a candidate the replay draws has no recorded score.
    """
    state = RangeSearch(initial_Cs, c_min, c_max, expand, random_state, search)
    while True:
        means = np.array([mean_score[float(C)] for C in state.Cs])
        if state.extend(means) is None:
            return state


__all__ = [
    "BOTH",
    "EXPANSION_BOUNDS",
    "HIGH",
    "LOW",
    "MAX_EXTRA_DECADES",
    "RangeSearch",
    "Segment",
    "best_index",
    "edge_side",
    "extension_candidates",
    "extension_seed",
    "next_segment",
    "replay_range",
    "strata_per_decade",
]
