"""Bradley–Terry ratings fit with `choix`, and their bootstrap intervals over the comparisons.

A model's rating is its log-strength θ (ratings sum to 0): model i beats model j with probability
1 / (1 + exp(θⱼ − θᵢ)). Ties count as half a win for each side, entered as 0.5 in both cells of the
comparison matrix; `choix.ilsr_pairwise_dense` fits the maximum-likelihood strengths with a small
regularisation (`ALPHA`, a hundredth of a comparison between every two models) so a model that never
lost, or a comparison graph that falls apart in a resample, still gets finite ratings. The interval is
the percentile bootstrap over comparisons (resampled with replacement, the same seed gives the same
interval).

>>> from server.leaderboard.comparisons import Comparison
>>> found = [Comparison("x", "y", "a")] * 3 + [Comparison("x", "y", "b")]
>>> fit = bradley_terry(found, resamples=0)
>>> round(fit["x"].rating - fit["y"].rating, 1)  # x won 3 of 4: θx − θy ≈ ln 3 (less a little, for ALPHA)
1.1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import choix
import numpy as np

from server.leaderboard.comparisons import SCORE, Comparison, models_of

ALPHA = 0.01


@dataclass(frozen=True, slots=True)
class Rating:
    """A model's Bradley–Terry log-strength and its bootstrap interval (None without resamples)."""

    rating: float
    low: float | None = None
    high: float | None = None


def _arrays(comparisons: Sequence[Comparison], models: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = {name: i for i, name in enumerate(models)}
    a = np.array([index[c.model_a] for c in comparisons], dtype=int)
    b = np.array([index[c.model_b] for c in comparisons], dtype=int)
    return a, b, np.array([SCORE[c.outcome] for c in comparisons], dtype=float)


def comparison_matrix(comparisons: Sequence[Comparison], models: Sequence[str]) -> np.ndarray:
    """M[i, j] = wins of model i over model j, a tie 0.5 in both cells."""
    return _matrix(*_arrays(comparisons, models), len(models))


def _matrix(a: np.ndarray, b: np.ndarray, score: np.ndarray, size: int) -> np.ndarray:
    matrix = np.zeros((size, size))
    np.add.at(matrix, (a, b), score)
    np.add.at(matrix, (b, a), 1.0 - score)
    return matrix


def fit_strengths(matrix: np.ndarray) -> np.ndarray:
    """The Bradley–Terry log-strengths (summing to 0) of a comparison matrix."""
    if len(matrix) < 2:
        return np.zeros(len(matrix))
    return np.asarray(choix.ilsr_pairwise_dense(matrix, alpha=ALPHA, max_iter=1000))


def bradley_terry(
    comparisons: Sequence[Comparison], *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, Rating]:
    """Each model's rating with a percentile bootstrap interval at `level` over `resamples` resamples."""
    models = models_of(comparisons)
    a, b, score = _arrays(comparisons, models)
    point = fit_strengths(_matrix(a, b, score, len(models)))
    if resamples <= 0 or not comparisons:
        return {name: Rating(float(point[i])) for i, name in enumerate(models)}
    rng = np.random.default_rng(seed)
    draws = np.empty((resamples, len(models)))
    for r in range(resamples):
        picked = rng.integers(0, len(comparisons), len(comparisons))
        draws[r] = fit_strengths(_matrix(a[picked], b[picked], score[picked], len(models)))
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    return {name: Rating(float(point[i]), float(low[i]), float(high[i])) for i, name in enumerate(models)}
