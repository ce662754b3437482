"""Frozen records: what the repository's reads hand out instead of live ORM rows.

Each record has exactly the attribute names of its table's columns (:mod:`server.storage.tables`), so
readers keep working, but it is a snapshot: assigning to it raises, and changing stored data takes a
typed write method of the repository (which writes, and is audited by the flush hook).

>>> from datetime import UTC, datetime
>>> job = Job(id="j1", project_id=1, kind="judge", params={}, status="running", total=4, done=1, failed=0,
...           result={}, error=None, created_by=None, created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
...           digest=None, request=None, lease_owner=None, lease_expires_at=None, heartbeat_at=None, attempts=0)
>>> job.done = 2
Traceback (most recent call last):
...
dataclasses.FrozenInstanceError: cannot assign to field 'done'
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar, Self, TypeVar

from server.storage import tables

T = TypeVar("T")


class Record:
    """Base of the frozen records: `of(row)` copies a row's columns, once, into the record."""

    __slots__ = ()
    _columns: ClassVar[attrgetter[Any]]
    __tablename__: ClassVar[str]  # its table's, so an audit event names a record's object as it names the row's

    @classmethod
    def of(cls, row: Any) -> Self:
        """The record of an ORM row (or of anything with the same attributes)."""
        return cls(*cls._columns(row))

    @classmethod
    def of_optional(cls, row: Any | None) -> Self | None:
        return None if row is None else cls.of(row)


def record(cls: type[T]) -> type[T]:
    """A frozen, slotted dataclass whose `of(row)` reads the row's attributes of the same names, in order."""
    made = dataclass(frozen=True, slots=True)(cls)
    names = [field.name for field in fields(made)]  # type: ignore[arg-type]
    made._columns = attrgetter(*names)  # type: ignore[attr-defined]
    made.__tablename__ = getattr(tables, cls.__name__).__tablename__  # type: ignore[attr-defined]
    return made


@record
class Project(Record):
    id: int
    name: str
    description: str
    settings: dict[str, Any]
    created_at: datetime


@record
class Membership(Record):
    project_id: int
    annotator_id: int
    role: str


@record
class Prompt(Record):
    id: int
    project_id: int
    messages: list[Any]
    is_chat: bool
    content_hash: str
    reference: str | None
    meta: dict[str, Any]
    created_at: datetime


@record
class Response(Record):
    id: int
    prompt_id: int
    text: str
    source: str
    content_hash: str
    params: dict[str, Any]
    usage: dict[str, Any]
    meta: dict[str, Any]
    job_id: str | None
    created_at: datetime


@record
class Pair(Record):
    id: int
    project_id: int
    prompt_id: int
    response_a_id: int
    response_b_id: int
    key: str
    is_gold: bool
    gold_outcome: str | None
    reviewers: int  # assignments not skipped: the review queue's counter
    meta: dict[str, Any]
    created_at: datetime


@record
class RubricVersion(Record):
    id: int
    rubric_id: int
    version: str
    content: dict[str, Any]
    content_hash: str
    published_by: int | None
    published_at: datetime


@record
class Verdict(Record):
    id: int
    key: str
    project_id: int
    pair_id: int | None
    response_id: int | None
    rubric_version_id: int | None
    judge_model: str
    kind: str
    order: str | None
    outcome: str | None
    criteria: dict[str, Any]
    scores: dict[str, Any]
    confidence: float | None
    probabilities: dict[str, Any] | None
    rationale: str | None
    raw: str | None
    error: str | None
    params: dict[str, Any]
    usage: dict[str, Any]
    meta: dict[str, Any]
    latency_s: float | None
    source: str
    job_id: str | None
    created_at: datetime


@record
class Assignment(Record):
    id: int
    project_id: int
    pair_id: int
    annotator_id: int
    mode: str
    swapped: bool
    is_gold: bool
    rubric_version_id: int | None
    status: str
    skip_reason: str | None
    skip_note: str | None
    created_at: datetime
    completed_at: datetime | None


@record
class Ranking(Record):
    id: int
    project_id: int
    pair_id: int
    annotator_id: int
    assignment_id: int | None
    rubric_version_id: int | None
    outcome: str
    strength: int | None
    criteria: dict[str, Any]
    rationale: str | None
    confidence: int | None
    mode: str | None
    seconds: float | None
    source: str
    idempotency_key: str | None
    created_at: datetime


@record
class Adjudication(Record):
    id: int
    pair_id: int
    annotator_id: int
    outcome: str
    note: str
    reason: str | None
    created_at: datetime


@record
class Job(Record):
    id: str
    project_id: int | None
    kind: str
    params: dict[str, Any]
    status: str
    total: int
    done: int
    failed: int
    result: dict[str, Any]
    error: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    digest: str | None
    request: dict[str, Any] | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    heartbeat_at: datetime | None
    attempts: int


@record
class JobError(Record):
    id: int
    job_id: str
    item: str
    error: str
    created_at: datetime


@record
class StoredReport(Record):
    id: int
    project_id: int
    kind: str
    params_key: str
    params: dict[str, Any]
    fingerprint: str
    value: dict[str, Any]
    job_id: str | None
    read_s: float
    compute_s: float
    computed_at: datetime


@record
class AuditEvent(Record):
    id: int
    at: datetime
    actor_id: int | None
    action: str
    object_type: str
    object_id: str | None
    project_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class PairView:
    """A pair with its prompt, both responses and every label, as the API and exporters read it."""

    pair: Pair
    prompt: Prompt
    response_a: Response
    response_b: Response
    rankings: list[tuple[Ranking, str]]  # (ranking, annotator name)
    verdicts: list[Verdict]
    adjudication: Adjudication | None


RECORDS: tuple[type[Record], ...] = (
    Project, Membership, Prompt, Response, Pair, RubricVersion, Verdict, Assignment, Ranking, Adjudication,
    Job, JobError, StoredReport, AuditEvent,
)  # fmt: skip
