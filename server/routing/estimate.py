"""Outcome shares that use both: judge labels on every pair, corrected by the human-labelled ones (PPI++).

For each outcome (`a`, `b`, `tie`) the share of pairs with that outcome is a mean of one-hot labels.
Three figures stand side by side:

- human-only: the classical (CLT) interval from the human-labelled pairs alone;
- PPI++: ``ppi_py.ppi_mean_ci`` with its power-tuning parameter λ estimated from the data (λ = 0 is
  the human-only estimate, λ = 1 plain PPI), on the judge's labels of the unlabelled pairs plus the
  human and judge labels of the labelled ones;
- judge-only: the share among the judge's labels of all pairs (no interval: its bias is unknown).

The effective number of human labels the judge was worth is n_human × (width_human / width_PPI)²: how
many human labels a human-only interval would need to be as narrow (widths scale as 1/√n). A judge
with no outcome on a pair predicts 0 for every outcome there; PPI stays valid, it only gains less.

>>> human = ["a", "b", "a", "tie", "b", "a", "b", "b"]
>>> judge_on_labelled = ["a", "b", "a", "b", "b", "a", "b", "a"]
>>> shares = outcome_shares(human, judge_on_labelled, ["a", "b"] * 50, delta=0.1)
>>> [(s.outcome, round(s.human.estimate, 3), round(s.judge, 3)) for s in shares.shares]
[('a', 0.375, 0.5), ('b', 0.5, 0.5), ('tie', 0.125, 0.0)]
>>> [round(s.effective_human_labels, 1) for s in shares.shares]
[18.0, 10.4, 8.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rubrics.outcomes import OUTCOMES, Outcome


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Frozen):
    """A point estimate and its two-sided interval at level 1−δ."""

    estimate: float
    low: float
    high: float

    @property
    def width(self) -> float:
        """The interval's width."""
        return self.high - self.low


class OutcomeShare(_Frozen):
    """One outcome's share: PPI++ and human-only intervals, the judge-only figure, and what the judge was worth."""

    outcome: Outcome
    ppi: Interval
    human: Interval
    judge: float = Field(description="share among the judge's labels of all pairs")
    effective_human_labels: float = Field(description="n_human × (width_human / width_ppi)²")


class OutcomeShares(_Frozen):
    """The share of each outcome, estimated three ways, at level 1−δ."""

    delta: float
    n_human: int
    n_unlabelled: int
    shares: list[OutcomeShare]

    @property
    def effective_human_labels(self) -> float:
        """The effective number of human labels averaged over the outcomes."""
        return float(np.mean([share.effective_human_labels for share in self.shares]))


def one_hot(labels: Sequence[Outcome | None]) -> np.ndarray:
    """Labels as a (n, 3) matrix over (a, b, tie); a missing label is a row of zeros.

    >>> one_hot(["a", "tie", None]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    unknown = {label for label in labels if label is not None and label not in OUTCOMES}
    if unknown:
        raise ValueError(f"labels: unknown outcome(s) {sorted(unknown)}, expected {list(OUTCOMES)}")
    return np.array([[float(label == outcome) for outcome in OUTCOMES] for label in labels]).reshape(-1, 3)


def _ppi_interval(
    labelled: np.ndarray, predicted: np.ndarray, unlabelled: np.ndarray, delta: float, ppi_mean_ci: Any
) -> tuple[float, float]:
    """PPI++ with λ tuned; λ = 0 (the human-only estimate) when the judge never varies and λ is 0/0."""
    constant = np.ptp(np.concatenate([predicted, unlabelled])) == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = ppi_mean_ci(labelled, predicted, unlabelled, alpha=delta, lam=0.0 if constant else None)
        if not np.all(np.isfinite([low, high])):
            low, high = ppi_mean_ci(labelled, predicted, unlabelled, alpha=delta, lam=0.0)
    return float(np.ravel(low)[0]), float(np.ravel(high)[0])


def outcome_shares(
    human: Sequence[Outcome],
    judge_on_labelled: Sequence[Outcome | None],
    judge_on_unlabelled: Sequence[Outcome | None],
    *,
    delta: float = 0.1,
) -> OutcomeShares:
    """Estimate the share of a / b / tie outcomes with PPI++ beside human-only and judge-only figures.

    Args:
        human: the human reference of each labelled pair.
        judge_on_labelled: the judge's outcome on the same pairs, in the same order (None: no verdict).
        judge_on_unlabelled: the judge's outcome on every pair without a human reference.
        delta: the intervals' error level (two-sided coverage 1−δ).

    Returns:
        One :class:`OutcomeShare` per outcome, in the order a, b, tie.
    """
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta: must be strictly between 0 and 1, got {delta!r}")
    if len(human) != len(judge_on_labelled):
        raise ValueError(
            f"judge_on_labelled: has {len(judge_on_labelled)} labels for {len(human)} human-labelled pairs"
        )
    if any(label is None for label in human):
        raise ValueError("human: every labelled pair needs a reference outcome")
    if len(human) < 2:
        raise ValueError(f"human: needs at least 2 labelled pairs for an interval, got {len(human)}")
    with warnings.catch_warnings():  # ppi_py turns every warning off when imported; keep that inside here
        from ppi_py import classical_mean_ci, ppi_mean_ci

        y, y_hat, y_hat_unlabelled = one_hot(human), one_hot(judge_on_labelled), one_hot(judge_on_unlabelled)
        judge_all = np.vstack([y_hat, y_hat_unlabelled])
        shares = []
        for column, outcome in enumerate(OUTCOMES):
            labelled, predicted = y[:, column], y_hat[:, column]
            human_low, human_high = classical_mean_ci(labelled, alpha=delta)
            human_interval = Interval(estimate=float(labelled.mean()), low=float(human_low), high=float(human_high))
            if y_hat_unlabelled.shape[0] == 0:
                ppi_interval = human_interval
            else:
                low, high = _ppi_interval(labelled, predicted, y_hat_unlabelled[:, column], delta, ppi_mean_ci)
                ppi_interval = Interval(estimate=(low + high) / 2, low=low, high=high)
            effective = (
                len(human) * (human_interval.width / ppi_interval.width) ** 2
                if ppi_interval.width > 0
                else float("inf")
            )
            shares.append(
                OutcomeShare(
                    outcome=outcome,
                    ppi=ppi_interval,
                    human=human_interval,
                    judge=float(judge_all[:, column].mean()),
                    effective_human_labels=float(effective),
                )
            )
    return OutcomeShares(delta=delta, n_human=len(human), n_unlabelled=len(judge_on_unlabelled), shares=shares)
