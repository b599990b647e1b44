"""Pairwise comparisons (AHP): weights from the principal eigenvector, Saaty's consistency.

A member compares areas two at a time: ``[cyber, space, 3]`` says cyber matters three
times as much as space (Saaty's 1-9 scale and its reciprocals). The comparisons fill a
positive reciprocal matrix ``A`` (``A[i,j] = r``, ``A[j,i] = 1/r``, ones on the diagonal);
the weights are its principal (Perron) eigenvector, normalised to sum to one. A matrix is
consistent when ``A[i,j] = w_i / w_j`` for every pair; then ``lambda_max = n``. The
consistency index is ``CI = (lambda_max - n) / (n - 1)`` and the consistency ratio
``CR = CI / RI(n)`` with Saaty's random index; ``CR > 0.1`` is refused, naming the pair
whose judgement is furthest from what the weights imply.

Pure numpy; no scenario types, so the scenario's checks and the coalition layer share it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Saaty's random consistency index by matrix size (Saaty 1980; 11-15 from Saaty 2012).
RANDOM_INDEX = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}
#: Consistency ratios above this are refused (Saaty's 10% rule).
MAX_CR = 0.1
#: Judgements must lie within Saaty's scale, 1/9 .. 9.
SCALE = (1.0 / 9.0, 9.0)


@dataclass(frozen=True)
class AHPResult:
    """Weights (summing to 1, in ``items`` order), ``lambda_max``, CI and CR, and the
    comparison furthest from the weights: ``(a, b, given, implied)`` where ``implied``
    is ``w_a / w_b`` (None for fewer than three items, which are always consistent)."""

    items: tuple[str, ...]
    weights: tuple[float, ...]
    lambda_max: float
    ci: float
    cr: float
    worst: tuple[str, str, float, float] | None

    @property
    def consistent(self) -> bool:
        """Whether the consistency ratio is at most :data:`MAX_CR`."""
        return self.cr <= MAX_CR

    def weight_of(self) -> dict[str, float]:
        """Weights by item."""
        return dict(zip(self.items, self.weights, strict=True))


def random_index(n: int) -> float:
    """Saaty's random index for an n x n matrix (n up to 15)."""
    if n not in RANDOM_INDEX:
        raise ValueError(f"pairwise comparisons support up to 15 items, got {n}")
    return RANDOM_INDEX[n]


def comparison_matrix(
    items: Sequence[str], comparisons: Sequence[tuple[str, str, float]]
) -> np.ndarray:
    """The reciprocal matrix of ``comparisons`` ``(a, b, ratio)`` over ``items``; every
    pair must be compared exactly once (either way round). Raises ValueError naming a
    missing, repeated or self comparison."""
    pos = {item: i for i, item in enumerate(items)}
    n = len(items)
    a = np.eye(n)
    seen: set[frozenset[str]] = set()
    for x, y, ratio in comparisons:
        if x == y:
            raise ValueError(f"{x} is compared with itself")
        pair = frozenset((x, y))
        if pair in seen:
            raise ValueError(f"{x} and {y} are compared more than once")
        seen.add(pair)
        if not (math.isfinite(ratio) and ratio > 0):
            raise ValueError(f"the ratio of {x} to {y} must be a positive number, got {ratio!r}")
        a[pos[x], pos[y]] = ratio
        a[pos[y], pos[x]] = 1.0 / ratio
    for i in range(n):
        for j in range(i + 1, n):
            if frozenset((items[i], items[j])) not in seen:
                raise ValueError(f"{items[i]} and {items[j]} are not compared")
    return a


def principal_weights(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """The principal eigenvector of a positive matrix, normalised to sum 1, and its
    eigenvalue ``lambda_max``."""
    values, vectors = np.linalg.eig(matrix)
    k = int(np.argmax(values.real))
    w = np.abs(vectors[:, k].real)
    return w / w.sum(), float(values[k].real)


def ahp(items: Sequence[str], comparisons: Sequence[tuple[str, str, float]]) -> AHPResult:
    """Weights and consistency of pairwise comparisons over ``items`` (see the module)."""
    items = tuple(items)
    n = len(items)
    matrix = comparison_matrix(items, comparisons)
    w, lam = principal_weights(matrix) if n > 1 else (np.ones(1), 1.0)
    ci = max(lam - n, 0.0) / (n - 1) if n > 2 else 0.0
    ri = random_index(n)
    cr = ci / ri if ri > 0 else 0.0
    worst = None
    if n > 2:
        # Each judgement against what the other comparisons imply through a third area
        # (the geometric mean of a[i,k] * a[k,j] over k), on a log scale.
        logs = np.log(matrix)
        through = logs[:, None, :] + logs.T[None, :, :]  # [i, j, k] = log a[i,k] + log a[k,j]
        keep = ~np.eye(n, dtype=bool)
        implied = np.empty_like(matrix)
        for i in range(n):
            for j in range(n):
                ks = keep[i] & keep[j]
                implied[i, j] = np.exp(through[i, j, ks].mean()) if ks.any() else matrix[i, j]
        error = np.triu(np.abs(logs - np.log(implied)), 1)
        a, b = (int(k) for k in np.unravel_index(int(np.argmax(error)), error.shape))
        worst = (items[a], items[b], float(matrix[a, b]), float(implied[a, b]))
    return AHPResult(items, tuple(float(v) for v in w), lam, ci, cr, worst)


def parse_ratio(value: object) -> float:
    """A judgement as a number: ``3``, ``0.5`` or a fraction written ``"1/3"``."""
    if isinstance(value, bool):
        raise ValueError(f"a ratio must be a number such as 3 or '1/3', got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:
                top, bottom = text.split("/", 1)
                return float(top) / float(bottom)
            return float(text)
        except (ValueError, ZeroDivisionError):
            pass
    raise ValueError(f"a ratio must be a number such as 3 or '1/3', got {value!r}")
