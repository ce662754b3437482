"""The review queue: assignments of pairs to reviewers.

Part of :class:`server.storage.repository.Repository`, over its one session; reads and writes return frozen
records (:mod:`server.storage.records`). A review turn runs these on every click, so they are Core statements
built once at import (no ORM unit of work, no statement building per call); the rows they write are audited
through :func:`server.storage.audit.written`, as the flush hook would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, func, insert, literal, select, union_all, update

from server.storage import records
from server.storage.audit import append_events, written
from server.storage.repos.base import NotFound, UnitOfWork
from server.storage.tables import (
    Assignment,
    Pair,
    utcnow,
)

_A, _P = Assignment.__table__, Pair.__table__
_PENDING = (
    select(_A)
    .where(_A.c.project_id == bindparam("project"), _A.c.annotator_id == bindparam("annotator"))
    .where(_A.c.status == "pending")
    .order_by(_A.c.id)
    .limit(1)
)
_GIVEN = select(_A.c.pair_id).where(_A.c.annotator_id == bindparam("annotator")).scalar_subquery()
_OPEN = select(_P).where(_P.c.project_id == bindparam("project"), _P.c.id.not_in(_GIVEN))
_NEXT_OPEN = _OPEN.where(_P.c.is_gold.is_(False), _P.c.reviewers == bindparam("reviewers")).order_by(_P.c.id).limit(1)
_NEXT_GOLD = _OPEN.where(_P.c.is_gold.is_(True)).order_by(_P.c.reviewers.desc(), _P.c.id).limit(1)
_ADD = insert(_A).returning(*_A.c)
_COUNT_REVIEWER = update(_P).where(_P.c.id == bindparam("pair")).values(reviewers=_P.c.reviewers + bindparam("change"))
_BY_ID = select(_A).where(_A.c.id == bindparam("assignment"))
_LOCK = _BY_ID.with_for_update()
_FINISH = update(_A).where(_A.c.id == bindparam("assignment")).returning(*_A.c)
_DONE = _FINISH.values(status=bindparam("new_status"), completed_at=bindparam("at"))
_SKIPPED = _DONE.values(skip_reason=bindparam("reason"), skip_note=bindparam("note"))
_PROGRESS = union_all(
    select(_A.c.status, func.count())
    .where(_A.c.project_id == bindparam("project"), _A.c.annotator_id == bindparam("annotator"))
    .group_by(_A.c.status),
    select(literal("open"), func.count())
    .select_from(_P)
    .where(_P.c.project_id == bindparam("project"), _P.c.is_gold.is_(False), _P.c.reviewers < bindparam("overlap")),
)


class Assignments(UnitOfWork):
    """The review queue: assignments of pairs to reviewers."""

    def pending_assignment(self, project_id: int, annotator_id: int) -> records.Assignment | None:
        row = self.session.execute(_PENDING, {"project": project_id, "annotator": annotator_id}).first()
        return records.Assignment.of_optional(row)

    def close_pending_for_pair(self, project_id: int, pair_id: int, annotator_id: int) -> None:
        """Mark the annotator's pending assignment of the pair done (its ranking came another way)."""
        pending = self.session.scalars(
            select(_A.c.id).where(
                _A.c.project_id == project_id,
                _A.c.pair_id == pair_id,
                _A.c.annotator_id == annotator_id,
                _A.c.status == "pending",
            )
        ).all()
        for assignment_id in pending:
            self.finish_assignment(assignment_id, "done", at=utcnow())

    def lock_assignment(self, assignment_id: int) -> records.Assignment:
        """The assignment, locked until the transaction ends (PostgreSQL; SQLite writes are serial)."""
        row = self.session.execute(_LOCK, {"assignment": assignment_id}).first()
        if row is None:
            raise NotFound(f"assignment {assignment_id} not found")
        return records.Assignment.of(row)

    def assignment(self, assignment_id: int) -> records.Assignment:
        row = self.session.execute(_BY_ID, {"assignment": assignment_id}).first()
        if row is None:
            raise NotFound(f"assignment {assignment_id} not found")
        return records.Assignment.of(row)

    def next_open_pair(self, project_id: int, annotator_id: int, overlap: int, *, gold: bool) -> records.Pair | None:
        """The first pair this annotator has not been given that still needs reviewers.

        Pairs closest to their `overlap` are served first so that finished pairs accumulate; gold pairs
        have no overlap limit (every reviewer may see them). Each step is an index seek on
        ``ix_pairs_queue`` (project, gold, reviewers, id): no count over the project's assignments.
        """
        params: dict[str, Any] = {"project": project_id, "annotator": annotator_id}
        if gold:
            return records.Pair.of_optional(self.session.execute(_NEXT_GOLD, params).first())
        for reviewers in range(overlap - 1, -1, -1):
            pair = self.session.execute(_NEXT_OPEN, params | {"reviewers": reviewers}).first()
            if pair is not None:
                return records.Pair.of(pair)
        return None

    def add_assignment(
        self,
        *,
        project_id: int,
        pair_id: int,
        annotator_id: int,
        mode: str,
        swapped: bool,
        is_gold: bool = False,
        rubric_version_id: int | None = None,
    ) -> records.Assignment:
        """Give a pair to a reviewer in a mode and a left/right order (the server draws both)."""
        row = self.session.execute(
            _ADD,
            {"project_id": project_id, "pair_id": pair_id, "annotator_id": annotator_id, "mode": mode,
             "swapped": swapped, "is_gold": is_gold, "rubric_version_id": rubric_version_id},
        ).one()  # fmt: skip
        self._count_reviewer(pair_id, +1)
        append_events(self.session, [written(self.session, "assignments", row)])
        return records.Assignment.of(row)

    def _count_reviewer(self, pair_id: int, change: int) -> None:
        """Keep `Pair.reviewers` (assignments not skipped) in step with the assignment just written.

        A counter derived from audited assignment rows, so it is not audited itself.
        """
        self.session.execute(_COUNT_REVIEWER, {"pair": pair_id, "change": change})
        self._forget(Pair, pair_id)

    def _forget(self, table: type, key: Any) -> None:
        """Expire the session's copy of a row a Core statement just changed, so a later ORM read reloads it."""
        held = self.session.identity_map.get(self.session.identity_key(table, key))
        if held is not None:
            self.session.expire(held)

    def finish_assignment(
        self,
        assignment: int | records.Assignment,
        status: Literal["done", "skipped"],
        *,
        at: datetime,
        reason: str | None = None,
        note: str | None = None,
    ) -> records.Assignment:
        """Close a pending assignment: ranked (`done`) or skipped with a reason (its slot goes back to the queue).

        `assignment` is its id, or its record as read (locked) earlier in this transaction, which saves reading
        it again. Audited as the flush hook audits a change: the columns whose values changed, before and after.
        """
        old = self.assignment(assignment) if isinstance(assignment, int) else assignment
        assignment_id = old.id
        changes: dict[str, Any] = {"status": status, "completed_at": at}
        if status == "skipped":
            changes |= {"skip_reason": reason, "skip_note": note}
            if old.status != "skipped":
                self._count_reviewer(old.pair_id, -1)  # its slot goes back to the queue
        params = {"assignment": assignment_id, "new_status": status, "at": at, "reason": reason, "note": note}
        row = self.session.execute(_SKIPPED if status == "skipped" else _DONE, params).one()
        self._forget(Assignment, assignment_id)
        changed = {name: (getattr(old, name), new) for name, new in changes.items() if getattr(old, name) != new}
        if changed:
            append_events(self.session, [written(self.session, "assignments", row, changed)])
        return records.Assignment.of(row)

    def assignment_reasons(self, project_id: int) -> list[tuple[str, str | None, int | None]]:
        """Every assignment of a project as (status, skip reason, rubric version id): the review signals' input."""
        rows = self.session.execute(
            select(Assignment.status, Assignment.skip_reason, Assignment.rubric_version_id)
            .where(Assignment.project_id == project_id)
            .order_by(Assignment.id)
        )
        return [(status, reason, version) for status, reason, version in rows]

    def assignment_progress(self, project_id: int, annotator_id: int, overlap: int | None = None) -> dict[str, int]:
        """The reviewer's assignments by status; with `overlap`, also ``open``: the project's non-gold pairs that
        still need reviewers (an index range count on ``ix_pairs_queue``), read in the same statement."""
        if overlap is None:
            rows = self.session.execute(_PROGRESS.selects[0], {"project": project_id, "annotator": annotator_id})
            return {status: n for status, n in rows}
        found = self.session.execute(_PROGRESS, {"project": project_id, "annotator": annotator_id, "overlap": overlap})
        return {"open": 0} | {status: n for status, n in found}
