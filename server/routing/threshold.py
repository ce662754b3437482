"""One judge's threshold by fixed-sequence testing, and the exact bounds each step tests.

How a threshold is chosen (:func:`choose_threshold`): the candidate thresholds are the distinct
signal values, tested from the most confident down (fixed-sequence testing). At a threshold t every
calibration pair with signal ≥ t is accepted together (ties in a discrete signal are never split);
the step passes when the exact one-sided Clopper–Pearson upper bound at level δ on the disagreement
rate among those pairs (:func:`risk_upper_bound`) is at most α. Thresholds with fewer than `min_n`
accepted pairs are never certified (they are skipped; since the count only grows as the threshold
falls, they are a prefix of the sequence). Testing stops at the first step that fails; the lowest
threshold that passed is the judge's threshold, or None when none did.

Two promises. By default the bound is on the disagreement *rate* of the judge above its threshold,
for pairs drawn like the calibration pairs. A finite set of routed pairs then disagrees more than α by
its own sampling noise alone when that rate sits just under α. Given the pairs to be routed (`routed`,
their signals only: no labels), each step is instead the exact hypergeometric test of "more than α of
the routed pairs above t disagree", valid when which pairs got human labels was random
(:func:`routed_upper_bound`). It is the promise a split study measures.

The cascade built on it, and routing, are in :mod:`server.routing.calibration`.

>>> choose_threshold([0.9, 0.8, 0.8, 0.5], [False, False, False, True], alpha=0.6, delta=0.1, min_n=3).threshold
0.8
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, hypergeom

DEFAULT_MIN_N = 30
"""Fewest calibration pairs a certified threshold may accept by default."""


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The outcome of fixed-sequence testing for one judge.

    `risk_upper_bound` and `accepted` are at the chosen threshold (None and 0 when nothing was
    certified); `tested` counts the thresholds tested, the last being the one that failed if any.
    """

    threshold: float | None
    accepted: int
    disagreements: int
    risk_upper_bound: float | None
    n_calibration: int
    tested: int


def check_levels(alpha: float, delta: float, min_n: int) -> None:
    """Raise a ValueError naming the field when α, δ or min_n is out of range.

    >>> check_levels(0.2, 1.5, 30)
    Traceback (most recent call last):
    ...
    ValueError: delta: must be strictly between 0 and 1, got 1.5
    """
    for name, value in (("alpha", alpha), ("delta", delta)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
            raise ValueError(f"{name}: must be strictly between 0 and 1, got {value!r}")
    if isinstance(min_n, bool) or not isinstance(min_n, int | np.integer) or min_n < 1:
        raise ValueError(f"min_n: must be a whole number of at least 1, got {min_n!r}")


def risk_upper_bound(disagreements: int | np.ndarray, n: int | np.ndarray, delta: float) -> float | np.ndarray:
    """Exact one-sided (Clopper–Pearson) upper confidence bound at level 1−δ on a binomial rate.

    The bound u solves P(Binomial(n, u) ≤ k) = δ; it is 1 when every trial disagreed (k = n).

    >>> round(risk_upper_bound(0, 22, 0.1), 4), round(risk_upper_bound(5, 50, 0.1), 4), risk_upper_bound(3, 3, 0.1)
    (0.0994, 0.1776, 1.0)
    """
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta: must be strictly between 0 and 1, got {delta!r}")
    k = np.asarray(disagreements, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("disagreements: must lie between 0 and n, with n ≥ 1")
    with np.errstate(invalid="ignore"):
        bound = np.where(k < n, beta.ppf(1.0 - delta, k + 1.0, np.maximum(n - k, 1.0)), 1.0)
    return float(bound) if bound.ndim == 0 else bound


def routed_upper_bound(disagreements: int, n: int, routed: int, delta: float) -> float:
    """Exact 1−δ upper bound on the share of `routed` unlabelled pairs that disagree, from n labelled ones.

    The n + routed pairs are exchangeable (which of them got human labels was random), so given the
    total K of disagreements, the labelled pairs' count is Hypergeometric(n + routed, K, n). The bound
    is j/routed for the smallest j such that K = disagreements + j + 1 would make the observed count
    or fewer a δ-rare event; 0 when nothing is routed.

    >>> round(routed_upper_bound(10, 100, 100, 0.1), 2), round(risk_upper_bound(10, 100, 0.1), 3)
    (0.17, 0.15)
    """
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta: must be strictly between 0 and 1, got {delta!r}")
    if n < 1 or not 0 <= disagreements <= n or routed < 0:
        raise ValueError("disagreements: must lie between 0 and n, with n ≥ 1 and routed ≥ 0")
    if routed == 0:
        return 0.0
    more = np.arange(routed)  # j: "at most j of the routed pairs disagree" is refuted when p ≤ δ for K = k + j + 1
    p = hypergeom.cdf(disagreements, n + routed, disagreements + more + 1, n)
    refuted = np.flatnonzero(p <= delta)
    return float(refuted[0] / routed) if refuted.size else 1.0


def choose_threshold(
    confidences: Sequence[float] | np.ndarray,
    disagrees: Sequence[bool] | np.ndarray,
    *,
    alpha: float,
    delta: float,
    min_n: int = DEFAULT_MIN_N,
    routed: Sequence[float] | np.ndarray | None = None,
) -> ThresholdChoice:
    """Fixed-sequence testing over the distinct confidence values, from the most confident down.

    Args:
        confidences: the signal value of each calibration pair the judge could accept.
        disagrees: for each, whether the judge's outcome differs from the human reference.
        alpha: the largest disagreement rate to certify.
        delta: the error level of each bound (the guarantee holds with probability ≥ 1−δ).
        min_n: fewest accepted pairs a certified threshold may rest on.
        routed: the signal values of the unlabelled pairs to be routed (the judge's usable ones): each
            step then bounds their disagreement with :func:`routed_upper_bound` instead of the rate.

    Returns:
        The lowest threshold reached before the first failing step (None if the first one fails).

    >>> choose_threshold([0.9, 0.9, 0.8, 0.7, 0.6], [False, False, False, True, True], alpha=0.7, delta=0.1, min_n=2)
    ThresholdChoice(threshold=0.7, accepted=4, disagreements=1, risk_upper_bound=0.6795..., n_calibration=5, tested=4)
    """
    check_levels(alpha, delta, min_n)
    values, ends, disagreements = _runs(confidences, disagrees)
    accepted = ends + 1
    eligible = accepted >= min_n
    bounds = _step_bounds(values[ends[eligible]], disagreements[eligible], accepted[eligible], delta, routed)
    passing = bounds <= alpha
    failed = np.flatnonzero(~passing)
    passed = int(failed[0]) if failed.size else int(passing.size)
    tested = min(passed + 1, int(passing.size))
    if passed == 0:
        return ThresholdChoice(None, 0, 0, None, int(values.size), tested)
    index = np.flatnonzero(eligible)[passed - 1]
    return ThresholdChoice(
        threshold=float(values[ends[index]]),
        accepted=int(accepted[index]),
        disagreements=int(disagreements[index]),
        risk_upper_bound=float(bounds[passed - 1]),
        n_calibration=int(values.size),
        tested=tested,
    )


def _runs(
    confidences: Sequence[float] | np.ndarray, disagrees: Sequence[bool] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The signal values sorted most confident first, the last index of each run of equal values (a
    threshold accepts a whole run) and the disagreements counted up to each run's end.

    >>> [a.tolist() for a in _runs([0.5, 0.9, 0.9], [True, False, True])]
    [[0.9, 0.9, 0.5], [1, 2], [1, 2]]
    """
    values = np.asarray(confidences, dtype=float)
    wrong = np.asarray(disagrees, dtype=bool)
    if values.shape != wrong.shape or values.ndim != 1:
        raise ValueError("confidences, disagrees: must be two flat sequences of the same length")
    if not np.all(np.isfinite(values)):
        raise ValueError("confidences: must be finite numbers")
    if not values.size:
        return values, np.array([], dtype=int), np.array([], dtype=int)
    order = np.argsort(-values, kind="stable")
    values, wrong = values[order], wrong[order]
    ends = np.flatnonzero(np.append(values[1:] != values[:-1], True))
    return values, ends, np.cumsum(wrong)[ends]


def _step_bounds(
    thresholds: np.ndarray,
    disagreements: np.ndarray,
    accepted: np.ndarray,
    delta: float,
    routed: Sequence[float] | np.ndarray | None,
) -> np.ndarray:
    """The upper bound each step of the sequence tests: on the rate, or (given `routed`) on the routed
    pairs at or above the step's threshold."""
    if routed is None:
        return np.atleast_1d(risk_upper_bound(disagreements, accepted, delta)) if accepted.size else np.array([])
    future = np.sort(np.asarray(routed, dtype=float))
    if not np.all(np.isfinite(future)):
        raise ValueError("routed: must be finite numbers")
    above = future.size - np.searchsorted(future, thresholds, side="left")
    return np.array(
        [
            routed_upper_bound(int(k), int(n), int(m), delta)
            for k, n, m in zip(disagreements, accepted, above, strict=True)
        ]
    )
