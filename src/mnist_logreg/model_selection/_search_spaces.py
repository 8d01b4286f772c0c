"""The comparison's search spaces: each model's hyperparameter ranges, budgets and candidate draws.

A :class:`ModelBudget` says how much work a model's inner search may do;
``candidates_<model>(budget, seed)`` draws the candidates of one search (random draws for C, gamma
and the SVM kernel; grids for KNN and the tree), the same for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mnist_logreg.errors import InputError
from mnist_logreg.model_selection._candidates import sample_candidates

Params = dict[str, Any]

KNN_NEIGHBORS: tuple[int, ...] = (1, 3, 5, 7, 9, 11)
KNN_WEIGHTS: tuple[str, ...] = ("uniform", "distance")
TREE_DEPTHS: tuple[int | None, ...] = (5, 8, 10, 12, 14, 16, 20, None)
LR_C_RANGE = (1e-4, 1.0)
SVM_C_RANGE = (1.0, 100.0)
SVM_KERNELS: tuple[str, ...] = ("rbf", "poly")
RFF_GAMMA_RANGE = (0.005, 0.1)
RFF_C_RANGE = (1e-3, 3.0)


@dataclass(frozen=True)
class ModelBudget:
    """How much work a model's inner search may do.

    Parameters
    ----------
    search_rows : int or None
        Size of the seeded stratified subsample of the outer training rows that the inner search
        sees; ``None`` uses all of them. Refits always use all outer training rows (and the final
        model all training rows).
    inner : int
        Inner cross-validation folds (>= 2).
    n_candidates : int
        Candidates drawn from a random search space (SVM, lr, lr-rff); grids (KNN neighbours and
        weights, tree depths) are always searched whole.
    n_components : tuple of int
        lr-rff only: the kernel map sizes searched (more components are never less accurate, so the
        budget, not the search, decides how large the model may be).
    """

    search_rows: int | None
    inner: int = 3
    n_candidates: int = 6
    n_components: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["n_components"] = list(self.n_components)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelBudget:
        """Inverse of :meth:`to_dict`."""
        rows = data.get("search_rows")
        return cls(
            search_rows=None if rows is None else int(rows),
            inner=int(data["inner"]),
            n_candidates=int(data["n_candidates"]),
            n_components=tuple(int(n) for n in data.get("n_components") or ()),
        )

    def validate(self, name: str) -> None:
        """Raise :class:`InputError` for a budget that can never work."""
        if self.inner < 2:
            raise InputError(f"the {name} budget needs >= 2 inner folds. Got {self.inner} instead.")
        if self.n_candidates < 1:
            raise InputError(
                f"the {name} budget needs >= 1 candidate. Got {self.n_candidates} instead."
            )
        if self.search_rows is not None and self.search_rows < 2 * self.inner:
            raise InputError(
                f"the {name} budget's search rows ({self.search_rows}) are fewer than "
                f"2 x its inner folds ({self.inner})."
            )


def _seeds(seed: int, n: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


def candidates_lr(budget: ModelBudget, seed: int) -> list[Params]:
    Cs = sample_candidates(budget.n_candidates, *LR_C_RANGE, random_state=seed)
    return [{"C": float(C)} for C in Cs]


def candidates_svm(budget: ModelBudget, seed: int) -> list[Params]:
    # Half the candidates per kernel (rbf gets the odd one), C log-uniform within each.
    out: list[Params] = []
    n_rbf = math.ceil(budget.n_candidates / 2)
    counts = {"rbf": n_rbf, "poly": budget.n_candidates - n_rbf}
    for kernel, kernel_seed in zip(SVM_KERNELS, _seeds(seed, len(SVM_KERNELS)), strict=True):
        if counts[kernel]:
            Cs = sample_candidates(counts[kernel], *SVM_C_RANGE, random_state=kernel_seed)
            out += [{"kernel": kernel, "C": float(C)} for C in Cs]
    return out


def candidates_knn(budget: ModelBudget, seed: int) -> list[Params]:
    return [{"n_neighbors": k, "weights": w} for w in KNN_WEIGHTS for k in KNN_NEIGHBORS]


def candidates_tree(budget: ModelBudget, seed: int) -> list[Params]:
    return [{"max_depth": d} for d in TREE_DEPTHS]


def candidates_rff(budget: ModelBudget, seed: int) -> list[Params]:
    # A grid of n_gamma gammas x n_C values of C (about sqrt(n_candidates) each), so each gamma's
    # kernel map is computed once and its Cs form one warm-started path.
    n_gamma = max(1, round(math.sqrt(budget.n_candidates)))
    n_C = max(1, math.ceil(budget.n_candidates / n_gamma))
    gamma_seed, c_seed = _seeds(seed, 2)
    gammas = sample_candidates(n_gamma, *RFF_GAMMA_RANGE, random_state=gamma_seed)
    Cs = sample_candidates(n_C, *RFF_C_RANGE, random_state=c_seed)
    sizes = budget.n_components or (1000,)
    return [
        {"n_components": int(d), "gamma": float(g), "C": float(C)}
        for d in sizes
        for g in gammas
        for C in Cs
    ]


__all__ = [
    "KNN_NEIGHBORS",
    "KNN_WEIGHTS",
    "LR_C_RANGE",
    "RFF_C_RANGE",
    "RFF_GAMMA_RANGE",
    "SVM_C_RANGE",
    "SVM_KERNELS",
    "TREE_DEPTHS",
    "ModelBudget",
    "candidates_knn",
    "candidates_lr",
    "candidates_rff",
    "candidates_svm",
    "candidates_tree",
]
