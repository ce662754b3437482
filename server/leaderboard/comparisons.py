"""One labelled comparison of two models, and the counts and win rates read straight off them.

A tie is half a win for each side in every rate here (as AlpacaEval counts it) and is counted as a tie,
never dropped, in the pair table.

>>> found = [Comparison("x", "y", "a"), Comparison("y", "x", "a"), Comparison("x", "y", "tie")]
>>> [(p.a, p.b, p.win, p.lose, p.tie) for p in pair_counts(found)]
[('x', 'y', 1, 1, 1)]
>>> win_rate(found, "x"), win_rate(found, "x", baseline="y")
(0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rubrics.outcomes import Outcome

SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5}
"""What an outcome is worth to the model of side a (a tie: half a win)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """A pair's label as a comparison of the models that wrote its two responses (lengths in characters)."""

    model_a: str
    model_b: str
    outcome: Outcome
    length_a: int = 0
    length_b: int = 0

    def seen_from(self, model: str) -> tuple[str, float, int]:
        """(opponent, score for `model`, its length minus the opponent's), with `model` on either side."""
        if model == self.model_a:
            return self.model_b, SCORE[self.outcome], self.length_a - self.length_b
        return self.model_a, 1.0 - SCORE[self.outcome], self.length_b - self.length_a


@dataclass(frozen=True, slots=True)
class PairCount:
    """How often model `a` beat, lost to and tied with model `b`."""

    a: str
    b: str
    win: int
    lose: int
    tie: int


def models_of(comparisons: Iterable[Comparison]) -> list[str]:
    """Every model in the comparisons, sorted by name."""
    return sorted({name for c in comparisons for name in (c.model_a, c.model_b)})


def involving(comparisons: Iterable[Comparison], model: str, baseline: str | None = None) -> list[Comparison]:
    """The comparisons of `model` (against `baseline` only, when given)."""
    return [
        c
        for c in comparisons
        if model in (c.model_a, c.model_b) and (baseline is None or baseline in (c.model_a, c.model_b))
    ]


def pair_counts(comparisons: Sequence[Comparison], order: Sequence[str] | None = None) -> list[PairCount]:
    """(win, lose, tie) for every pair of models that met, `win` counted for `a`, `a` first in `order`."""
    rank = {name: i for i, name in enumerate(order or models_of(comparisons))}
    counts: dict[tuple[str, str], list[int]] = {}
    for c in comparisons:
        a, b, outcome = c.model_a, c.model_b, c.outcome
        if rank[a] > rank[b]:
            a, b, outcome = b, a, {"a": "b", "b": "a", "tie": "tie"}[outcome]
        cell = counts.setdefault((a, b), [0, 0, 0])
        cell[("a", "b", "tie").index(outcome)] += 1
    ordered = sorted(counts.items(), key=lambda item: (rank[item[0][0]], rank[item[0][1]]))
    return [PairCount(a, b, *cell) for (a, b), cell in ordered]


def win_rate(comparisons: Sequence[Comparison], model: str, baseline: str | None = None) -> float | None:
    """The share of `model`'s comparisons it won (a tie half), against `baseline` or everyone; None when none."""
    if model == baseline:
        return None
    scores = [c.seen_from(model)[1] for c in involving(comparisons, model, baseline)]
    return sum(scores) / len(scores) if scores else None
