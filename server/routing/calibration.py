"""Certified routing: calibrate a confidence threshold per judge, then accept or escalate each pair.

The guarantee ("Trust or Escalate", Jung et al., ICLR 2025): with probability at least 1−δ over the
calibration pairs, a judge agrees with the human reference on at least 1−α of the pairs it accepts.

How a threshold is chosen (:func:`choose_threshold`): the candidate thresholds are the distinct
signal values, tested from the most confident down (fixed-sequence testing). At a threshold t every
calibration pair with signal ≥ t is accepted together (ties in a discrete signal are never split);
the step passes when the exact one-sided Clopper–Pearson upper bound at level δ on the disagreement
rate among those pairs (:func:`risk_upper_bound`) is at most α. Thresholds with fewer than `min_n`
accepted pairs are never certified (they are skipped; since the count only grows as the threshold
falls, they are a prefix of the sequence). Testing stops at the first step that fails; the lowest
threshold that passed is the judge's threshold, or None when none did.

A cascade (:func:`calibrate`) takes judges cheapest first: each judge is calibrated on the
calibration pairs the judges before it did not accept. Each judge's guarantee holds at 1−δ; all of
them at once (and so the cascade's accepted pairs as a whole) at 1−kδ for k judges, by the union
bound: pass ``delta / k`` for a joint 1−δ. :func:`route` maps pairs without a human reference to
accepted (judge, outcome, confidence) or escalated (with its uncertainty).

Two promises. By default (``promise="population"``) the bound is on the disagreement *rate* of the
judge above its threshold, for pairs drawn like the calibration pairs. A finite set of routed pairs
then disagrees more than α by its own sampling noise alone when that rate sits just under α. Given
the pairs to be routed (`routed`, their signals only: no labels), ``promise="routed"`` bounds instead
the disagreement *among those routed pairs* that get accepted: each step is the exact
hypergeometric test of "more than α of the routed pairs above t disagree", valid when which pairs got
human labels was random (:func:`routed_upper_bound`). It is the promise a split study measures.

>>> pairs = [PairSignals(f"p{i}", {"judge": Judgement("a", i / 100)}, reference="a" if i > 20 else "b")
...          for i in range(100)]
>>> result = calibrate(pairs, [Stage("judge", "logprob")], alpha=0.1, delta=0.1, min_n=30)
>>> judge = result.judges[0]
>>> judge.threshold, judge.accepted, round(judge.risk_upper_bound, 3)
(0.17, 83, 0.094)
>>> [d.status for d in route([PairSignals("new", {"judge": Judgement("b", 0.9)})], result)]
['accepted']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import beta, hypergeom

from rubrics.outcomes import Outcome
from server.routing.signals import Judgement

DEFAULT_MIN_N = 30
"""Fewest calibration pairs a certified threshold may accept by default."""


@dataclass(frozen=True, slots=True)
class PairSignals:
    """One pair as routing sees it: each judge's judgement, and the human reference if there is one.

    `judgements` is keyed by judge name; a judge missing from it has no verdict on the pair.
    """

    pair: str
    judgements: Mapping[str, Judgement]
    reference: Outcome | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """One judge of a cascade and the name of the signal its judgements carry (e.g. `logprob`)."""

    judge: str
    signal: str


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


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JudgeCalibration(_Frozen):
    """One judge's calibrated threshold (None: nothing certified) and what it rests on."""

    judge: str
    signal: str
    threshold: float | None
    accepted: int = Field(ge=0, description="calibration pairs at or above the threshold")
    risk_upper_bound: float | None = Field(
        description="upper bound at 1−δ on disagreement: Clopper–Pearson on the rate, or on the routed pairs"
    )
    n_calibration: int = Field(ge=0, description="calibration pairs that reached this judge")


class Calibration(_Frozen):
    """A calibration: its id (None until stored), α, δ, the calibration set size, and the cascade."""

    calibration: str | None = None
    alpha: float = Field(gt=0.0, lt=1.0)
    delta: float = Field(gt=0.0, lt=1.0)
    n_calibration: int = Field(ge=0)
    judges: list[JudgeCalibration]
    promise: Literal["population", "routed"] = Field(
        default="population", description="what the bound covers: the judge's rate, or the routed pairs calibrated for"
    )

    @property
    def certified(self) -> bool:
        """Whether any judge of the cascade got a threshold."""
        return any(judge.threshold is not None for judge in self.judges)


class Decision(_Frozen):
    """A routing decision for one pair: accepted (judge, outcome, confidence) or escalated (uncertainty)."""

    pair: str
    status: Literal["accepted", "escalated"]
    judge: str | None = None
    outcome: Outcome | None = None
    confidence: float | None = None
    uncertainty: float | None = Field(
        default=None, description="escalated only: 1 − the highest signal value any judge had (None: no signal)"
    )
    calibration: str | None = None


class RoutingSummary(_Frozen):
    """Counts over a routing: pairs, accepted, escalated, coverage and accepted pairs per judge."""

    pairs: int
    accepted: int
    escalated: int
    coverage: float
    by_judge: dict[str, int]


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
    values = np.asarray(confidences, dtype=float)
    wrong = np.asarray(disagrees, dtype=bool)
    if values.shape != wrong.shape or values.ndim != 1:
        raise ValueError("confidences, disagrees: must be two flat sequences of the same length")
    if not np.all(np.isfinite(values)):
        raise ValueError("confidences: must be finite numbers")
    order = np.argsort(-values, kind="stable")
    values, wrong = values[order], wrong[order]
    # The last index of each run of equal values: accepting at a threshold takes the whole run.
    ends = np.flatnonzero(np.append(values[1:] != values[:-1], True)) if values.size else np.array([], dtype=int)
    accepted = ends + 1
    disagreements = np.cumsum(wrong)[ends] if values.size else np.array([], dtype=int)
    eligible = accepted >= min_n
    if routed is None:
        bounds = risk_upper_bound(disagreements[eligible], accepted[eligible], delta) if eligible.any() else []
    else:
        future = np.sort(np.asarray(routed, dtype=float))
        if not np.all(np.isfinite(future)):
            raise ValueError("routed: must be finite numbers")
        above = future.size - np.searchsorted(future, values[ends[eligible]], side="left")
        bounds = [
            routed_upper_bound(int(k), int(n), int(m), delta)
            for k, n, m in zip(disagreements[eligible], accepted[eligible], above, strict=True)
        ]
    passing = np.asarray(bounds) <= alpha
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
        risk_upper_bound=float(np.asarray(bounds)[passed - 1]),
        n_calibration=int(values.size),
        tested=tested,
    )


def _usable(judgement: Judgement | None) -> bool:
    """Whether a judgement can be accepted at all: it has an outcome and a signal value."""
    return judgement is not None and judgement.outcome is not None and judgement.confidence is not None


def _accepts(judgement: Judgement | None, threshold: float | None) -> bool:
    return threshold is not None and _usable(judgement) and judgement.confidence >= threshold  # type: ignore[union-attr]


def calibrate(
    pairs: Sequence[PairSignals],
    stages: Sequence[Stage],
    *,
    alpha: float,
    delta: float,
    min_n: int = DEFAULT_MIN_N,
    calibration: str | None = None,
    routed: Sequence[PairSignals] | None = None,
) -> Calibration:
    """Calibrate a cascade of judges, cheapest first, on the pairs that have a human reference.

    Each judge is calibrated on the pairs the earlier judges did not accept; pairs on which it has
    no outcome or no signal value count towards its `n_calibration` but can never be accepted by it.
    Pairs without a reference are ignored. With `routed` (the pairs to be routed, their references
    unused) the promise is on those pairs (``promise="routed"``, see the module docstring); each
    judge then sees the routed pairs the earlier judges did not accept.

    >>> pairs = [PairSignals("p1", {"j": Judgement("a", 1.0)}, "a"), PairSignals("p2", {"j": Judgement("b", 0.0)}, "a")]
    >>> [(j.judge, j.threshold) for j in calibrate(pairs, [Stage("j", "agree")], alpha=0.2, delta=0.1).judges]
    [('j', None)]
    """
    check_levels(alpha, delta, min_n)
    if not stages:
        raise ValueError("judges: name at least one judge")
    names = [stage.judge for stage in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"judges: each judge may appear once in a cascade, got {names}")
    remaining = [pair for pair in pairs if pair.reference is not None]
    n_calibration = len(remaining)
    future = None if routed is None else list(routed)
    judges = []
    for stage in stages:
        usable = [
            (pair.judgements[stage.judge], pair.reference)
            for pair in remaining
            if _usable(pair.judgements.get(stage.judge))
        ]
        choice = choose_threshold(
            [judgement.confidence for judgement, _ in usable],
            [judgement.outcome != reference for judgement, reference in usable],
            alpha=alpha,
            delta=delta,
            min_n=min_n,
            routed=None
            if future is None
            else [j.confidence for pair in future if _usable(j := pair.judgements.get(stage.judge))],
        )
        judges.append(
            JudgeCalibration(
                judge=stage.judge,
                signal=stage.signal,
                threshold=choice.threshold,
                accepted=choice.accepted,
                risk_upper_bound=choice.risk_upper_bound,
                n_calibration=len(remaining),
            )
        )
        remaining = [pair for pair in remaining if not _accepts(pair.judgements.get(stage.judge), choice.threshold)]
        if future is not None:
            future = [pair for pair in future if not _accepts(pair.judgements.get(stage.judge), choice.threshold)]
    return Calibration(
        calibration=calibration,
        alpha=alpha,
        delta=delta,
        n_calibration=n_calibration,
        judges=judges,
        promise="population" if routed is None else "routed",
    )


def route(pairs: Sequence[PairSignals], calibration: Calibration) -> list[Decision]:
    """Accept each pair by the first judge of the cascade whose threshold it reaches, else escalate it.

    An escalated pair's uncertainty is 1 − the highest signal value any judge of the cascade had on
    it (None when no judge had one): the review queue serves the most uncertain first.

    >>> result = Calibration(alpha=0.2, delta=0.1, n_calibration=100,
    ...     judges=[JudgeCalibration(judge="j", signal="s", threshold=0.8, accepted=60, risk_upper_bound=0.19,
    ...                              n_calibration=100)])
    >>> [(d.status, d.outcome, d.uncertainty) for d in route([PairSignals("p", {"j": Judgement("a", 0.75)})], result)]
    [('escalated', None, 0.25)]
    """
    decisions = []
    for pair in pairs:
        decision = None
        for judge in calibration.judges:
            judgement = pair.judgements.get(judge.judge)
            if _accepts(judgement, judge.threshold):
                assert judgement is not None
                decision = Decision(
                    pair=pair.pair,
                    status="accepted",
                    judge=judge.judge,
                    outcome=judgement.outcome,
                    confidence=judgement.confidence,
                    calibration=calibration.calibration,
                )
                break
        if decision is None:
            signals = [
                judgement.confidence
                for judge in calibration.judges
                if (judgement := pair.judgements.get(judge.judge)) is not None and judgement.confidence is not None
            ]
            uncertainty = round(1.0 - max(signals), 12) if signals else None
            decision = Decision(
                pair=pair.pair, status="escalated", uncertainty=uncertainty, calibration=calibration.calibration
            )
        decisions.append(decision)
    return decisions


def summarize(decisions: Sequence[Decision]) -> RoutingSummary:
    """Count a routing's decisions.

    >>> summarize([Decision(pair="p", status="accepted", judge="j", outcome="a", confidence=1.0),
    ...            Decision(pair="q", status="escalated")])
    RoutingSummary(pairs=2, accepted=1, escalated=1, coverage=0.5, by_judge={'j': 1})
    """
    by_judge = Counter(decision.judge for decision in decisions if decision.status == "accepted")
    accepted = sum(by_judge.values())
    return RoutingSummary(
        pairs=len(decisions),
        accepted=accepted,
        escalated=len(decisions) - accepted,
        coverage=accepted / len(decisions) if decisions else 0.0,
        by_judge={str(judge): count for judge, count in by_judge.items()},
    )
