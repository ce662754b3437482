"""The worker loop in this process over a real SQLite store and a scripted backend: it takes queued jobs
oldest first, rebuilds each from its pinned request, runs it as the person who asked, and fails (never
holds forever) a job that can no longer run. The kill -9 test with real processes is in tests/fault."""

from __future__ import annotations

import asyncio

from server.jobs import JudgeRequest, JudgeSpec, Worker
from server.storage import Repository, Store
from server.storage.tables import AuditEvent, Verdict
from tests.support.fake_backend import ScriptedBackend
from tests.unit.jobs.test_jobs import db, project, rows, verdict  # noqa: F401  (db is a fixture)


def queue(store: Store, request: JudgeRequest, backend: ScriptedBackend) -> str:
    spec = JudgeSpec(store, project(store), backend, request)
    with store.write() as session:
        repo = Repository(session)
        person, _ = repo.create_annotator("ann", "author")
        return Repository(session, person).submit_job("judge", project(store).id, spec.params, spec.pinned).id


def test_a_worker_runs_a_queued_job_from_its_row_as_the_person_who_asked(db: Store) -> None:  # noqa: F811
    backend = ScriptedBackend(respond=lambda m, r, p: verdict("a"))
    job_id = queue(db, JudgeRequest(rubric="hhh", orders="ab", limit=2), backend)
    worker = Worker(db, lambda model: backend, lease_s=5.0)
    assert asyncio.run(worker.serve(once=True)) == 1
    with db.read() as session:
        job = Repository(session).job(job_id)
        by = {e.actor_id for e in session.query(AuditEvent).filter(AuditEvent.action == "verdict.create")}
        asker = Repository(session).annotator_by_name("ann")
    assert (job.status, job.done, job.total, job.attempts, job.lease_owner) == ("done", 2, 2, 1, None)
    assert job.params["rubric"] == "hhh@1.0.0" and job.request["rubric"] == "hhh@1.0.0"  # pinned when asked
    assert len(rows(db, Verdict)) == 2 and len(backend.history) == 2 and by == {asker.id}  # type: ignore[union-attr]


def test_a_job_that_cannot_be_rebuilt_fails_and_is_not_held(db: Store) -> None:  # noqa: F811
    backend = ScriptedBackend(respond=lambda m, r, p: verdict("a"))
    job_id = queue(db, JudgeRequest(rubric="hhh", limit=1), backend)
    worker = Worker(db, lambda model: (_ for _ in ()).throw(LookupError(f"model {model} is gone")), lease_s=5.0)
    assert asyncio.run(worker.serve(once=True)) == 1
    with db.read() as session:
        job = Repository(session).job(job_id)
    assert (job.status, job.lease_owner) == ("failed", None) and "model fake/judge is gone" in (job.error or "")
    assert backend.history == []
