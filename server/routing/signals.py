"""Confidence signals: what ranks a judge's verdicts from most to least trustworthy.

Every function here turns verdict-like records into a :class:`Judgement`: the outcome the judge
would give the pair (in the canonical a/b order) and a signal value in [0, 1], higher meaning more
trustworthy. Calibration only uses the signal's *order*: a threshold is one of its values, and every
pair at or above it is accepted together, so a signal with few distinct values (an agreement flag)
works as well as a continuous probability.

- :func:`logprob_confidence`: the judge's probability of its choice, from token logprobs, combined
  across both presentation orders by averaging the two orders' preference probabilities (SCOPE).
- :func:`order_agreement`: whether the two presentation orders agree.
- :func:`panel_agreement`: how many judges of a panel give the majority outcome (both agree, for two).
- :func:`agreement_with_others`: whether one judge agrees with the other judges of its panel.
- :func:`preference_agreement`: the same, graded on the scale a < tie < b (a tie half-agrees).
- :func:`agreement_ladder`: a panel ranked decisive agreement > agreed tie > tie vs a side > contradiction.
- :func:`stated_confidence`: the judge's own stated confidence, mapped from its scale onto [0, 1].

>>> logprob_confidence(OrderProbabilities(a=0.9, b=0.1), OrderProbabilities(a=0.7, b=0.2, tie=0.1))
Judgement(outcome='a', confidence=0.8)
>>> panel_agreement({"gpt-3.5-turbo": "b", "pandalm-7b": "b"})
Judgement(outcome='b', confidence=1.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rubrics.outcomes import OUTCOMES, Outcome, combine_orders


class Judgement(NamedTuple):
    """A judge's outcome for a pair and the signal value that ranks it (None: no usable verdict)."""

    outcome: Outcome | None
    confidence: float | None


class OrderProbabilities(BaseModel):
    """One presentation order's probabilities of `a`, `b` and `tie`, already in canonical a/b terms.

    Mass on other tokens is allowed (the three need not sum to 1); :meth:`normalized` rescales them.

    >>> OrderProbabilities(a=0.5, b=0.25).normalized()
    {'a': 0.666..., 'b': 0.333..., 'tie': 0.0}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    a: float = Field(ge=0.0, le=1.0)
    b: float = Field(ge=0.0, le=1.0)
    tie: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _some_mass(self) -> OrderProbabilities:
        if self.a + self.b + self.tie <= 0.0:
            raise ValueError("a, b, tie: all three are 0, there is no preference to read")
        if self.a + self.b + self.tie > 1.0 + 1e-6:
            raise ValueError(f"a, b, tie: sum to {self.a + self.b + self.tie:.6g}, more than 1")
        return self

    @classmethod
    def from_logprobs(cls, logprobs: Mapping[str, float]) -> OrderProbabilities:
        """Build from natural-log probabilities keyed `a` / `b` / `tie` (a missing key has probability 0).

        >>> OrderProbabilities.from_logprobs({"a": math.log(0.5), "b": math.log(0.25)})
        OrderProbabilities(a=0.5, b=0.25, tie=0.0)
        """
        unknown = set(logprobs) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"logprobs: unknown outcome(s) {sorted(unknown)}, expected a subset of {list(OUTCOMES)}")
        return cls(**{key: math.exp(value) for key, value in logprobs.items()})

    def normalized(self) -> dict[Outcome, float]:
        """The three probabilities rescaled to sum to 1."""
        total = self.a + self.b + self.tie
        return {"a": self.a / total, "b": self.b / total, "tie": self.tie / total}


def average_preference(ab: OrderProbabilities | None, ba: OrderProbabilities | None) -> dict[Outcome, float] | None:
    """Average the two orders' normalized preference probabilities (one order alone stands for both).

    >>> average_preference(OrderProbabilities(a=0.9, b=0.1), OrderProbabilities(a=0.5, b=0.5))
    {'a': 0.7, 'b': 0.3, 'tie': 0.0}
    >>> average_preference(None, None) is None
    True
    """
    present = [order.normalized() for order in (ab, ba) if order is not None]
    if not present:
        return None
    return {outcome: sum(p[outcome] for p in present) / len(present) for outcome in OUTCOMES}


def logprob_confidence(ab: OrderProbabilities | None, ba: OrderProbabilities | None) -> Judgement:
    """The outcome with the highest averaged preference probability, and that probability.

    Both orders must be in canonical a/b terms (flip the swapped order's `a` and `b` first). A tie
    between outcomes is broken in the order a, b, tie.

    >>> logprob_confidence(OrderProbabilities(a=0.2, b=0.8), None)
    Judgement(outcome='b', confidence=0.8)
    >>> logprob_confidence(None, None)
    Judgement(outcome=None, confidence=None)
    """
    averaged = average_preference(ab, ba)
    if averaged is None:
        return Judgement(None, None)
    outcome = max(OUTCOMES, key=lambda o: averaged[o])
    return Judgement(outcome, round(averaged[outcome], 12))


def order_agreement(ab: Outcome | None, ba: Outcome | None) -> Judgement:
    """Agreement across presentation orders: 1.0 both agree, 0.5 one order only, 0.0 they disagree.

    Both outcomes must be canonical. The outcome is :func:`rubrics.outcomes.combine_orders`' (a
    disagreement is a tie). Knowing the orders disagree ranks below not knowing.

    >>> [order_agreement("a", "a"), order_agreement("a", None), order_agreement("a", "b")]
    [Judgement(outcome='a', confidence=1.0), Judgement(outcome='a', confidence=0.5),
     Judgement(outcome='tie', confidence=0.0)]
    """
    combined = combine_orders(ab, ba)
    if combined.outcome is None:
        return Judgement(None, None)
    value = 0.5 if combined.consistent is None else 1.0 if combined.consistent else 0.0
    return Judgement(combined.outcome, value)


def panel_agreement(outcomes: Mapping[str, Outcome | None]) -> Judgement:
    """The outcome more than half of the panel's judges gave, and the largest share any outcome got.

    A judge without a verdict (None) counts as a vote for nothing: two judges agree only when both
    gave the same outcome. Without a strict majority the outcome is None (the panel is never
    accepted) and the value is still the largest share reached.

    >>> panel_agreement({"x": "a", "y": "a", "z": "tie"})
    Judgement(outcome='a', confidence=0.666666666667)
    >>> panel_agreement({"x": "a", "y": "b"}), panel_agreement({"x": "a", "y": None})
    (Judgement(outcome=None, confidence=0.5), Judgement(outcome=None, confidence=0.5))
    """
    votes = [outcome for outcome in outcomes.values() if outcome is not None]
    if not votes:
        return Judgement(None, None)
    counts = {outcome: votes.count(outcome) for outcome in OUTCOMES}
    top = max(OUTCOMES, key=lambda outcome: counts[outcome])
    majority = top if 2 * counts[top] > len(outcomes) else None
    return Judgement(majority, round(counts[top] / len(outcomes), 12))


def agreement_with_others(judge: str, outcomes: Mapping[str, Outcome | None]) -> Judgement:
    """One judge's outcome and the share of the panel's other judges (with a verdict) who agree with it.

    >>> agreement_with_others("x", {"x": "a", "y": "a", "z": "b"})
    Judgement(outcome='a', confidence=0.5)
    >>> agreement_with_others("x", {"x": "a", "y": None})
    Judgement(outcome='a', confidence=None)
    """
    if judge not in outcomes:
        raise ValueError(f"judge: {judge!r} is not in the panel {sorted(outcomes)}")
    own = outcomes[judge]
    others = [outcome for name, outcome in outcomes.items() if name != judge and outcome is not None]
    if own is None:
        return Judgement(None, None)
    if not others:
        return Judgement(own, None)
    return Judgement(own, round(sum(outcome == own for outcome in others) / len(others), 12))


SCALE: dict[Outcome, int] = {"a": -1, "tie": 0, "b": 1}
"""Outcomes on the preference scale: a tie lies half-way between `a` and `b`."""


def preference_agreement(judge: str, outcomes: Mapping[str, Outcome | None]) -> Judgement:
    """One judge's outcome and its graded agreement with the panel's other judges (with a verdict).

    On the preference scale a < tie < b, each other judge agrees fully (same outcome, 1.0), half
    (one of the two said tie, 0.5) or not at all (a against b, 0.0); the value is the mean.

    >>> [preference_agreement("x", {"x": "a", "y": y}).confidence for y in ("a", "tie", "b")]
    [1.0, 0.5, 0.0]
    """
    if judge not in outcomes:
        raise ValueError(f"judge: {judge!r} is not in the panel {sorted(outcomes)}")
    own = outcomes[judge]
    others = [outcome for name, outcome in outcomes.items() if name != judge and outcome is not None]
    if own is None:
        return Judgement(None, None)
    if not others:
        return Judgement(own, None)
    distance = sum(abs(SCALE[own] - SCALE[outcome]) for outcome in others) / (2 * len(others))
    return Judgement(own, round(1.0 - distance, 12))


LADDER = {"decisive": 1.0, "tie": 0.75, "partial": 0.5, "contradiction": 0.25, "alone": 0.0}
"""The levels of :func:`agreement_ladder`, fixed before any label is seen."""


def agreement_ladder(outcomes: Mapping[str, Outcome | None], priority: Sequence[str]) -> Judgement:
    """Rank a panel's verdicts by how decisively they agree; the outcome is the panel's best guess.

    From the top: every judge picks the same side (1.0); every judge says tie (0.75, a hedged
    statement agreed on); the judges that pick a side pick the same one and the others say tie (0.5,
    that side); some pick `a` and some `b` (0.25, the outcome of the first judge in `priority`); fewer
    than two verdicts (0.0, the one there is).

    >>> panel = ["gpt", "pandalm"]
    >>> [agreement_ladder({"gpt": x, "pandalm": y}, panel).confidence for x, y in ("aa", ("tie", "b"), "ab")]
    [1.0, 0.5, 0.25]
    >>> agreement_ladder({"gpt": "a", "pandalm": "b"}, panel)
    Judgement(outcome='a', confidence=0.25)
    """
    unknown = set(priority) - set(outcomes)
    if unknown or not priority:
        raise ValueError(f"priority: must name judges of the panel {sorted(outcomes)}, got {list(priority)}")
    votes = [outcome for outcome in outcomes.values() if outcome is not None]
    first = next((outcomes[judge] for judge in priority if outcomes[judge] is not None), None)
    if not votes:
        return Judgement(None, None)
    if len(votes) < 2 or len(votes) < len(outcomes):
        return Judgement(first if first is not None else votes[0], LADDER["alone"])
    sides = {outcome for outcome in votes if outcome != "tie"}
    if not sides:
        return Judgement("tie", LADDER["tie"])
    if len(sides) == 2:
        return Judgement(first, LADDER["contradiction"])
    (side,) = sides
    return Judgement(side, LADDER["decisive"] if "tie" not in votes else LADDER["partial"])


def stated_confidence(
    outcome: Outcome | None, value: float | None, *, low: float = 0.0, high: float = 1.0
) -> Judgement:
    """A judge's stated confidence on the scale [low, high], mapped linearly onto [0, 1].

    >>> stated_confidence("b", 8, low=1, high=10)
    Judgement(outcome='b', confidence=0.777777777778)
    """
    if not high > low:
        raise ValueError(f"high: must be above low ({low}), got {high}")
    if value is None or outcome is None:
        return Judgement(outcome, None)
    if not low <= value <= high:
        raise ValueError(f"value: stated confidence {value} is outside its scale [{low}, {high}]")
    return Judgement(outcome, round((value - low) / (high - low), 12))
