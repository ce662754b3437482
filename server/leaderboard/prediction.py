"""Prediction-powered win rates: the judge's labels on every pair, corrected by the human-labelled ones.

With a calibration from certified routing, the pairs of a model split into those with a human reference
(the calibration's rule: adjudication, else gold, else strict majority) and those without. The win score
of the model on a pair (1 won, ½ tie, 0 lost) is a mean, so PPI++ (`ppi_py.ppi_mean_ci`, its λ tuned
from the data) gives its interval from the judge's scores on all pairs and the human scores on the
labelled ones, valid whatever the judge's errors — provided the labelled pairs are a random sample of
the model's pairs. A pair the judge gave no outcome scores ½ (a constant predictor keeps PPI valid).

>>> items = [Labelled("x", "y", "a", "a"), Labelled("x", "y", "b", "a"), Labelled("x", "y", "a", "a")]
>>> items += [Labelled("x", "y", None, "a")] * 3
>>> rate = ppi_win_rate(items, "x", delta=0.1)
>>> rate.n_human, rate.n_unlabelled, round(rate.human.estimate, 3)
(3, 3, 0.667)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from rubrics.outcomes import Outcome
from server.leaderboard.comparisons import SCORE


@dataclass(frozen=True, slots=True)
class Labelled:
    """A pair of two models with its human reference (None: not labelled) and the judge's outcome."""

    model_a: str
    model_b: str
    human: Outcome | None
    judge: Outcome | None


class Interval(BaseModel):
    """A point estimate and its two-sided interval at level 1−δ."""

    model_config = ConfigDict(frozen=True)
    estimate: float
    low: float
    high: float


class PpiWinRate(BaseModel):
    """A model's win rate by PPI++ beside the human-only one, and how many pairs each side had."""

    model_config = ConfigDict(frozen=True)
    ppi: Interval
    human: Interval
    judge: float
    n_human: int
    n_unlabelled: int


def _score(outcome: Outcome | None, model_is_a: bool) -> float:
    if outcome is None:
        return 0.5
    return SCORE[outcome] if model_is_a else 1.0 - SCORE[outcome]


def ppi_win_rate(
    items: Sequence[Labelled], model: str, baseline: str | None = None, *, delta: float = 0.1
) -> PpiWinRate | None:
    """The model's PPI++ win rate (against `baseline`, else all); None with fewer than 2 human labels."""
    mine = [
        i
        for i in items
        if model in (i.model_a, i.model_b)
        and model != baseline
        and (baseline in (i.model_a, i.model_b) or not baseline)
    ]
    labelled = [i for i in mine if i.human is not None]
    if len(labelled) < 2:
        return None
    y = np.array([_score(i.human, i.model_a == model) for i in labelled])
    y_hat = np.array([_score(i.judge, i.model_a == model) for i in labelled])
    unlabelled = np.array([_score(i.judge, i.model_a == model) for i in mine if i.human is None])
    with warnings.catch_warnings():  # ppi_py turns warnings off when imported; keep that inside here
        from ppi_py import classical_mean_ci, ppi_mean_ci, ppi_mean_pointestimate

        low, high = classical_mean_ci(y, alpha=delta)
        human = Interval(estimate=float(y.mean()), low=float(low), high=float(high))
        ppi = human
        if len(unlabelled):
            constant = np.ptp(np.concatenate([y_hat, unlabelled])) == 0
            lam = 0.0 if constant else None
            with np.errstate(divide="ignore", invalid="ignore"):
                low, high = ppi_mean_ci(y, y_hat, unlabelled, alpha=delta, lam=lam)
                point = ppi_mean_pointestimate(y, y_hat, unlabelled, lam=lam)
            ppi = Interval(
                estimate=float(np.ravel(point)[0]), low=float(np.ravel(low)[0]), high=float(np.ravel(high)[0])
            )
    judged = np.concatenate([y_hat, unlabelled])
    return PpiWinRate(ppi=ppi, human=human, judge=float(judged.mean()), n_human=len(y), n_unlabelled=len(unlabelled))
