"""Routing's storage: immutable calibration records and each pair's current routing decision.

Queries over one SQLAlchemy session (the caller's transaction, from ``Store.read()`` /
``Store.write()``); every write appends an audit event through the repository's one audit path.
Every row written is audited by the store's flush hook (server/storage/audit.py); routing adds one
summary event. A calibration is written once and never updated (no function here changes one);
routing a calibration re-makes the project's decisions in place.

>>> from server.storage import open_store
>>> from server.storage.repository import Repository
>>> import tempfile
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp(prefix='rubricate-routing-')}/rubricate.db")
>>> with store.write() as session:
...     project = Repository(session).get_or_create_project("routing-doctest")
...     result = Calibration(alpha=0.2, delta=0.1, n_calibration=0, judges=[])
...     record = save_calibration(session, project.id, result, signal="order", min_n=30)
>>> with store.read() as session:
...     calibration_record(session, project.id, int(record.calibration)).alpha
0.2
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from rubrics.outcomes import Outcome
from server.labels import RubricVersionRef
from server.routing.calibration import Calibration, Decision, JudgeCalibration
from server.storage.audit import operation_event, set_actor
from server.storage.repos.annotators import Person
from server.storage.repository import NotFound, digest
from server.storage.tables import Annotator, RoutingDecision
from server.storage.tables import Calibration as CalibrationRow


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelsUsed(_Frozen):
    """Which human references a calibration rests on: pair ids, their count, a fingerprint, by source."""

    count: int = Field(ge=0)
    fingerprint: str = Field(description="sha256 of the sorted (pair id, reference outcome) list")
    sources: dict[str, int] = Field(default_factory=dict, description="adjudication | gold | majority → pairs")
    pairs: list[int] = Field(default_factory=list)

    @classmethod
    def of(cls, references: Iterable[tuple[int, Outcome, str]]) -> LabelsUsed:
        """Describe (pair id, outcome, source) references.

        >>> LabelsUsed.of([(2, "a", "gold"), (1, "b", "majority")]).model_dump(exclude={"fingerprint"})
        {'count': 2, 'sources': {'gold': 1, 'majority': 1}, 'pairs': [1, 2]}
        """
        found = sorted(references)
        sources: dict[str, int] = {}
        for _, _, source in found:
            sources[source] = sources.get(source, 0) + 1
        return cls(
            count=len(found),
            fingerprint=digest([[pair, outcome] for pair, outcome, _ in found]),
            sources=dict(sorted(sources.items())),
            pairs=[pair for pair, _, _ in found],
        )


class CalibrationRecord(_Frozen):
    """A stored calibration: the issue's JSON keys first, then what it was made from."""

    calibration: str
    alpha: float
    delta: float
    n_calibration: int
    judges: list[JudgeCalibration]
    project_id: int
    judge_models: list[str] = Field(description="the judges named, cheapest first")
    signal: str
    rubric: str | None = Field(description="NAME@VERSION asked for; null: each judge's counted version")
    min_n: int
    include_assisted: bool
    promise: Literal["population", "routed"]
    labels: LabelsUsed
    created_by: str | None
    created_at: datetime

    @property
    def certified(self) -> bool:
        """Whether any judge of the cascade got a threshold."""
        return any(judge.threshold is not None for judge in self.judges)

    def as_calibration(self) -> Calibration:
        """The pure :class:`server.routing.calibration.Calibration` that :func:`route` takes."""
        return Calibration(
            calibration=self.calibration,
            alpha=self.alpha,
            delta=self.delta,
            n_calibration=self.n_calibration,
            judges=self.judges,
            promise=self.promise,
        )


class DecisionRecord(_Frozen):
    """A pair's stored routing decision."""

    pair_id: int
    status: Literal["accepted", "escalated"]
    judge: str | None
    outcome: Outcome | None
    confidence: float | None
    uncertainty: float | None
    calibration: str


def _record(row: CalibrationRow, creator: str | None) -> CalibrationRecord:
    return CalibrationRecord(
        calibration=str(row.id),
        alpha=row.alpha,
        delta=row.delta,
        n_calibration=row.n_calibration,
        judges=[JudgeCalibration.model_validate(judge) for judge in row.judges],
        project_id=row.project_id,
        judge_models=list(row.judge_models),
        signal=row.signal,
        rubric=row.rubric,
        min_n=row.min_n,
        include_assisted=row.include_assisted,
        promise=row.promise,  # type: ignore[arg-type]
        labels=LabelsUsed.model_validate(row.labels),
        created_by=creator,
        created_at=row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC),  # SQLite drops it
    )


def save_calibration(
    session: Session,
    project_id: int,
    result: Calibration,
    *,
    signal: str,
    min_n: int,
    judge_models: Sequence[str] | None = None,
    rubric: RubricVersionRef | None = None,
    include_assisted: bool = False,
    labels: LabelsUsed | None = None,
    actor: Person | None = None,
) -> CalibrationRecord:
    """Store a calibration once; returns its record with the new id."""
    labels = labels or LabelsUsed.of([])
    row = CalibrationRow(
        project_id=project_id,
        rubric_version_id=rubric.id if rubric else None,
        rubric=rubric.ref if rubric else None,
        signal=signal,
        alpha=result.alpha,
        delta=result.delta,
        min_n=min_n,
        include_assisted=include_assisted,
        n_calibration=result.n_calibration,
        promise=result.promise,
        judge_models=list(judge_models or [judge.judge for judge in result.judges]),
        judges=[judge.model_dump(mode="json") for judge in result.judges],
        labels=labels.model_dump(mode="json"),
        created_by=actor.id if actor else None,
    )
    set_actor(session, actor.id if actor else None)
    session.add(row)
    session.flush()  # audited by the flush hook (server/storage/audit.py)
    return _record(row, actor.name if actor else None)


def _creators(session: Session, rows: Sequence[CalibrationRow]) -> dict[int, str]:
    ids = {row.created_by for row in rows if row.created_by}
    if not ids:
        return {}
    rows_found = session.execute(select(Annotator.id, Annotator.name).where(Annotator.id.in_(ids)))
    return {annotator_id: name for annotator_id, name in rows_found}


def calibration_record(session: Session, project_id: int, calibration_id: int) -> CalibrationRecord:
    """One calibration of the project; NotFound when it has no such calibration."""
    row = session.get(CalibrationRow, calibration_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"calibration {calibration_id} not found in project {project_id}")
    return _record(row, _creators(session, [row]).get(row.created_by or 0))


def calibration_records(session: Session, project_id: int) -> list[CalibrationRecord]:
    """Every calibration of the project, oldest first."""
    rows = list(
        session.scalars(
            select(CalibrationRow).where(CalibrationRow.project_id == project_id).order_by(CalibrationRow.id)
        )
    )
    creators = _creators(session, rows)
    return [_record(row, creators.get(row.created_by or 0)) for row in rows]


def replace_decisions(
    session: Session,
    project_id: int,
    calibration_id: int,
    decisions: Sequence[Decision],
    actor: Person | None = None,
) -> None:
    """Make `decisions` (pair ids as text) the project's routing, replacing any earlier one."""
    set_actor(session, actor.id if actor else None)
    existing = {
        row.pair_id: row
        for row in session.scalars(select(RoutingDecision).where(RoutingDecision.project_id == project_id))
    }
    for decision in decisions:
        fields = {
            "calibration_id": calibration_id,
            "status": decision.status,
            "judge": decision.judge,
            "outcome": decision.outcome,
            "confidence": decision.confidence,
            "uncertainty": decision.uncertainty,
        }
        row = existing.pop(int(decision.pair), None)
        if row is None:
            session.add(RoutingDecision(project_id=project_id, pair_id=int(decision.pair), **fields))
        else:  # re-made in place: the audit log keeps what changed
            for name, value in fields.items():
                setattr(row, name, value)
    for row in existing.values():  # pairs that gained a human reference since: no longer routed
        session.delete(row)
    accepted = sum(decision.status == "accepted" for decision in decisions)
    operation_event(
        session,
        "routing.route",
        session.get(CalibrationRow, calibration_id),
        project_id=project_id,
        after={"calibration": calibration_id, "pairs": len(decisions), "accepted": accepted},
    )
    session.flush()


def _decision(row: RoutingDecision) -> DecisionRecord:
    return DecisionRecord(
        pair_id=row.pair_id,
        status=row.status,  # type: ignore[arg-type]
        judge=row.judge,
        outcome=row.outcome,  # type: ignore[arg-type]
        confidence=row.confidence,
        uncertainty=row.uncertainty,
        calibration=str(row.calibration_id),
    )


def decisions(session: Session, project_id: int, pair_ids: Sequence[int] | None = None) -> dict[int, DecisionRecord]:
    """The project's current decisions by pair id (only these pairs when `pair_ids` is given)."""
    query = select(RoutingDecision).where(RoutingDecision.project_id == project_id)
    if pair_ids is not None:
        if not pair_ids:
            return {}
        query = query.where(RoutingDecision.pair_id.in_(pair_ids))
    return {row.pair_id: _decision(row) for row in session.scalars(query)}


def routed_calibration(session: Session, project_id: int) -> int | None:
    """The id of the calibration the project's decisions come from (None: never routed)."""
    return session.scalar(
        select(RoutingDecision.calibration_id).where(RoutingDecision.project_id == project_id).limit(1)
    )


def as_json(records: Iterable[BaseModel]) -> list[dict[str, Any]]:
    """Records as JSON-ready dicts."""
    return [record.model_dump(mode="json") for record in records]
