"""Human review: per-reviewer queues with overlap k, blind/assisted modes, gold items, rankings.

Policy lives here; queries live in the repository. The server draws each assignment's mode (at the
project's blind fraction) and left/right order and records both; reviewers cannot change them.
Submissions speak about the responses as shown (A = left, B = right); rankings are stored in the
pair's canonical order.

>>> ReviewSettings().model_dump()
{'overlap': 3, 'blind_fraction': 0.5, 'gold_rate': 0.1, 'rubric': None, 'audit_rate': 0.05}
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from rubrics.outcomes import Order, Outcome, strict_majority, to_canonical
from rubrics.versions import RubricRef
from server.labels import (
    PairLabels,
    RubricVersionRef,
    counted_versions,
    judgements,
    pair_labels,
    project_versions,
    rationale,
    shown_judgement,
    view_refs,
)
from server.routing.queue import next_routed_pair, reason
from server.rubric_registry import resolve
from server.storage import Conflict, Repository, Store
from server.storage.records import Assignment, Ranking
from server.storage.repos.annotators import Person
from server.storage.repos.projects import Access
from server.storage.repository import PairView

SkipReason = Literal["unclear_guideline", "ambiguous_item", "broken_item", "other"]


class ReviewSettings(BaseModel):
    """A project's review policy (stored in its settings)."""

    model_config = ConfigDict(extra="forbid")
    overlap: int = Field(default=3, ge=1, le=50, description="Distinct reviewers per pair.")
    blind_fraction: float = Field(default=0.5, ge=0, le=1, description="Share of assignments in blind mode.")
    gold_rate: float = Field(default=0.1, ge=0, le=1, description="Share of assignments drawn from gold pairs.")
    rubric: RubricRef | None = Field(
        default=None,
        description="NAME[@VERSION] reviewers rank under: its guidelines and criteria are shown and every ranking "
        "references that exact version (a bare NAME is pinned to the newest version when saved).",
    )
    audit_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Once the project is routed: share of pairs with an accepted judge label that still go to "
        "reviewers, to audit the certified judges (a fixed draw per pair).",
    )


class RankingSubmission(BaseModel):
    """A reviewer's answer, about the responses as shown (A left, B right)."""

    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    strength: int | None = Field(default=None, ge=-3, le=3, description="Graded preference; <0 favours A.")
    criteria: dict[str, Outcome] = Field(default_factory=dict)
    rationale: str | None = Field(default=None, max_length=5000)
    confidence: int | None = Field(default=None, ge=1, le=5)
    seconds: float | None = Field(default=None, ge=0, le=86_400, description="Time on item, measured by the client.")


class SkipSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: SkipReason
    note: str | None = Field(default=None, max_length=2000)


def review_settings(raw: dict[str, Any]) -> ReviewSettings:
    return ReviewSettings.model_validate(raw.get("review", {}))


def _order(assignment: Assignment) -> Order:
    return "ba" if assignment.swapped else "ab"


Authorize = Callable[[Person, Access], object]
"""An access check run inside a review write, on the caller and their :class:`Access` to the project; it raises
to refuse."""

Caller = Person | Callable[[Repository], Person]
"""Who answers: a person, or how to sign them in inside the write (:meth:`server.api.deps.SignIn.person`)."""


def signed_in(repo: Repository, caller: Caller) -> Person:
    """The caller as a person, named as the transaction's actor."""
    person = caller if isinstance(caller, Person) else caller(repo)
    repo.act_as(person)
    return person


def next_assignment(
    store: Store,
    project_id: int,
    annotator: Person,
    rng: random.Random | None = None,
    *,
    authorize: Authorize | None = None,
) -> Assignment | None:
    """:func:`assign_next` in a write transaction of its own."""
    with store.write() as session:
        return assign_next(Repository(session, annotator), project_id, annotator, rng, authorize=authorize)


def assign_next(
    repo: Repository,
    project_id: int,
    annotator: Person,
    rng: random.Random | None = None,
    *,
    authorize: Authorize | None = None,
) -> Assignment | None:
    """The reviewer's pending assignment, or a new one; None when nothing is left for them. `repo` is in a
    write transaction (the caller's, so the turn's sign-in and its answer's reads share it).

    Safe under concurrent reviewers: the project row is locked (PostgreSQL) or the write transaction is
    IMMEDIATE (SQLite), and (pair, annotator) is unique in the schema. `authorize` runs on the access read
    with the lock, so the check costs no statement of its own.
    """
    rng = rng or random.SystemRandom()
    session = repo.session
    access = repo.project_access(project_id, annotator.id, lock=True)
    if authorize:
        authorize(annotator, access)
    pending = repo.pending_assignment(project_id, annotator.id)
    if pending:
        return pending
    policy = review_settings(access.project.settings)
    pair = None
    if policy.gold_rate and rng.random() < policy.gold_rate:
        pair = repo.next_open_pair(project_id, annotator.id, policy.overlap, gold=True)
    routed = access.routed
    if routed:  # certified routing: escalated first, accepted only as an audit sample
        pair = pair or next_routed_pair(session, project_id, annotator.id, policy.overlap, policy.audit_rate)
    else:
        pair = pair or repo.next_open_pair(project_id, annotator.id, policy.overlap, gold=False)
    if pair is None:
        return None
    audit = routed and reason(session, pair.id) == "audit"  # blind: shown the judge, a reviewer anchors on it
    return repo.add_assignment(
        project_id=project_id,
        pair_id=pair.id,
        annotator_id=annotator.id,
        mode="blind" if rng.random() < policy.blind_fraction or audit else "assisted",
        swapped=rng.random() < 0.5,
        is_gold=pair.is_gold,
        rubric_version_id=resolve(repo, policy.rubric)[0].id if policy.rubric else None,
    )


def judge_hint(pair: PairLabels, counted: Mapping[str, RubricVersionRef | None], order: Order) -> dict[str, Any] | None:
    """What assisted mode shows: one judge's label for the pair (:func:`server.labels.shown_judgement`),
    in the displayed order `order`, with the rubric version it was judged under.

    >>> from server.labels import VerdictLabel
    >>> v = RubricVersionRef(1, "hhh", "1.10.0")
    >>> both = (VerdictLabel(1, "j", "ab", "a", rubric=v), VerdictLabel(2, "j", "ba", "a", rubric=v))
    >>> pair = PairLabels(1, verdicts=both)
    >>> judge_hint(pair, {"j": v}, "ba")
    {'judge': 'j', 'rubric': 'hhh@1.10.0', 'outcome': 'b', 'consistent': True, 'rationale': None}
    """
    found = shown_judgement(pair, counted)
    if found is None or found.outcome is None:
        return None
    return {
        "judge": found.judge,
        "rubric": found.rubric.ref if found.rubric else None,
        "outcome": to_canonical(found.outcome, order),  # canonical → shown is the same flip
        "consistent": found.consistent,
        "rationale": rationale(pair, found),
    }


def assisted_hint(repo: Repository, view: PairView, assignment: Assignment) -> dict[str, Any] | None:
    """:func:`judge_hint` for an assignment, read from the store (the project's counted versions)."""
    labels = pair_labels(view, view_refs(repo, [view]))
    return judge_hint(labels, project_versions(repo, assignment.project_id), _order(assignment))


def _canonical_answer(body: RankingSubmission, order: Order) -> dict[str, Any]:
    """The submission's answer as stored: in the pair's canonical order."""
    return {
        "outcome": to_canonical(body.outcome, order),
        "strength": None if body.strength is None else (body.strength if order == "ab" else -body.strength),
        "criteria": {k: to_canonical(v, order) for k, v in body.criteria.items()},
        "rationale": body.rationale,
        "confidence": body.confidence,
    }


def _same_submission(ranking: Ranking, body: RankingSubmission, order: Order) -> bool:
    """True when `body` is the submission that stored `ranking` (a retry), not a different answer."""
    same = all(getattr(ranking, k) == v for k, v in _canonical_answer(body, order).items())
    return same and (body.seconds is None or ranking.seconds == body.seconds)


def submit_ranking(
    store: Store,
    assignment_id: int,
    annotator: Caller,
    body: RankingSubmission,
    idempotency_key: str,
    *,
    authorize: Authorize | None = None,
) -> tuple[Ranking, bool]:
    """Store the ranking for an assignment; returns (ranking, created). A retry with the same key returns
    the first ranking and creates nothing. The caller is signed in (`annotator` as a :data:`Caller`) and
    checked by `authorize` against the assignment's project inside the same transaction.

    Concurrent retries race on PostgreSQL (each transaction sees no ranking yet); the loser's insert
    breaks a unique constraint, and answering it again then finds the winner's ranking.
    """
    submit = functools.partial(_submit_once, store, assignment_id, annotator, body, idempotency_key, authorize)
    try:
        return submit()
    except IntegrityError:
        try:
            return submit()
        except IntegrityError:
            raise Conflict(f"assignment {assignment_id} was answered at the same moment by another request") from None


def _submit_once(
    store: Store,
    assignment_id: int,
    caller: Caller,
    body: RankingSubmission,
    idempotency_key: str,
    authorize: Authorize | None,
) -> tuple[Ranking, bool]:
    with store.write() as session:
        repo = Repository(session)
        annotator = signed_in(repo, caller)
        assignment = repo.lock_assignment(assignment_id)  # answers to one assignment queue here, retries included
        if authorize:
            authorize(annotator, repo.project_access(assignment.project_id, annotator.id))
        existing, mine = repo.answers_to(idempotency_key, assignment.pair_id, annotator.id)
        if existing is not None:
            if existing.annotator_id != annotator.id or existing.assignment_id != assignment_id:
                raise Conflict("Idempotency-Key was already used for another submission")
            if not _same_submission(existing, body, _order(assignment)):
                raise Conflict("Idempotency-Key was already used with a different body; send a new key")
            return existing, False
        if assignment.annotator_id != annotator.id:
            raise Conflict("this assignment belongs to another reviewer")
        if assignment.status != "pending" or mine is not None:
            raise Conflict(f"assignment {assignment_id} is already {assignment.status}")
        order = _order(assignment)
        started = assignment.created_at if assignment.created_at.tzinfo else assignment.created_at.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        ranking = repo.add_review_ranking(
            project_id=assignment.project_id,
            pair_id=assignment.pair_id,
            annotator_id=annotator.id,
            assignment_id=assignment.id,
            rubric_version_id=assignment.rubric_version_id,
            **_canonical_answer(body, order),
            mode=assignment.mode,
            seconds=body.seconds if body.seconds is not None else (now - started).total_seconds(),
            source="review",
            idempotency_key=idempotency_key,
            created_at=now,
        )
        repo.finish_assignment(assignment, "done", at=now)
        return ranking, True


def skip_assignment(store: Store, assignment_id: int, annotator: Person, body: SkipSubmission) -> Assignment:
    """Record a skip with its reason; the pair's slot goes back to the queue for someone else."""
    with store.write() as session:
        repo = Repository(session, annotator)
        assignment = repo.assignment(assignment_id)
        if assignment.annotator_id != annotator.id:
            raise Conflict("this assignment belongs to another reviewer")
        if assignment.status != "pending":
            raise Conflict(f"assignment {assignment_id} is already {assignment.status}")
        return repo.finish_assignment(
            assignment.id, "skipped", at=datetime.now(UTC), reason=body.reason, note=body.note
        )


def disputes(repo: Repository, project_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
    """Pairs where reviewers disagree, or a judge disagrees with their majority; not yet adjudicated first.

    A judge's outcome is its label by the rule of :mod:`server.labels` (counted version, orders combined).
    """
    views = repo.pair_views(repo.pairs(project_id))
    refs = view_refs(repo, views)
    labelled = [pair_labels(view, refs) for view in views]
    counted = counted_versions([v for labels in labelled for v in labels.verdicts])
    found = []
    for labels in labelled:
        humans = [r.outcome for r in labels.rankings]
        if not humans:
            continue
        human_majority = strict_majority(humans)
        judges = {j: found.outcome for j, found in judgements(labels, counted).items() if found.outcome}
        judge_disagrees = human_majority is not None and any(o != human_majority for o in judges.values())
        if len(set(humans)) > 1 or judge_disagrees:
            found.append(
                {
                    "pair_id": labels.id,
                    "rankings": {r.annotator: r.outcome for r in labels.rankings},
                    "majority": human_majority,
                    "judges": judges,
                    "adjudication": labels.adjudicated,
                    "reasons": [
                        *(["reviewers disagree"] if len(set(humans)) > 1 else []),
                        *(["judge disagrees with the majority"] if judge_disagrees else []),
                    ],
                }
            )
    found.sort(key=lambda d: (d["adjudication"] is not None, -len(set(d["rankings"].values())), d["pair_id"]))
    return found[:limit]
