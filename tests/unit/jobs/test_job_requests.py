"""Issue 13 item 7: one job per identical request in flight, and contradictory options refused up front."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.jobs import DraftRequest, JobResult, JudgeRequest, judge_job
from server.storage import Repository, Store
from server.storage.tables import Job, Verdict
from tests.support.fake_backend import ScriptedBackend
from tests.unit.jobs.test_jobs import db, project, rows, verdict  # noqa: F401  (db is a fixture)


def test_two_identical_judge_requests_at_once_run_the_job_once(db: Store) -> None:  # noqa: F811
    """Two callers with their own engines (as two processes would be) ask for the same job at once: the
    database, not a lock in this process, lets only one of them run it; the other gets its id."""

    def slow(messages, model, params):  # type: ignore[no-untyped-def]
        time.sleep(0.2)
        return verdict("a")

    backend = ScriptedBackend(respond=slow)
    request = JudgeRequest(rubric="hhh", max_tokens=200)
    the_project = project(db)
    results: list[JobResult] = []
    start = threading.Barrier(2)

    def caller() -> None:
        own = Store(db.url)
        start.wait()
        results.append(asyncio.run(judge_job(own, the_project, backend, request)))
        own.dispose()

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2 and results[0].job == results[1].job
    assert sorted(r.status for r in results) == ["done", "running"]  # the second found the first's job
    with db.read() as session:
        job = Repository(session).job(results[0].job)
        assert (job.status, job.error, job.attempts, job.lease_owner) == ("done", None, 1, None)
    assert len(rows(db, Job)) == 1
    assert len(rows(db, Verdict)) == 6 and len(backend.history) == 6  # 3 pairs × 2 orders, asked once each


def test_contradictory_draft_options_are_refused() -> None:
    with pytest.raises(ValidationError, match="pairs=sample needs pairs_per_prompt"):
        DraftRequest(pairs="sample")
    with pytest.raises(ValidationError, match="only with pairs=sample"):
        DraftRequest(pairs="all", pairs_per_prompt=2)
    assert DraftRequest(pairs="sample", pairs_per_prompt=2).pairs_per_prompt == 2


def test_api_answers_422_to_sample_without_pairs_per_prompt(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings
    from server.storage import open_store

    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    with store.write() as session:
        repo = Repository(session)
        _, token = repo.create_annotator("admin", "admin")
        repo.create_project("p", "")
    with TestClient(create_app(Settings(home=tmp_path, database_url=store.url), store=store)) as client:
        pid = client.get("/projects", headers={"Authorization": f"Bearer {token}"}).json()[0]["id"]
        reply = client.post(
            f"/projects/{pid}/jobs/draft", json={"pairs": "sample"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert reply.status_code == 422 and "pairs_per_prompt" in reply.json()["error"]["message"]
    assert len(rows(store, Job)) == 0
