"""Agreement metrics on maintained libraries, and a vectorised, seedable bootstrap over items.

Conventions, the same for every multi-rater function here: ``data`` has one row per rater and one
column per item; ``None`` (or NaN) marks a missing rating. Values are labels (``"a"``, ``"b"``,
``"tie"``) or numbers. A metric that is undefined for the data (no variation, no item rated twice)
is ``nan``, never an exception and never a made-up number.

Who computes what:

- Krippendorff's alpha: the ``krippendorff`` package (all four levels, missing values).
- Cohen's kappa (unweighted, linear, quadratic), accuracy, macro precision / recall / F1: scikit-learn.
- Fleiss' kappa: statsmodels.
- Percent agreement: the mean, over items rated at least twice, of the share of agreeing rating pairs
  (no maintained library we depend on computes it).

Bootstrap intervals resample items: :mod:`server.agreement.features` holds the per-item features, the
statistics of their sums and :func:`bootstrap` (re-exported here).

>>> data = [["a", "a", "b", "tie", None], ["a", "b", "b", "tie", "a"], ["a", "a", "b", None, "a"]]
>>> round(krippendorff_alpha(data), 3), round(fleiss_kappa(data), 3), round(percent_agreement(data), 3)
(0.76, 0.55, 0.867)
>>> round(cohen_kappa(data[0], data[1]), 3)
0.636
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_recall_fscore_support
from statsmodels.stats.inter_rater import fleiss_kappa as _statsmodels_fleiss

from server.agreement.features import (  # the statistics of sums and the bootstrap, re-exported here
    Interval,
    Level,
    Weights,
    agreement_features,
    alpha_from_coincidences,
    bootstrap,
    coincidence_features,
    confusion_features,
    fleiss_features,
    fleiss_from_sums,
    kappa_from_confusion,
    resample_weights,
    scores_from_confusion,
    weight_matrix,
)

LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
NAN = float("nan")
NUMBERS = ("integer", "floating", "mixed-integer-float", "decimal", "empty")
"""What pandas' infer_dtype says of ratings that are all numbers (or all missing)."""


# --------------------------------------------------------------------------------------- ratings


@dataclass(frozen=True)
class Ratings:
    """Ratings coded as integers: ``codes[rater, item]`` indexes ``domain``; -1 is missing."""

    codes: np.ndarray
    domain: np.ndarray

    @property
    def numeric(self) -> bool:
        return self.domain.dtype.kind in "iuf"

    def value_counts(self) -> np.ndarray:
        """(items, values): how many raters gave each value to each item."""
        items = self.codes.shape[1]
        values = len(self.domain)
        present = self.codes >= 0
        flat = (np.arange(items)[np.newaxis, :] * values + self.codes)[present]
        return np.bincount(flat, minlength=items * values).reshape(items, values)


def ratings(data: Any, domain: Sequence[Any] | None = None) -> Ratings:
    """Code a raters × items matrix (``None``/NaN = missing) against a value domain.

    Args:
        data: rows = raters, columns = items; a list of lists or a 2-D numpy array.
        domain: the possible values, in order (needed for ordinal labels); default: the sorted values seen.

    Returns:
        :class:`Ratings` with integer codes (-1 for missing) and the domain.

    >>> r = ratings([["a", None, "b"], ["a", "tie", "b"]])
    >>> r.codes.tolist(), r.domain.tolist()
    ([[0, -1, 1], [0, 2, 1]], ['a', 'b', 'tie'])
    """
    array = _matrix(data)
    if array.dtype.kind not in "iuf":
        return _code_labels(array, pd.isna(array), domain)
    values = array.astype(float, copy=False)
    missing = np.isnan(values)
    known = np.unique(values[~missing]) if domain is None else np.asarray(domain, dtype=float)
    codes = np.full(values.shape, -1, dtype=np.intp)
    if len(known):
        order = np.argsort(known, kind="stable")
        position = np.minimum(np.searchsorted(known, values, sorter=order), len(known) - 1)
        codes = np.where(missing, -1, order[position])
        if (~missing & (known[np.maximum(codes, 0)] != values)).any():
            raise ValueError(f"data: a value is not in the domain {known.tolist()}")
    elif (~missing).any():
        raise ValueError("data: domain is empty")
    return Ratings(codes, known)


def _matrix(data: Any) -> np.ndarray:
    """A 2-D array: float with NaN for missing when every rating is a number, else object."""
    array = data if isinstance(data, np.ndarray) else np.array(data, dtype=object)
    if array.ndim != 2:
        raise ValueError(f"data: rows are raters and columns are items (a 2-D matrix); got {array.ndim} dimension(s)")
    if array.dtype == object and pd.api.types.infer_dtype(array.ravel(), skipna=True) in NUMBERS:
        return array.astype(float)  # None becomes NaN
    return array


def _code_labels(array: np.ndarray, missing: np.ndarray, domain: Sequence[Any] | None) -> Ratings:
    seen = array[~missing]
    if domain is None:
        try:
            domain = sorted(set(seen.tolist()))
        except TypeError:
            raise ValueError("data: labels of different types cannot be ordered; pass domain=[...]") from None
    lookup = {value: code for code, value in enumerate(domain)}
    codes = np.full(array.shape, -1, dtype=np.intp)
    try:
        codes[~missing] = [lookup[value] for value in seen.tolist()]
    except KeyError as exc:
        raise ValueError(f"data: value {exc.args[0]!r} is not in the domain {list(domain)}") from None
    return Ratings(codes, np.array(list(domain), dtype=object))


# --------------------------------------------------------------------------------------- metrics


def krippendorff_alpha(data: Any, level: Level = "nominal", domain: Sequence[Any] | None = None) -> float:
    """Krippendorff's alpha, computed by the ``krippendorff`` package.

    Args:
        data: rows = raters, columns = items, ``None``/NaN = missing; labels or numbers.
        level: ``"nominal"`` (default: pairwise outcomes are categories), ``"ordinal"``, ``"interval"``
            or ``"ratio"``. Labels (strings) allow nominal, and ordinal with an ordered ``domain``.
        domain: the possible values in order (default: the sorted values seen).

    Returns:
        Alpha, or ``nan`` when it is undefined (no item rated twice, or a single value used throughout).

    Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", 4 observers × 12 units:

    >>> nan = None
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> [round(krippendorff_alpha(data, level), 3) for level in ("nominal", "ordinal", "interval", "ratio")]
    [0.743, 0.815, 0.849, 0.797]
    """
    if level not in LEVELS:
        raise ValueError(f"level: must be one of {', '.join(LEVELS)}, got {level!r}")
    counts, values = value_counts(data, domain)
    if level in ("interval", "ratio") and values.dtype.kind not in "iuf":
        raise ValueError(f"level: {level!r} needs numeric values; these are labels (use nominal or ordinal)")
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return NAN
    domain_values = values if values.dtype.kind in "iuf" else np.arange(len(values))
    return float(krippendorff.alpha(value_counts=counts, value_domain=domain_values, level_of_measurement=level))


def value_counts(data: Any, domain: Sequence[Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(items × values counts, the domain) of a raters × items matrix (``None``/NaN = missing).

    A numeric array with a small domain is counted one value at a time over the whole matrix, the
    way the ``krippendorff`` package does; anything else goes through :func:`ratings`.

    >>> counts, domain = value_counts(np.array([[1, 2, np.nan], [1, 1, 2]]))
    >>> counts.tolist(), domain.tolist()
    ([[2, 0], [1, 1], [0, 1]], [1.0, 2.0])
    """
    array = _matrix(data)
    if array.dtype.kind in "iuf":
        values = array.astype(float, copy=False)
        present = ~np.isnan(values)
        known = np.unique(values[present]) if domain is None else np.asarray(domain, dtype=float)
        if len(known) <= 32:
            counts = np.empty((values.shape[1], len(known)), dtype=np.int64)
            for code, value in enumerate(known):
                counts[:, code] = np.count_nonzero(values == value, axis=0)
            if counts.sum() != np.count_nonzero(present):
                raise ValueError(f"data: a value is not in the domain {known.tolist()}")
            return counts, known
    coded = ratings(array, domain)
    return coded.value_counts(), coded.domain


def cohen_kappa(
    first: Sequence[Any], second: Sequence[Any], weights: Weights = None, labels: Sequence[Any] | None = None
) -> float:
    """Cohen's kappa of two raters over the items both rated, computed by scikit-learn.

    Args:
        first, second: one rating per item (same length); ``None`` = not rated.
        weights: ``None`` (unweighted), ``"linear"`` or ``"quadratic"``; weights follow the order of
            ``labels`` (default: the sorted labels seen).
        labels: the categories in order.

    Returns:
        Kappa, or ``nan`` when undefined (no shared item, or chance agreement is 1).

    The grant-proposal example (Wikipedia, "Cohen's kappa"): 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no:

    >>> a = ["yes"] * 25 + ["no"] * 25
    >>> b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    >>> round(cohen_kappa(a, b), 3)
    0.4
    """
    if len(first) != len(second):
        raise ValueError(f"second: has {len(second)} ratings, first has {len(first)}; one per item each")
    both = [(x, y) for x, y in zip(first, second, strict=True) if not _missing(x) and not _missing(y)]
    if not both:
        return NAN
    y1, y2 = (list(column) for column in zip(*both, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined kappa: sklearn warns and returns nan, as we document
        return float(cohen_kappa_score(y1, y2, weights=weights, labels=labels))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def fleiss_table(data: Any) -> np.ndarray:
    """Items × categories counts for Fleiss' kappa: the items with the most common number of ratings (≥ 2).

    Fleiss' kappa needs the same number of ratings per item (not the same raters); items with another
    number of ratings are left out (Krippendorff's alpha uses every item).

    >>> fleiss_table([["a", "a", None], ["a", "b", "b"], ["b", "b", "b"]]).tolist()
    [[2, 1], [1, 2]]
    """
    counts = ratings(data).value_counts()
    per_item = counts.sum(axis=1)
    rated = per_item[per_item >= 2]
    if len(rated) == 0:
        return counts[:0]
    sizes, frequency = np.unique(rated, return_counts=True)
    common = sizes[frequency == frequency.max()].max()
    return counts[per_item == common]


def fleiss_kappa(data: Any) -> float:
    """Fleiss' kappa, computed by statsmodels over :func:`fleiss_table` (rows = raters, columns = items).

    Returns:
        Kappa, or ``nan`` when undefined (no item rated twice, or one category throughout).

    Fleiss' kappa example from Wikipedia (14 raters, 10 items, 5 categories; statsmodels' test):

    >>> table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    ...          [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    >>> data = [[c for c, n in enumerate(row, 1) for _ in range(n)] for row in table]  # items × raters
    >>> round(fleiss_kappa(np.array(data).T), 3)
    0.21
    """
    table = fleiss_table(data)
    if len(table) == 0 or np.count_nonzero(table.sum(axis=0)) < 2:
        return NAN
    return float(_statsmodels_fleiss(table))


def percent_agreement(data: Any) -> float:
    """Share of agreeing rating pairs, averaged over the items rated at least twice.

    For two raters this is the share of shared items where they agree.

    >>> percent_agreement([["a", "b", "a", None], ["a", "a", "a", "b"]])
    0.6666666666666666
    """
    counts = ratings(data).value_counts()
    features = agreement_features(counts)
    if features[:, 1].sum() == 0:
        return NAN
    return float(features[:, 0].sum() / features[:, 1].sum())


def classification_scores(reference: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
    """Accuracy, macro precision / recall / F1 and Cohen's kappa of predictions against a reference label.

    scikit-learn computes each; the macro averages run over the labels present in either list, and a
    label never predicted scores precision 0 (``zero_division=0``).

    >>> scores = classification_scores(["a", "a", "b", "tie"], ["a", "b", "b", "tie"])
    >>> {k: round(v, 3) for k, v in scores.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'n': 4, 'accuracy': 0.75, 'macro_precision': 0.833, 'macro_recall': 0.833, 'macro_f1': 0.778,
     'cohen_kappa': 0.636}
    """
    if len(reference) != len(predicted):
        raise ValueError(f"predicted: has {len(predicted)} labels, reference has {len(reference)}")
    if not reference:
        return dict.fromkeys(("accuracy", "macro_precision", "macro_recall", "macro_f1", "cohen_kappa"), NAN) | {"n": 0}
    precision, recall, f1, _ = precision_recall_fscore_support(reference, predicted, average="macro", zero_division=0)
    return {
        "n": len(reference),
        "accuracy": float(accuracy_score(reference, predicted)),
        "macro_precision": float(precision),
        "macro_recall": float(recall),
        "macro_f1": float(f1),
        "cohen_kappa": cohen_kappa(list(reference), list(predicted)),
    }


__all__ = [
    "LEVELS",
    "Interval",
    "Level",
    "Ratings",
    "Weights",
    "agreement_features",
    "alpha_from_coincidences",
    "bootstrap",
    "classification_scores",
    "cohen_kappa",
    "coincidence_features",
    "confusion_features",
    "fleiss_features",
    "fleiss_from_sums",
    "fleiss_kappa",
    "fleiss_table",
    "kappa_from_confusion",
    "krippendorff_alpha",
    "percent_agreement",
    "ratings",
    "resample_weights",
    "scores_from_confusion",
    "value_counts",
    "weight_matrix",
]
