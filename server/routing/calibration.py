"""Certified routing: calibrate a confidence threshold per judge, then accept or escalate each pair.

The guarantee ("Trust or Escalate", Jung et al., ICLR 2025): with probability at least 1−δ over the
calibration pairs, a judge agrees with the human reference on at least 1−α of the pairs it accepts.

One judge's threshold is chosen by fixed-sequence testing (:func:`server.routing.threshold.choose_threshold`,
whose module says how, and what each of the two promises bounds).

A cascade (:func:`calibrate`) takes judges cheapest first: each judge is calibrated on the
calibration pairs the judges before it did not accept. Each judge's guarantee holds at 1−δ; all of
them at once (and so the cascade's accepted pairs as a whole) at 1−kδ for k judges, by the union
bound: pass ``delta / k`` for a joint 1−δ. :func:`route` maps pairs without a human reference to
accepted (judge, outcome, confidence) or escalated (with its uncertainty).

Two promises: by default (``promise="population"``) the bound is on each judge's disagreement rate above
its threshold; given the pairs to be routed, ``promise="routed"`` bounds the disagreement among those
routed pairs that get accepted (the promise a split study measures).

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

from pydantic import BaseModel, ConfigDict, Field

from rubrics.outcomes import Outcome
from server.routing.signals import Judgement
from server.routing.threshold import (
    DEFAULT_MIN_N,
    check_levels,
    choose_threshold,
)


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
    _check_cascade(stages)
    remaining = [pair for pair in pairs if pair.reference is not None]
    n_calibration = len(remaining)
    future = None if routed is None else list(routed)
    judges = []
    for stage in stages:
        judge = _calibrate_stage(stage, remaining, future, alpha=alpha, delta=delta, min_n=min_n)
        judges.append(judge)
        remaining = [pair for pair in remaining if not _accepts(pair.judgements.get(stage.judge), judge.threshold)]
        if future is not None:
            future = [pair for pair in future if not _accepts(pair.judgements.get(stage.judge), judge.threshold)]
    return Calibration(
        calibration=calibration,
        alpha=alpha,
        delta=delta,
        n_calibration=n_calibration,
        judges=judges,
        promise="population" if routed is None else "routed",
    )


def _check_cascade(stages: Sequence[Stage]) -> None:
    """Raise a ValueError unless the cascade names at least one judge, each once."""
    if not stages:
        raise ValueError("judges: name at least one judge")
    names = [stage.judge for stage in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"judges: each judge may appear once in a cascade, got {names}")


def _calibrate_stage(
    stage: Stage,
    remaining: Sequence[PairSignals],
    future: Sequence[PairSignals] | None,
    *,
    alpha: float,
    delta: float,
    min_n: int,
) -> JudgeCalibration:
    """One judge of the cascade, on the calibration (and routed) pairs the judges before it left."""
    usable = [
        (pair.judgements[stage.judge], pair.reference)
        for pair in remaining
        if _usable(pair.judgements.get(stage.judge))
    ]
    routed = None
    if future is not None:
        routed = [j.confidence for pair in future if _usable(j := pair.judgements.get(stage.judge))]
    choice = choose_threshold(
        [judgement.confidence for judgement, _ in usable],
        [judgement.outcome != reference for judgement, reference in usable],
        alpha=alpha,
        delta=delta,
        min_n=min_n,
        routed=routed,  # type: ignore[arg-type]
    )
    return JudgeCalibration(
        judge=stage.judge,
        signal=stage.signal,
        threshold=choice.threshold,
        accepted=choice.accepted,
        risk_upper_bound=choice.risk_upper_bound,
        n_calibration=len(remaining),
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
