"""The study's configuration: which data, which protocol, how much bootstrap."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import NestedCVConfig, check_int

MAX_BOOTSTRAP = 100_000
"""Most bootstrap resamples (100,000 already pin a 95% interval's ends to about 0.1%)."""
MAX_TRAIN = 2**40
"""Largest ``max_train`` accepted (beyond any dataset's row count)."""


def validate_run_sizes(max_train: int | None, n_bootstrap: int, outer: int) -> None:
    """Raise :class:`InputError` for an impossible ``max_train`` or ``n_bootstrap``.

    Parameters
    ----------
    max_train : int or None
        Training rows to subsample (``None``: all); at least two per outer fold.
    n_bootstrap : int
        Bootstrap resamples, in ``[0, MAX_BOOTSTRAP]`` (0 skips the intervals).
    outer : int
        Outer folds of the run.
    """
    if max_train is not None:
        check_int(max_train, "max_train", 1, MAX_TRAIN)
        if max_train < 2 * outer:
            raise InputError(
                f"The 'max_train' parameter must be at least 2 x 'outer' ({2 * outer}). "
                f"Got {max_train} instead."
            )
    check_int(n_bootstrap, "n_bootstrap", 0, MAX_BOOTSTRAP)


@dataclass(frozen=True)
class StudyConfig:
    """Everything that determines a study's results (not where or how fast it runs).

    Parameters
    ----------
    dataset : str
        Dataset name for :func:`mnist_logreg.datasets.load_dataset`.
    nested : NestedCVConfig
        The nested cross-validation protocol (folds, candidates, C range, scoring, seed).
    max_train : int or None
        Seeded stratified subsample of the training set for quick runs; ``None`` uses all rows.
    n_bootstrap : int
        Resamples of the test set for the 95% confidence intervals.
    """

    dataset: str = "mnist"
    nested: NestedCVConfig = field(default_factory=NestedCVConfig)
    max_train: int | None = None
    n_bootstrap: int = 1000

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first impossible option."""
        if not isinstance(self.dataset, str) or not self.dataset:
            raise InputError(f"The 'dataset' parameter must be a name. Got {self.dataset!r}.")
        self.nested.validate()
        validate_run_sizes(self.max_train, self.n_bootstrap, self.nested.outer)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``config`` block of metrics.json)."""
        nested = asdict(self.nested)
        return {
            "dataset": self.dataset,
            "max_train": self.max_train,
            "n_bootstrap": self.n_bootstrap,
            "outer": nested.pop("outer"),
            "inner": nested.pop("inner"),
            "candidates": nested.pop("n_candidates"),
            "c_min": nested.pop("c_min"),
            "c_max": nested.pop("c_max"),
            "sampling": nested.pop("sampling"),
            "scoring": nested.pop("scoring"),
            "strategy": nested.pop("strategy"),
            "seed": nested.pop("random_state"),
            "solver_options": nested.pop("solver_options"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        """Inverse of :meth:`to_dict` (used by ``--resume``)."""
        try:
            nested = NestedCVConfig(
                outer=int(data["outer"]),
                inner=int(data["inner"]),
                n_candidates=int(data["candidates"]),
                c_min=float(data["c_min"]),
                c_max=float(data["c_max"]),
                sampling=str(data["sampling"]),
                scoring=str(data["scoring"]),
                strategy=str(data["strategy"]),
                random_state=int(data["seed"]),
                solver_options=dict(data.get("solver_options") or {}),
            )
            max_train = data.get("max_train")
            return cls(
                dataset=str(data["dataset"]),
                nested=nested,
                max_train=None if max_train is None else int(max_train),
                n_bootstrap=int(data["n_bootstrap"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise InputError(
                f"the saved study configuration is incomplete or invalid ({exc!r})"
            ) from exc
