"""The review turn writes its rows with Core statements, past the flush hook: `audit.written` must give them
the events the hook gives the same rows written through the ORM, field by field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from server.imports.schema import ImportRow
from server.imports.service import import_rows
from server.storage import Repository, Store
from server.storage.tables import Assignment, AuditEvent, Ranking

FIELDS = ("actor_id", "action", "object_type", "project_id", "before", "after")
AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _event(store: Store, action: str, object_id: int) -> dict[str, Any]:
    with store.read() as session:
        [row] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == str(object_id))
        ).all()
        return {name: getattr(row, name) for name in FIELDS}


def test_core_writes_are_audited_as_the_hook_audits_orm_writes(store: Store) -> None:
    rows = [ImportRow(id=f"r{i}", prompt=f"q{i}", response_a="a", response_b=f"b{i}") for i in range(2)]
    import_rows(store, [(f"row {i}", r) for i, r in enumerate(rows)], project="audit")
    with store.write() as session:
        repo = Repository(session)
        project = repo.project_by_name("audit")
        person, _ = repo.create_annotator("rita", "reviewer")
        first, second = (p.id for p in repo.pairs(project.id))
    with store.write() as session:  # through the ORM: the flush hook audits
        Repository(session, person)  # names the actor
        assignment = Assignment(
            project_id=project.id, pair_id=first, annotator_id=person.id, mode="blind", swapped=True
        )
        session.add(assignment)
        session.flush()
        assignment.status, assignment.completed_at = "done", AT
        session.flush()
        ranking = Ranking(project_id=project.id, pair_id=first, annotator_id=person.id, assignment_id=assignment.id,
                          outcome="b", mode="blind", criteria={}, source="review")  # fmt: skip
        session.add(ranking)
        session.flush()
        hooked_ids = {"assignment": assignment.id, "ranking": ranking.id}
    with store.write() as session:  # through the review turn's Core writes
        repo = Repository(session, person)
        made = repo.add_assignment(project_id=project.id, pair_id=second, annotator_id=person.id, mode="blind",
                                   swapped=True)  # fmt: skip
        repo.finish_assignment(made, "done", at=AT)
        stored = repo.add_review_ranking(project_id=project.id, pair_id=second, annotator_id=person.id,
                                         assignment_id=made.id, outcome="b", mode="blind")  # fmt: skip
    written_ids = {"assignment": made.id, "ranking": stored.id}
    for action, kind in [("assignment.create", "assignment"), ("assignment.update", "assignment"),
                         ("ranking.create", "ranking")]:  # fmt: skip
        hooked, written = _event(store, action, hooked_ids[kind]), _event(store, action, written_ids[kind])
        if hooked["after"] and "pair_id" in hooked["after"]:
            assert (hooked["after"]["pair_id"], written["after"]["pair_id"]) == (first, second)
            hooked["after"]["pair_id"] = second  # the one value that differs, on purpose
        assert written == hooked, action
    assert _event(store, "assignment.update", made.id)["before"] == {"status": "pending", "completed_at": None}
