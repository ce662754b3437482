"""Jobs survive their process: a worker killed with SIGKILL mid-job, another worker resumes the job once the
dead one's lease runs out, and every item ends done exactly once. Cancellation through the API and the CLI.

Real processes (`python -m server worker`), a real SQLite file, a scripted OpenAI-compatible server that
drips its answers (tests/support/fake_openai.py) so the job takes a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rubrics.loader import LIBRARY, load_rubric
from server.app import create_app
from server.cli import app as cli
from server.imports.service import import_rows
from server.rubric_registry import publish
from server.settings import Settings
from server.storage import Repository, Store, open_store
from server.storage.tables import Job, Verdict
from tests.support.fake_openai import FakeServer, fake_openai_server

PAIRS = 16
VERDICT = {"helpful": "a", "honest": "a", "harmless": "tie", "overall": "a", "confidence": 4, "rationale": "A."}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with fake_openai_server() as server:
        server.answer = VERDICT
        server.drip_s, server.drip_tokens = 0.02, 20  # 0.4 s an answer, streamed steadily
        yield server


def setup(home: Path, fake: FakeServer, **extra: Any) -> tuple[Settings, Store, str]:
    """A store with PAIRS pairs and hhh, an admin, and settings naming a dripping model on the fake."""
    model = f"hosted_vllm/drip-{uuid.uuid4().hex[:8]}"
    settings = Settings(home=home, model_base_url=fake.base_url, judge_model=model, max_concurrency=2, **extra)
    store = open_store(settings.database_url)
    rows = [(f"r{i}", {"prompt": f"Q{i}?", "response_a": f"yes {i}", "response_b": f"no {i}"}) for i in range(PAIRS)]
    import_rows(store, rows, project="p")
    publish(store, load_rubric(LIBRARY / "hhh.yaml"))
    with store.write() as session:
        _, token = Repository(session).create_annotator("admin", "admin")
    return settings, store, token or ""


def job(store: Store, job_id: str) -> Job:
    with store.read() as session:
        return Repository(session).job(job_id)


def verdicts(store: Store) -> list[Verdict]:
    with store.read() as session:
        return list(session.query(Verdict).filter(Verdict.source == "job"))


def wait_for(check: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def worker(settings: Settings, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "RUBRICATE_HOME": str(settings.home), "RUBRICATE_DATABASE_URL": settings.database_url,
           "RUBRICATE_MODEL_BASE_URL": settings.model_base_url, "RUBRICATE_JUDGE_MODEL": settings.judge_model,
           "RUBRICATE_MAX_CONCURRENCY": "2"}  # fmt: skip
    command = [sys.executable, "-m", "server", "worker", "--lease-s", "2", "--poll-s", "0.2", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_killed_workers_job_is_resumed_by_another_and_every_item_is_done_once(
    fake: FakeServer, home: Path, db_url: str
) -> None:
    """On SQLite and on PostgreSQL (db_url: the worker processes get the same store's URL)."""
    settings, store, token = setup(home, fake, api_worker=False, database_url=db_url)
    with TestClient(create_app(settings, store=store)) as client:  # the API queues; no worker in it
        pid = client.get("/projects", headers={"Authorization": f"Bearer {token}"}).json()[0]["id"]
        reply = client.post(f"/projects/{pid}/jobs/judge", json={"rubric": "hhh"},
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert reply.status_code == 202 and reply.json()["status"] == "queued", reply.text
    job_id = reply.json()["job"]

    first = worker(settings)
    try:
        wait_for(lambda: len(verdicts(store)) >= 6, "the first worker to finish 3 pairs")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        first.kill()
    killed = job(store, job_id)
    before = len(verdicts(store))  # nothing commits after SIGKILL
    asked_before = fake.requests[settings.judge_model.split("/", 1)[1]]
    assert killed.status == "running" and killed.lease_owner and killed.attempts == 1  # dead, still "running"
    assert 6 <= before < 2 * PAIRS

    second = worker(settings, "--once")  # waits for the dead worker's lease to run out, then resumes the job
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output
    done = job(store, job_id)
    assert (done.status, done.total, done.done, done.failed, done.attempts) == ("done", PAIRS, PAIRS, 0, 2), output
    assert done.lease_owner is None and done.lease_owner != killed.lease_owner
    stored = verdicts(store)
    per_item = Counter((v.pair_id, v.order) for v in stored)
    assert len(per_item) == 2 * PAIRS and set(per_item.values()) == {1}  # every pair, both orders, once each
    assert all(v.error is None and v.job_id == job_id for v in stored)
    assert {(v.order, v.outcome) for v in stored} == {("ab", "a"), ("ba", "b")}  # the fake always picks the first
    assert done.result["verdicts"] == 2 * PAIRS - before  # the second worker judged only what was missing
    asked_after = fake.requests[settings.judge_model.split("/", 1)[1]] - asked_before
    assert asked_after <= 2 * PAIRS - before  # and asked the model for nothing already stored
    print(f"killed after {before} of {2 * PAIRS} verdicts; the second worker stored {done.result['verdicts']}, "
          f"asking the model {asked_after} times")  # fmt: skip


def test_cancel_stops_a_running_job_at_its_next_item_and_asking_again_resumes(fake: FakeServer, tmp_path: Path) -> None:
    settings, store, token = setup(tmp_path / "home", fake)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, store=store)) as client:  # the API's own worker runs the job
        pid = client.get("/projects", headers=auth).json()[0]["id"]
        reviewer = client.post("/annotators", json={"name": "rita", "role": "reviewer"}, headers=auth).json()["token"]
        client.post(f"/projects/{pid}/members", json={"annotator": "rita"}, headers=auth)
        started = client.post(f"/projects/{pid}/jobs/judge", json={"rubric": "hhh"}, headers=auth).json()
        assert started["status"] == "running"  # the API's worker had room: it holds the job already
        again = client.post(f"/projects/{pid}/jobs/judge", json={"rubric": "hhh@1.0.0"}, headers=auth).json()
        assert again["job"] == started["job"]  # the same request while it runs: the same job
        wait_for(lambda: len(verdicts(store)) >= 4, "two pairs judged")
        refused = client.post(f"/jobs/{started['job']}/cancel", headers={"Authorization": f"Bearer {reviewer}"})
        assert refused.status_code == 403
        cancel = client.post(f"/jobs/{started['job']}/cancel", headers=auth)
        assert cancel.status_code == 200 and cancel.json()["status"] in ("cancelling", "cancelled"), cancel.text
        wait_for(lambda: job(store, started["job"]).status == "cancelled", "the worker to stop")
        stopped = job(store, started["job"])
        assert stopped.done < PAIRS and stopped.lease_owner is None
        assert len(verdicts(store)) == 2 * stopped.done  # the items saved; the model calls in flight were dropped
        assert client.post(f"/jobs/{started['job']}/cancel", headers=auth).status_code == 409

        resumed = client.post(f"/projects/{pid}/jobs/judge", json={"rubric": "hhh"}, headers=auth).json()
        assert resumed["job"] != started["job"]  # a cancelled job is over; asking again starts a new one
        wait_for(lambda: job(store, resumed["job"]).status == "done", "the new job to finish")
    assert job(store, resumed["job"]).result["verdicts"] == 2 * (PAIRS - stopped.done)  # what was missing
    assert Counter(Counter((v.pair_id, v.order) for v in verdicts(store)).values()) == {1: 2 * PAIRS}


def test_rubricate_job_cancel_and_show(fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, store, _ = setup(tmp_path / "home", fake)
    with store.write() as session:
        queued = Repository(session).submit_job("judge", None, {"x": 1}, {"rubric": "hhh@1.0.0"}).id
    monkeypatch.setenv("RUBRICATE_HOME", str(settings.home))
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    runner = CliRunner()
    shown = runner.invoke(cli, ["job", "show", queued])
    assert shown.exit_code == 0 and f"judge job {queued} queued: 0/0 done" in shown.output
    cancelled = runner.invoke(cli, ["job", "cancel", queued, "--json"])
    assert cancelled.exit_code == 0 and '"status": "cancelled"' in cancelled.output
    twice = runner.invoke(cli, ["job", "cancel", queued])
    assert twice.exit_code == 2 and "already cancelled" in twice.output
