"""Audit agreement: does a calibration's promise hold on the accepted pairs reviewers checked afterwards?

An accepted pair that has since gained a human reference (the audit sample of :mod:`server.routing.queue`,
reviewed blind) is *audited*; it disagrees when the accepted judge outcome differs from that reference
(the rule of :func:`server.routing.labelled.human_reference`, with the calibration's choice about
assisted rankings). Per calibration: the audited count, the disagreement rate, and its exact
(Clopper–Pearson) one-sided bounds at level 1−δ each, so [low, high] covers the rate with probability
at least 1−2δ. A calibration is **contradicted** when the lower bound is above α: with probability at
least 1−δ its accepted pairs disagree with reviewers more than it promised.

>>> from server.labels import RankingLabel
>>> pairs = [PairLabels(i, rankings=(RankingLabel("r", "b" if i < 12 else "a"),)) for i in range(20)]
>>> accepted = {i: ("1", "a") for i in range(20)}
>>> [row] = audit_agreement(pairs, accepted, {"1": (0.1, 0.1, False, 400)})
>>> row.audited, row.disagreements, row.contradicted, round(row.disagreement.low, 3)
(20, 12, True, 0.433)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import beta
from sqlalchemy.orm import Session

from rubrics.outcomes import Outcome
from server.labels import PairLabels
from server.routing.labelled import human_reference
from server.routing.store import calibration_records, decisions
from server.routing.threshold import risk_upper_bound


class Rate(BaseModel):
    """A rate and its exact one-sided bounds at 1−δ each."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float
    low: float
    high: float


class AuditAgreement(BaseModel):
    """One calibration's audit: accepted pairs, how many reviewers checked, how many disagreed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    calibration: str
    alpha: float
    delta: float
    accepted: int = Field(description="pairs accepted under this calibration")
    audited: int = Field(description="accepted pairs that have a human reference now")
    disagreements: int
    disagreement: Rate | None = Field(description="disagreement rate among audited pairs; null: none audited")
    contradicted: bool = Field(description="the lower bound is above α: the audit contradicts the calibration")


def lower_bound(disagreements: int, n: int, delta: float) -> float:
    """Exact one-sided (Clopper–Pearson) lower confidence bound at level 1−δ on a binomial rate.

    >>> lower_bound(0, 10, 0.1), round(lower_bound(5, 10, 0.1), 4)
    (0.0, 0.2673)
    """
    return 0.0 if disagreements == 0 else float(beta.ppf(delta, disagreements, n - disagreements + 1))


def audit_agreement(
    pairs: Sequence[PairLabels],
    accepted: Mapping[int, tuple[str, Outcome | None]],
    calibrations: Mapping[str, tuple[float, float, bool, int]],
) -> list[AuditAgreement]:
    """Audit rows per calibration.

    Args:
        pairs: the project's pairs with their labels now.
        accepted: pair id → (calibration, accepted outcome) for the pairs accepted by routing.
        calibrations: calibration → (α, δ, include_assisted, accepted count) for the calibrations routed.
    """
    found: dict[str, list[bool]] = {calibration: [] for calibration in calibrations}
    for pair in pairs:
        if pair.id not in accepted:
            continue
        calibration, outcome = accepted[pair.id]
        reference = human_reference(pair, include_assisted=calibrations[calibration][2])
        if reference is not None:
            found[calibration].append(reference.outcome != outcome)
    rows = []
    for calibration, (alpha, delta, _, count) in calibrations.items():
        wrong, n = sum(found[calibration]), len(found[calibration])
        rate = (
            Rate(value=wrong / n, low=lower_bound(wrong, n, delta), high=float(risk_upper_bound(wrong, n, delta)))
            if n
            else None
        )
        rows.append(
            AuditAgreement(
                calibration=calibration,
                alpha=alpha,
                delta=delta,
                accepted=count,
                audited=n,
                disagreements=wrong,
                disagreement=rate,
                contradicted=rate is not None and rate.low > alpha,
            )
        )
    return rows


def project_audit(session: Session, project_id: int, pairs: Sequence[PairLabels]) -> list[AuditAgreement]:
    """:func:`audit_agreement` for the project's current routing, read from the store."""
    routed = decisions(session, project_id)
    accepted = {pair: (d.calibration, d.outcome) for pair, d in routed.items() if d.status == "accepted"}
    used = {d.calibration for d in routed.values()}
    records = {r.calibration: r for r in calibration_records(session, project_id) if r.calibration in used}
    counts = {c: sum(1 for calibration, _ in accepted.values() if calibration == c) for c in records}
    return audit_agreement(
        pairs, accepted, {c: (r.alpha, r.delta, r.include_assisted, counts[c]) for c, r in records.items()}
    )
