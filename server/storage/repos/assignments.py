"""The review queue: assignments of pairs to reviewers.

Part of :class:`server.storage.repository.Repository`, over its one session; reads and writes return frozen
records (:mod:`server.storage.records`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update

from server.storage import records
from server.storage.repos.base import NotFound, UnitOfWork
from server.storage.tables import (
    Assignment,
    Pair,
    utcnow,
)


class Assignments(UnitOfWork):
    """The review queue: assignments of pairs to reviewers."""

    def pending_assignment(self, project_id: int, annotator_id: int) -> records.Assignment | None:
        row = self.session.scalar(
            select(Assignment)
            .where(
                Assignment.project_id == project_id,
                Assignment.annotator_id == annotator_id,
                Assignment.status == "pending",
            )
            .order_by(Assignment.id)
            .limit(1)
        )
        return records.Assignment.of_optional(row)

    def close_pending_for_pair(self, project_id: int, pair_id: int, annotator_id: int) -> None:
        """Mark the annotator's pending assignment of the pair done (its ranking came another way)."""
        pending = self.session.scalars(
            select(Assignment).where(
                Assignment.project_id == project_id,
                Assignment.pair_id == pair_id,
                Assignment.annotator_id == annotator_id,
                Assignment.status == "pending",
            )
        )
        for assignment in pending:
            self.finish_assignment(assignment.id, "done", at=utcnow())

    def lock_assignment(self, assignment_id: int) -> records.Assignment:
        """The assignment, locked until the transaction ends (PostgreSQL; SQLite writes are serial)."""
        assignment = self.session.get(Assignment, assignment_id, with_for_update=True)
        if assignment is None:
            raise NotFound(f"assignment {assignment_id} not found")
        return records.Assignment.of(assignment)

    def _assignment_row(self, assignment_id: int) -> Assignment:
        assignment = self.session.get(Assignment, assignment_id)
        if assignment is None:
            raise NotFound(f"assignment {assignment_id} not found")
        return assignment

    def assignment(self, assignment_id: int) -> records.Assignment:
        return records.Assignment.of(self._assignment_row(assignment_id))

    def next_open_pair(self, project_id: int, annotator_id: int, overlap: int, *, gold: bool) -> records.Pair | None:
        """The first pair this annotator has not been given that still needs reviewers.

        Pairs closest to their `overlap` are served first so that finished pairs accumulate; gold pairs
        have no overlap limit (every reviewer may see them). Each step is an index seek on
        ``ix_pairs_queue`` (project, gold, reviewers, id): no count over the project's assignments.
        """
        mine = select(Assignment.pair_id).where(Assignment.annotator_id == annotator_id)
        query = select(Pair).where(Pair.project_id == project_id, Pair.is_gold.is_(gold), Pair.id.not_in(mine))
        if gold:
            first = query.order_by(Pair.reviewers.desc(), Pair.id).limit(1)
            return records.Pair.of_optional(self.session.scalar(first))
        for reviewers in range(overlap - 1, -1, -1):
            pair = self.session.scalar(query.where(Pair.reviewers == reviewers).order_by(Pair.id).limit(1))
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
        assignment = Assignment(
            project_id=project_id, pair_id=pair_id, annotator_id=annotator_id, mode=mode, swapped=swapped,
            is_gold=is_gold, rubric_version_id=rubric_version_id,
        )  # fmt: skip
        self.session.add(assignment)
        self.session.flush()
        self._count_reviewer(pair_id, +1)
        return records.Assignment.of(assignment)

    def _count_reviewer(self, pair_id: int, change: int) -> None:
        """Keep `Pair.reviewers` (assignments not skipped) in step with the assignment just written.

        A counter derived from audited assignment rows, so it is written past the flush hook, not audited.
        """
        self.session.execute(
            update(Pair).where(Pair.id == pair_id).values(reviewers=Pair.reviewers + change),
            execution_options={"synchronize_session": False},
        )

    def finish_assignment(
        self,
        assignment_id: int,
        status: Literal["done", "skipped"],
        *,
        at: datetime,
        reason: str | None = None,
        note: str | None = None,
    ) -> records.Assignment:
        """Close a pending assignment: ranked (`done`) or skipped with a reason (its slot goes back to the queue)."""
        assignment = self._assignment_row(assignment_id)
        if status == "skipped" and assignment.status != "skipped":
            self._count_reviewer(assignment.pair_id, -1)  # its slot goes back to the queue
        assignment.status, assignment.completed_at = status, at
        if status == "skipped":
            assignment.skip_reason, assignment.skip_note = reason, note
        self.session.flush()
        return records.Assignment.of(assignment)

    def assignment_reasons(self, project_id: int) -> list[tuple[str, str | None, int | None]]:
        """Every assignment of a project as (status, skip reason, rubric version id): the review signals' input."""
        rows = self.session.execute(
            select(Assignment.status, Assignment.skip_reason, Assignment.rubric_version_id)
            .where(Assignment.project_id == project_id)
            .order_by(Assignment.id)
        )
        return [(status, reason, version) for status, reason, version in rows]

    def assignment_progress(self, project_id: int, annotator_id: int) -> dict[str, int]:
        rows = self.session.execute(
            select(Assignment.status, func.count())
            .where(Assignment.project_id == project_id, Assignment.annotator_id == annotator_id)
            .group_by(Assignment.status)
        )
        return {status: n for status, n in rows}

    def count_open_pairs(self, project_id: int, overlap: int) -> int:
        """Non-gold pairs that still need reviewers (an index range count on ``ix_pairs_queue``)."""
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Pair)
                .where(Pair.project_id == project_id, Pair.is_gold.is_(False), Pair.reviewers < overlap)
            )
            or 0
        )
