"""Every write appends an audit event, by construction: one SQLAlchemy flush hook, in one place.

:func:`audit_flush` runs after each flush of a store's sessions and writes, in the same transaction, one
:class:`~server.storage.tables.AuditEvent` per inserted, changed or deleted row of every table in
:data:`AUDITED` — who (the session's actor, see :func:`set_actor`), what (``entity.verb``), when, which
object and project, and before/after values (for a change: the columns that changed). Only four tables are
not audited: the audit events themselves, the LLM result cache (content-addressed model output, not
something anyone wrote), stored reports (derived from audited labels; the job that computed one is
audited) and the rate-limit counters (``rate_windows``: hits of failed sign-ins and heavy requests, kept
in the store so that every API process shares them). Code never calls the audit by hand for a row it
writes through the ORM; an operation that is more than its rows (an import) may add one summary event
with :func:`operation_event`. The review turn's writes (an assignment made, a ranking stored, an
assignment closed) are Core statements, since a unit of work per click costs more than the rest of the
turn: their repository methods hand the rows they wrote to :func:`written`, which builds the same event
the hook would, and :func:`append_events` inserts them as the hook does.

>>> AUDITED["memberships"].action("create"), AUDITED["jobs"].action("create"), AUDITED["pairs"].action("update")
('member.add', 'job.start', 'pair.update')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from server.storage.tables import AuditEvent, Base, Job, Pair, Prompt, utcnow

NOT_AUDITED = ("audit_events", "llm_cache", "stored_reports", "rate_windows")  # derived data, counters
# bookkeeping that changes with every write (a job lease's expiry moves with each heartbeat; who holds
# the lease, `lease_owner`, is audited)
SKIPPED_COLUMNS = ("updated_at", "lease_expires_at", "heartbeat_at")


@dataclass(frozen=True)
class Rule:
    """How a table's writes read in the audit log: its entity name, verbs, and the values an insert records."""

    entity: str
    created: tuple[str, ...]
    verbs: dict[str, str] = field(default_factory=dict)

    def action(self, change: str) -> str:
        return f"{self.entity}.{self.verbs.get(change, change)}"


AUDITED: dict[str, Rule] = {
    "annotators": Rule("annotator", ("name", "role")),
    "projects": Rule("project", ("name",)),
    "memberships": Rule("member", ("annotator_id", "role"), {"create": "add", "delete": "remove"}),
    "prompts": Rule("prompt", ("content_hash", "is_chat")),
    "responses": Rule("response", ("prompt_id", "source", "content_hash")),
    "pairs": Rule("pair", ("prompt_id", "key", "response_a_id", "response_b_id")),
    "rubrics": Rule("rubric", ("name",)),
    "rubric_versions": Rule("rubric", ("rubric_id", "version", "content_hash"), {"create": "publish"}),
    "verdicts": Rule(
        "verdict", ("pair_id", "response_id", "judge_model", "order", "rubric_version_id", "outcome", "source")
    ),
    "scores": Rule("score", ("response_id", "annotator_id", "rubric_version_id", "criteria", "overall", "source")),
    "assignments": Rule("assignment", ("pair_id", "mode", "swapped", "rubric_version_id")),
    "rankings": Rule("ranking", ("pair_id", "outcome", "mode", "rubric_version_id", "source")),
    "adjudications": Rule("adjudication", ("pair_id", "outcome", "note", "reason")),
    "jobs": Rule("job", ("kind", "params", "total"), {"create": "start"}),
    "job_errors": Rule("job", ("job_id", "item"), {"create": "error"}),
    # certified routing (server/routing/store.py)
    "calibrations": Rule("calibration", ("judge_models", "signal", "alpha", "delta", "n_calibration", "rubric")),
    "routing_decisions": Rule("routing", ("pair_id", "calibration_id", "status", "judge", "outcome")),
}


def set_actor(session: Session, actor_id: int | None) -> None:
    """Name who the session's writes are by (the first actor named for a transaction keeps it)."""
    if actor_id is not None:
        session.info.setdefault("actor_id", actor_id)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _project_id(session: Session, obj: Any) -> int | None:
    """The project a row belongs to (looked up through its prompt, pair or job where it has no project column)."""
    table = obj.__tablename__
    if table == "projects":
        return obj.id
    if hasattr(obj, "project_id"):
        return obj.project_id
    with session.no_autoflush:
        if table == "responses" and (prompt := session.get(Prompt, obj.prompt_id)) is not None:
            return prompt.project_id
        if table == "adjudications" and (pair := session.get(Pair, obj.pair_id)) is not None:
            return pair.project_id
        if table == "job_errors" and (job := session.get(Job, obj.job_id)) is not None:
            return job.project_id
    return None


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the columns that changed on a dirty row."""
    before, after = {}, {}
    state = inspect(obj)
    for column in state.mapper.column_attrs:
        name = column.key
        if name in SKIPPED_COLUMNS:
            continue
        history = state.attrs[name].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                before[name], after[name] = _json(old), _json(new)
    return before, after


def _event(session: Session, obj: Any, change: str) -> dict[str, Any] | None:
    rule = AUDITED.get(getattr(obj, "__tablename__", ""))
    if rule is None:
        return None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    if change == "create":
        after = {name: _json(getattr(obj, name)) for name in rule.created}
    elif change == "update":
        before, after = _changes(obj)
        if not after:
            return None  # touched, nothing changed
    else:
        before = {name: _json(getattr(obj, name)) for name in rule.created}
    key = inspect(obj).mapper.primary_key_from_instance(obj)  # set by now, before the identity key is
    object_id = ":".join(str(part) for part in key if part is not None) or None
    return _row(session, rule.action(change), obj.__tablename__, object_id, _project_id(session, obj), before, after)


def _row(
    session: Session,
    action: str,
    table: str,
    object_id: str | None,
    project_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "at": utcnow(),
        "actor_id": session.info.get("actor_id"),
        "action": action,
        "object_type": table,
        "object_id": object_id,
        "project_id": project_id,
        "before": before,
        "after": after,
    }


def written(
    session: Session, table: str, row: Any, changed: dict[str, tuple[Any, Any]] | None = None
) -> dict[str, Any]:
    """The event the flush hook would write for a row a Core statement wrote: a create (the rule's columns
    of `row`, the row as stored), or with `changed` an update (column -> (old value, value written), the
    values as the hook sees them on the object, not as the database hands them back).
    """
    rule = AUDITED[table]
    if changed is None:
        action, before = rule.action("create"), None
        after = {name: _json(getattr(row, name)) for name in rule.created}
    else:
        action = rule.action("update")
        before = {name: _json(old) for name, (old, _) in changed.items()}
        after = {name: _json(new) for name, (_, new) in changed.items()}
    return _row(session, action, table, str(row.id), getattr(row, "project_id", None), before, after)


def append_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert audit events in one statement, in the hook's order (by object type, then id)."""
    if rows:
        rows.sort(key=lambda row: (row["object_type"], row["object_id"] or ""))
        session.connection().execute(insert(AuditEvent), rows)


def audit_flush(session: Session, _context: Any) -> None:
    """The flush hook: one audit event per written row, inserted in the same transaction."""
    changes = [(obj, "create") for obj in session.new]
    changes += [(obj, "update") for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    changes += [(obj, "delete") for obj in session.deleted]
    append_events(session, [row for obj, change in changes if (row := _event(session, obj, change)) is not None])


def operation_event(
    session: Session, action: str, obj: Any, *, project_id: int | None = None, after: dict[str, Any] | None = None
) -> None:
    """One summary event for an operation that is more than the rows it writes (they are audited anyway)."""
    session.add(
        AuditEvent(
            actor_id=session.info.get("actor_id"),
            action=action,
            object_type=getattr(obj, "__tablename__", type(obj).__name__),
            object_id=str(getattr(obj, "id", "") or "") or None,
            project_id=project_id,
            after=_json(after),
        )
    )


def audited_tables() -> set[str]:
    """Every table of the schema whose writes are audited (all but :data:`NOT_AUDITED`)."""
    return {name for name in Base.metadata.tables if name not in NOT_AUDITED}
