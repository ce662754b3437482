"""SQLAlchemy 2 tables, one per domain word in DESIGN.md.

The declarative base is in :mod:`server.storage.schema`; the tables the audit leaves out (cache, stored
reports, rate windows) are in :mod:`server.storage.unaudited_tables`, re-exported here. The schema itself
is made by the Alembic migrations in `migrations/`; these classes are what the repository layer queries.
Idempotency lives in the schema: every imported or generated row has a natural key with a unique
constraint, so a re-run adds nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.storage.schema import NAMING, Base, utcnow
from server.storage.unaudited_tables import CacheEntry, RateWindow, StoredReport

__all__ = [  # the schema is all of these; code imports every table from here
    "NAMING",
    "Adjudication",
    "Annotator",
    "Assignment",
    "AuditEvent",
    "Base",
    "CacheEntry",
    "Calibration",
    "Job",
    "JobError",
    "Membership",
    "Pair",
    "Project",
    "Prompt",
    "Ranking",
    "RateWindow",
    "Response",
    "RoutingDecision",
    "Rubric",
    "RubricVersion",
    "Score",
    "StoredReport",
    "Verdict",
    "utcnow",
]  # fmt: skip

ACTIVE_JOBS = "status IN ('queued', 'running', 'cancelling', 'interrupted')"  # one such job per digest


class Annotator(Base):
    """A person (or an imported labeller) with a role; API tokens are stored as sha256 hashes only."""

    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | author | reviewer | viewer
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: no expiry
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Project(Base):
    """A dataset under construction."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Membership(Base):
    """An annotator's access to a project; admins need none."""

    __tablename__ = "memberships"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


class Prompt(Base):
    """The conversation to respond to; a plain-string prompt is stored as one user message."""

    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("project_id", "content_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    messages: Mapped[list[Any]] = mapped_column()
    is_chat: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Response(Base):
    """A candidate answer; `source` is `model:<name>`, `human:<id>` or `import`."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("prompt_id", "content_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    usage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Pair(Base):
    """Two responses to one prompt in a stored canonical order; `key` makes imports idempotent."""

    __tablename__ = "pairs"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        Index("ix_pairs_queue", "project_id", "is_gold", "reviewers", "id"),  # the review queue, from the index
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), index=True)
    response_a_id: Mapped[int] = mapped_column(ForeignKey("responses.id"))
    response_b_id: Mapped[int] = mapped_column(ForeignKey("responses.id"))
    key: Mapped[str] = mapped_column(String(300))
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_outcome: Mapped[str | None] = mapped_column(String(4))
    reviewers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Assignments of the pair not skipped: kept by the assignment writes, so the queue needs no count."""
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Rubric(Base):
    __tablename__ = "rubrics"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RubricVersion(Base):
    """An immutable published rubric: canonical content plus its sha256."""

    __tablename__ = "rubric_versions"
    __table_args__ = (UniqueConstraint("rubric_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"), index=True)
    version: Mapped[str] = mapped_column(String(50))
    content: Mapped[dict[str, Any]] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Verdict(Base):
    """A judge's outcome for a pair in one presentation order, or (kind `pointwise`) its score of one response.

    A pointwise verdict has `response_id` set, no pair or order, its levels in `scores` and the overall
    level in `scores["overall"]`. A failed verdict is stored with `error` set and no outcome or scores;
    it is never dropped.
    """

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_versions.id"), index=True)
    judge_model: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="pairwise")  # pairwise | pointwise
    order: Mapped[str | None] = mapped_column(String(2))  # ab | ba (presentation order)
    outcome: Mapped[str | None] = mapped_column(String(4))  # canonical a | b | tie
    criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)  # pointwise: criterion -> level 1..N
    confidence: Mapped[float | None] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a | b | tie from token logprobs
    rationale: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    usage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    latency_s: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="job")  # job | import
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Score(Base):
    """A person's 1..N scores of one response under one rubric version (pointwise), like a ranking of a pair."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("response_id", "annotator_id", "rubric_version_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)  # criterion -> level 1..N
    overall: Mapped[int | None] = mapped_column(Integer)
    rationale: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="import")  # import (no review screen scores yet)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Assignment(Base):
    """A pair given to an annotator in a mode drawn by the server, with the left/right order shown."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("pair_id", "annotator_id"),
        Index("ix_assignments_queue", "project_id", "pair_id", "status"),  # reviewers per pair, from the index
        Index("ix_assignments_reviewer", "annotator_id", "project_id", "status"),  # a reviewer's pending/progress
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    mode: Mapped[str] = mapped_column(String(10))  # blind | assisted
    swapped: Mapped[bool] = mapped_column(Boolean, default=False)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_versions.id"))  # what was shown
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done | skipped
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    skip_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Ranking(Base):
    """An annotator's outcome for a pair, in canonical order, with provenance."""

    __tablename__ = "rankings"
    __table_args__ = (UniqueConstraint("pair_id", "annotator_id"), UniqueConstraint("idempotency_key"))
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_versions.id"))
    outcome: Mapped[str] = mapped_column(String(4))
    strength: Mapped[int | None] = mapped_column(Integer)
    criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rationale: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(10))
    seconds: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="review")  # review | import
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Adjudication(Base):
    """A final label for a disputed pair, set by an author or admin, overriding the majority."""

    __tablename__ = "adjudications"
    __table_args__ = (UniqueConstraint("pair_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    outcome: Mapped[str] = mapped_column(String(4))
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(String(40))  # the error taxonomy (server.review.SkipReason)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    """Long work (import, draft, judge, export) with progress, so it can be watched and resumed."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="running")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the durable queue (server/storage/repos/job_queue.py): one active job per digest, leased to a worker
    digest: Mapped[str | None] = mapped_column(String(64))  # kind + project + params: identical requests
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the pinned request a worker rebuilds it from
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # how many times a worker claimed it

    __table_args__ = (
        Index(
            "uq_jobs_active_digest", "digest", unique=True,
            sqlite_where=text(ACTIVE_JOBS), postgresql_where=text(ACTIVE_JOBS),
        ),
        Index("ix_jobs_status", "status"),
    )  # fmt: skip


class JobError(Base):
    """One recorded error per failed item of a job that has no other record to carry it."""

    __tablename__ = "job_errors"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Append-only record of who did what, when, to which object (before/after).

    The index answers "has anything of this kind in this project changed since?" in a few index steps:
    stored reports fingerprint their inputs with it (server/agreement/stored.py).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_project_change", "project_id", "object_type", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# ---------------------------------------------------------------- certified routing (issue 12)


class Calibration(Base):
    """An immutable calibration of a judge cascade (server/routing): never updated once stored.

    `judges` holds, in cascade order, each judge's signal, threshold (null: nothing certified),
    calibration pairs accepted, the bound reached and the pairs that reached it; `labels` names the
    human references used (pair ids, their count and a sha256 fingerprint of (pair, outcome)).
    """

    __tablename__ = "calibrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_versions.id"))
    rubric: Mapped[str | None] = mapped_column(String(260))  # NAME@VERSION asked for, else null (counted rule)
    signal: Mapped[str] = mapped_column(String(40))
    alpha: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    min_n: Mapped[int] = mapped_column(Integer)
    include_assisted: Mapped[bool] = mapped_column(Boolean, default=False)
    n_calibration: Mapped[int] = mapped_column(Integer)
    promise: Mapped[str] = mapped_column(String(16), default="population")
    judge_models: Mapped[list[Any]] = mapped_column()  # the judges named, cheapest first
    judges: Mapped[list[Any]] = mapped_column()  # one calibrated stage per judge, or one for a panel signal
    labels: Mapped[dict[str, Any]] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoutingDecision(Base):
    """A pair's current routing: accepted (judge, outcome, confidence) or escalated (uncertainty).

    One per pair; routing a new calibration replaces a project's decisions.
    """

    __tablename__ = "routing_decisions"
    __table_args__ = (UniqueConstraint("pair_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    calibration_id: Mapped[int] = mapped_column(ForeignKey("calibrations.id", ondelete="CASCADE"), index=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))  # accepted | escalated
    judge: Mapped[str | None] = mapped_column(String(420))
    outcome: Mapped[str | None] = mapped_column(String(4))
    confidence: Mapped[float | None] = mapped_column(Float)
    uncertainty: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
