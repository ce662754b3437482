"""The review queue of a routed project: escalated pairs first, most uncertain first; accepted pairs only
as an audit sample.

Once a project has been routed (:func:`server.routing.service.route_project`), reviewers are served, of
the non-gold pairs they have not been given that still need reviewers (fewer than `overlap`
assignments not skipped):

1. **escalated** pairs, the most uncertain first (uncertainty 1 − the highest signal any judge had;
   a pair no judge had a signal on counts as the most uncertain), then the pairs closest to their
   overlap, then by id;
2. **audit** pairs: accepted pairs in the project's audit sample (:func:`audit_sampled`, the review
   setting `audit_rate`, default 5 %), so that agreement with the accepted judge labels keeps being
   measured (the agreement report's audit section);
3. pairs without a decision (they had a human reference when routed, or came later).

Accepted pairs outside the audit sample are never served: the certified judge label stands for them.

>>> audit_sampled(12, 1.0), audit_sampled(12, 0.0)
(True, False)
>>> round(sum(audit_sampled(pair, 0.05) for pair in range(10_000)) / 10_000, 2)
0.05
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import case, false, func, or_, select
from sqlalchemy.orm import Session

from server.storage import records
from server.storage.repository import digest
from server.storage.tables import Assignment, Pair, RoutingDecision

Reason = Literal["escalated", "audit"]


def audit_sampled(pair_id: int, rate: float) -> bool:
    """Whether an accepted pair is in the audit sample at `rate`: a fixed draw per pair (sha256 of its id)."""
    return int(digest(["audit", pair_id])[:12], 16) / 16**12 < rate


def audit_pairs(session: Session, project_id: int, rate: float) -> list[int]:
    """The accepted pairs of the project in the audit sample."""
    accepted = session.scalars(
        select(RoutingDecision.pair_id).where(
            RoutingDecision.project_id == project_id, RoutingDecision.status == "accepted"
        )
    )
    return [pair_id for pair_id in accepted if audit_sampled(pair_id, rate)]


def next_routed_pair(
    session: Session, project_id: int, annotator_id: int, overlap: int, audit_rate: float
) -> records.Pair | None:
    """The next pair for this reviewer in a routed project (see the module docstring for the order), as a frozen
    record like the repository's reads."""
    taken = (
        select(Assignment.pair_id, func.count().label("n"))
        .where(Assignment.project_id == project_id, Assignment.status != "skipped")
        .group_by(Assignment.pair_id)
        .subquery()
    )
    mine = select(Assignment.pair_id).where(Assignment.annotator_id == annotator_id)
    count = func.coalesce(taken.c.n, 0)
    audited = audit_pairs(session, project_id, audit_rate)
    tier = case(
        (RoutingDecision.status == "escalated", 0),
        (RoutingDecision.status == "accepted", 1),
        else_=2,
    )
    query = (
        select(Pair)
        .outerjoin(taken, taken.c.pair_id == Pair.id)
        .outerjoin(RoutingDecision, RoutingDecision.pair_id == Pair.id)
        .where(Pair.project_id == project_id, Pair.is_gold.is_(False), Pair.id.not_in(mine), count < overlap)
        .where(
            or_(
                RoutingDecision.id.is_(None),
                RoutingDecision.status == "escalated",
                Pair.id.in_(audited) if audited else false(),
            )
        )
        .order_by(tier, func.coalesce(RoutingDecision.uncertainty, 2.0).desc(), count.desc(), Pair.id)
        .limit(1)
    )
    return records.Pair.of_optional(session.scalar(query))


def reason(session: Session, pair_id: int) -> Reason | None:
    """Why a pair is in a reviewer's queue under routing: escalated, audit, or None (not routed)."""
    status = session.scalar(select(RoutingDecision.status).where(RoutingDecision.pair_id == pair_id))
    if status == "escalated":
        return "escalated"
    if status == "accepted":
        return "audit"
    return None
