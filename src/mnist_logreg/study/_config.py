"""A run's configuration (study or comparison): which data, which protocol, how much bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection import CompareConfig, NestedCVConfig, check_int

MAX_BOOTSTRAP = 100_000
"""Most bootstrap resamples (100,000 already pin a 95% interval's ends to about 0.1%)."""
MAX_TRAIN = 2**40
"""Largest ``max_train`` accepted (beyond any dataset's row count)."""


P = TypeVar("P", bound=NestedCVConfig)


@dataclass(frozen=True)
class RunConfig(Generic[P]):
    """Everything that determines a run's results (not where or how fast it runs).

    The same for the study and the comparison; only the protocol differs.

    Parameters
    ----------
    protocol : NestedCVConfig
        The nested cross-validation protocol: the study's C search (folds, candidates, C range,
        scoring, seed) or the comparison's (:class:`CompareConfig`: models, folds, budgets, seed).
    dataset : str
        Dataset name for :func:`mnist_logreg.datasets.load_dataset`.
    max_train : int or None
        Seeded stratified subsample of the training set for quick runs; ``None`` uses all rows.
    n_bootstrap : int
        Resamples of the test set for the 95% confidence intervals.
    """

    protocol: P
    dataset: str = "mnist"
    max_train: int | None = None
    n_bootstrap: int = 1000

    @property
    def command(self) -> str:
        """The command that makes this run (``study``, ``compare``)."""
        return self.protocol.command

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first impossible option."""
        if not isinstance(self.dataset, str) or not self.dataset:
            raise InputError(f"The 'dataset' parameter must be a name. Got {self.dataset!r}.")
        self.protocol.validate()
        if self.max_train is not None:  # at least two rows per outer fold
            check_int(self.max_train, "max_train", 1, MAX_TRAIN)
            if self.max_train < 2 * self.protocol.outer:
                raise InputError(
                    f"The 'max_train' parameter must be at least 2 x 'outer' "
                    f"({2 * self.protocol.outer}). Got {self.max_train} instead."
                )
        check_int(self.n_bootstrap, "n_bootstrap", 0, MAX_BOOTSTRAP)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``config`` block of metrics.json; its digest marks checkpoints)."""
        return {
            "dataset": self.dataset,
            "max_train": self.max_train,
            "n_bootstrap": self.n_bootstrap,
            **self.protocol.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], protocol: type[P]) -> RunConfig[P]:
        """Inverse of :meth:`to_dict` (used by ``--resume``), for a ``protocol`` type."""
        try:
            max_train = data.get("max_train")
            return cls(
                protocol=protocol.from_dict(data),
                dataset=str(data["dataset"]),
                max_train=None if max_train is None else int(max_train),
                n_bootstrap=int(data["n_bootstrap"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise InputError(
                f"the saved {protocol.command} configuration is incomplete or invalid ({exc!r})"
            ) from exc


StudyConfig = RunConfig[NestedCVConfig]
"""A study's configuration: :class:`RunConfig` with the study's protocol."""
ComparisonConfig = RunConfig[CompareConfig]
"""A comparison's configuration: :class:`RunConfig` with the comparison's protocol."""
