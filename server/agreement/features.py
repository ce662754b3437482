"""Statistics of sums over items, and the vectorised, seedable bootstrap that resamples items.

Every agreement statistic is a function of sums over items (a confusion matrix, a coincidence matrix,
counts), so one resample is a weight vector over items and a thousand resamples are one matrix product:
:func:`bootstrap` takes the per-item contributions (the ``*_features`` functions) and a statistic of
their sums. The statistics of sums (:func:`kappa_from_confusion`, :func:`alpha_from_coincidences`, …) are
the only formulas written here; the tests check them against the libraries :mod:`server.agreement.metrics`
stands on.

>>> features = confusion_features(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
>>> features.sum(axis=0).tolist()
[1.0, 0.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple

import numpy as np

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"] | None


class Interval(NamedTuple):
    """A percentile bootstrap interval."""

    low: float
    high: float


# ------------------------------------------------------------------ statistics of sums over items


def weight_matrix(categories: int, weights: Weights = None) -> np.ndarray:
    """Disagreement weights of Cohen's kappa, as scikit-learn defines them (0 on the diagonal).

    >>> weight_matrix(3, "linear").tolist()
    [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]]
    """
    index = np.arange(categories)
    if weights is None:
        return 1.0 - np.eye(categories)
    if weights == "linear":
        return np.abs(index[:, None] - index[None, :]).astype(float)
    if weights == "quadratic":
        return ((index[:, None] - index[None, :]) ** 2).astype(float)
    raise ValueError(f"weights: must be None, 'linear' or 'quadratic', got {weights!r}")


def confusion_features(first: np.ndarray, second: np.ndarray, categories: int) -> np.ndarray:
    """Per-item one-hot confusion cells (items × categories²) for codes ``first`` (rows) and ``second``."""
    cells = np.asarray(first, dtype=np.intp) * categories + np.asarray(second, dtype=np.intp)
    features = np.zeros((len(cells), categories * categories))
    features[np.arange(len(cells)), cells] = 1.0
    return features


def kappa_from_confusion(confusion: np.ndarray, weights: Weights = None) -> np.ndarray:
    """Cohen's kappa of (..., K, K) confusion matrices, with scikit-learn's formula (nan when undefined)."""
    confusion = np.asarray(confusion, dtype=float)
    total = confusion.sum(axis=(-2, -1))
    rows, cols = confusion.sum(axis=-1), confusion.sum(axis=-2)
    expected = rows[..., :, None] * cols[..., None, :] / np.where(total == 0, 1, total)[..., None, None]
    w = weight_matrix(confusion.shape[-1], weights)
    observed_d, expected_d = (w * confusion).sum(axis=(-2, -1)), (w * expected).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected_d > 0, 1.0 - observed_d / np.where(expected_d > 0, expected_d, 1), np.nan)


def scores_from_confusion(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, macro P/R/F1 (over labels present) and kappa of (..., K, K) confusion matrices.

    Rows are the reference, columns the prediction; equal to :func:`classification_scores`.
    """
    confusion = np.asarray(confusion, dtype=float)
    hits = np.diagonal(confusion, axis1=-2, axis2=-1)
    support, predicted = confusion.sum(axis=-1), confusion.sum(axis=-2)
    total = support.sum(axis=-1)
    present = (support + predicted) > 0
    labels = present.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / np.where(predicted > 0, predicted, 1), 0.0)
        recall = np.where(support > 0, hits / np.where(support > 0, support, 1), 0.0)
        f1 = np.where(present, 2 * hits / np.where(present, support + predicted, 1), 0.0)
        macro = lambda x: np.where(labels > 0, x.sum(axis=-1) / np.where(labels > 0, labels, 1), np.nan)  # noqa: E731
        return {
            "accuracy": np.where(total > 0, hits.sum(axis=-1) / np.where(total > 0, total, 1), np.nan),
            "macro_precision": macro(precision),
            "macro_recall": macro(recall),
            "macro_f1": macro(f1),
            "cohen_kappa": kappa_from_confusion(confusion),
        }


def coincidence_features(counts: np.ndarray) -> np.ndarray:
    """Per-item contributions to Krippendorff's coincidence matrix (items × values²).

    Item u with m_u ≥ 2 ratings adds (n_uc · n_uk − [c = k] · n_uc) / (m_u − 1) to cell (c, k).
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    values = counts.shape[1]
    pairs = counts[:, :, None] * counts[:, None, :]
    pairs[:, np.arange(values), np.arange(values)] -= counts
    scale = np.where(m >= 2, 1.0 / np.where(m >= 2, m - 1, 1), 0.0)
    return (pairs * scale[:, None, None]).reshape(len(counts), values * values)


def _distances(level: Level, domain: np.ndarray, n_v: np.ndarray) -> np.ndarray:
    """Squared differences δ²(c, k) of Krippendorff's alpha per level; ordinal ones depend on n_v (…, V)."""
    values = len(domain)
    if level == "nominal":
        return 1.0 - np.eye(values)
    if level == "ordinal":
        cumulative = np.cumsum(n_v, axis=-1)
        low, high = (
            np.minimum.outer(np.arange(values), np.arange(values)),
            np.maximum.outer(np.arange(values), np.arange(values)),
        )
        before = np.concatenate([np.zeros_like(cumulative[..., :1]), cumulative], axis=-1)
        between = before[..., high + 1] - before[..., low]
        return (between - (n_v[..., low] + n_v[..., high]) / 2) ** 2
    v = np.asarray(domain, dtype=float)
    diff = v[:, None] - v[None, :]
    if level == "interval":
        return diff**2
    total = v[:, None] + v[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total != 0, diff / np.where(total != 0, total, 1), 0.0) ** 2


def alpha_from_coincidences(coincidences: np.ndarray, level: Level = "nominal", domain: Any = None) -> np.ndarray:
    """Krippendorff's alpha of (..., V, V) coincidence matrices (the ``krippendorff`` package's formula).

    ``domain`` holds the values (numbers for interval/ratio); nan where alpha is undefined.
    """
    o = np.asarray(coincidences, dtype=float)
    values = o.shape[-1]
    domain = np.arange(values) if domain is None else np.asarray(domain)
    n_v = o.sum(axis=-2)
    n = n_v.sum(axis=-1)
    outer = n_v[..., :, None] * n_v[..., None, :]
    idx = np.arange(values)
    outer[..., idx, idx] -= n_v
    e = outer / np.where(n > 1, n - 1, 1)[..., None, None]
    d = _distances(level, domain, n_v)
    observed, expected = (o * d).sum(axis=(-2, -1)), (e * d).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1.0 - observed / np.where(expected > 0, expected, 1), np.nan)


def agreement_features(counts: np.ndarray) -> np.ndarray:
    """Per item: (agreeing rating pairs / all pairs, 1) for items with ≥ 2 ratings, (0, 0) otherwise."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    pairs = m * (m - 1)
    agree = (counts * (counts - 1)).sum(axis=1)
    rated = pairs > 0
    return np.column_stack([np.where(rated, agree / np.where(rated, pairs, 1), 0.0), rated.astype(float)])


def fleiss_features(table: np.ndarray) -> np.ndarray:
    """Per item: (P_i, counts per category…) for a Fleiss table with the same number of ratings per item."""
    table = np.asarray(table, dtype=float)
    n = table.sum(axis=1)
    p_item = ((table * table).sum(axis=1) - n) / (n * (n - 1))
    return np.column_stack([p_item, table])


def fleiss_from_sums(sums: np.ndarray, items: np.ndarray, raters: int) -> np.ndarray:
    """Fleiss' kappa from summed :func:`fleiss_features` over ``items`` items (statsmodels' formula)."""
    p_mean = sums[..., 0] / items
    p_cat = sums[..., 1:] / (items * raters)[..., None]
    expected = (p_cat * p_cat).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected < 1, (p_mean - expected) / (1 - expected), np.nan)


# --------------------------------------------------------------------------------------- bootstrap


def resample_weights(items: int, resamples: int, seed: int = 0, chunk_cells: int = 4_000_000) -> Iterator[np.ndarray]:
    """Bootstrap resamples of ``items`` items as multiplicity matrices (resamples × items), in chunks.

    Resample b draws ``items`` items with replacement; entry (b, i) counts how often item i was drawn.
    The same seed gives the same resamples, whatever the chunk size.
    """
    rng = np.random.default_rng(seed)
    per_chunk = max(1, chunk_cells // max(items, 1))
    done = 0
    while done < resamples:
        size = min(per_chunk, resamples - done)
        drawn = rng.integers(0, items, size=(size, items))
        drawn += np.arange(size)[:, None] * items
        yield np.bincount(drawn.ravel(), minlength=size * items).reshape(size, items).astype(np.float64)
        done += size


def bootstrap(
    features: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[Interval | None]:
    """Percentile intervals of ``statistic(sums over items)`` by resampling items.

    Args:
        features: (items, F) per-item contributions whose sums determine the statistic.
        statistic: maps (B, F) sums to (B,) or (B, S) values; nan marks an undefined resample.
        resamples: number of bootstrap resamples (0: no intervals).
        confidence: interval coverage, e.g. 0.95.
        seed: seed of the resampling.

    Returns:
        One interval per statistic column (None when there are no items, no resamples, or every
        resample is undefined). The same seed gives the same intervals.

    >>> correct = np.array([[1.0, 1.0]] * 80 + [[0.0, 1.0]] * 20)  # 80 of 100 right: (right, 1) per item
    >>> [(round(i.low, 2), round(i.high, 2)) for i in bootstrap(correct, lambda s: s[:, 0] / s[:, 1], seed=1)]
    [(0.72, 0.87)]
    """
    features = np.asarray(features, dtype=np.float64)
    columns = np.asarray(statistic(features.sum(axis=0, keepdims=True))).reshape(1, -1).shape[1]
    if len(features) == 0 or resamples <= 0:
        return [None] * columns
    kinds, frequency = np.unique(features, axis=0, return_counts=True)
    if len(kinds) * 4 <= len(features):
        # Few distinct items (one-hot confusion cells, a handful of vote patterns): how often each kind is
        # drawn in a resample of n items is Multinomial(n, its share), the same law as drawing items.
        draws = np.random.default_rng(seed).multinomial(len(features), frequency / len(features), size=resamples)
        values = np.asarray(statistic(draws.astype(np.float64) @ kinds)).reshape(resamples, -1)
    else:
        values = np.concatenate(
            [
                np.asarray(statistic(weights @ features)).reshape(len(weights), -1)
                for weights in resample_weights(len(features), resamples, seed)
            ]
        )
    tail = (1 - confidence) / 2 * 100
    out: list[Interval | None] = []
    for column in values.T:
        finite = column[np.isfinite(column)]
        if len(finite) == 0:
            out.append(None)
        else:
            low, high = np.percentile(finite, [tail, 100 - tail])
            out.append(Interval(float(low), float(high)))
    return out
