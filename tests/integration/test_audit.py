"""Every write appends an audit event: each write route and each job write leaves exactly its events.

The events come from one flush hook (server/storage/audit.py), so a write cannot forget them: these tests
count them per call, by action, with the actor who made the call.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rubrics.loader import LIBRARY, load_rubric
from server.imports.service import import_rows
from server.jobs import DraftRequest, JudgeRequest, draft_job, judge_job
from server.rubric_registry import publish
from server.storage import Repository, Store
from server.storage.audit import AUDITED, audited_tables
from server.storage.tables import AuditEvent, Pair, Ranking, Response, Verdict
from tests.conftest import Api
from tests.support.fake_backend import ScriptedBackend


def events(store: Store) -> list[AuditEvent]:
    with store.read() as session:
        return list(session.query(AuditEvent).order_by(AuditEvent.id))


def leaves(store: Store, write: Callable[[], Any]) -> tuple[Any, Counter[str], list[AuditEvent]]:
    """Run a write; the result, and the audit events it appended (counted by action, and as rows)."""
    before = len(events(store))
    result = write()
    new = events(store)[before:]
    return result, Counter(e.action for e in new), new


def test_every_table_but_the_log_the_cache_and_the_rate_counters_is_audited() -> None:
    assert audited_tables() == set(AUDITED)
    assert "rate_windows" not in audited_tables()


def test_rate_limit_hits_are_counted_in_the_store_and_leave_no_events(api: Api) -> None:
    """A failed sign-in is a write to `rate_windows` (so every API process shares it), not an audited act."""
    wrong = {"Authorization": "Bearer rbk_wrong"}
    reply, found, _ = leaves(api.store, lambda: api.client.get("/projects", headers=wrong))
    assert reply.status_code == 401 and found == Counter()
    with api.store.read() as session:
        key = "LIMITER/auth/testclient/30/1/minute"
        assert Repository(session).moving_window(key, expiry=60, now=time.time())[1] == 1


def test_each_write_route_leaves_exactly_its_events(api: Api) -> None:
    client, store, admin = api.client, api.store, api.auth()

    def post(path: str, body: Any = None, who: dict[str, str] = admin, **headers: str) -> Callable[[], Any]:
        return lambda: client.post(path, json=body, headers=who | headers)

    def put(path: str, body: Any) -> Callable[[], Any]:
        return lambda: client.put(path, json=body, headers=admin)

    reply, found, rows = leaves(store, post("/projects", {"name": "p"}))
    pid = reply.json()["id"]
    assert found == {"project.create": 1, "member.add": 1}  # the author becomes a member
    rows = [r for r in rows if r.action == "project.create"]
    assert rows[0].after == {"name": "p"} and rows[0].project_id == pid
    admin_id = rows[0].actor_id
    assert admin_id is not None

    reply, found, _ = leaves(store, post("/annotators", {"name": "rita", "role": "reviewer"}))
    rita = {"Authorization": f"Bearer {reply.json()['token']}"}
    assert found == {"annotator.create": 1}
    _, found, _ = leaves(store, post(f"/projects/{pid}/members", {"annotator": "rita"}))
    assert found == {"member.add": 1}

    hhh = (LIBRARY / "hhh.yaml").read_text()
    _, found, _ = leaves(store, post("/rubrics", {"yaml": hhh}))
    assert found == {"rubric.create": 1, "rubric.publish": 1}
    _, found, _ = leaves(store, post("/rubrics", {"yaml": hhh}))
    assert found == {}  # unchanged: nothing written, nothing logged

    rows_in = [
        {"id": f"q{n}", "prompt": f"Q{n}?", "response_a": f"A{n}", "response_b": f"B{n}", "labels": {"ann": "a"},
         "verdicts": [{"judge": "j", "outcome": "b"}]}
        for n in range(3)
    ]  # fmt: skip
    _, found, _ = leaves(store, post(f"/projects/{pid}/import", {"rows": rows_in}))
    assert found == {
        "prompt.create": 3, "response.create": 6, "pair.create": 3, "annotator.create": 1, "member.add": 1,
        "ranking.create": 3, "verdict.create": 3, "project.import": 1,
    }  # fmt: skip

    settings = {"overlap": 1, "blind_fraction": 1.0, "gold_rate": 0.0, "rubric": "hhh"}
    _, found, rows = leaves(store, put(f"/projects/{pid}/review/settings", settings))
    assert found == {"project.update": 1} and rows[0].after["settings"]["review"]["rubric"] == "hhh@1.0.0"

    reply, found, rows = leaves(store, post(f"/projects/{pid}/assignments/next", None, rita))
    first = reply.json()["assignment"]["id"]
    assert found == {"assignment.create": 1} and rows[0].actor_id != admin_id
    ranking = {"outcome": "a", "seconds": 3.0}
    submit = post(f"/assignments/{first}/ranking", ranking, rita | {"Idempotency-Key": "key-00001"})
    _, found, rows = leaves(store, submit)
    assert found == {"ranking.create": 1, "assignment.update": 1}
    assert next(r for r in rows if r.action == "assignment.update").after["status"] == "done"
    _, found, _ = leaves(store, submit)
    assert found == {}  # an idempotent retry writes nothing

    reply, found, _ = leaves(store, post(f"/projects/{pid}/assignments/next", None, rita))
    second = reply.json()["assignment"]["id"]
    assert found == {"assignment.create": 1}
    skip = {"reason": "other", "note": "n"}
    _, found, rows = leaves(store, post(f"/assignments/{second}/skip", skip, rita))
    assert found == {"assignment.update": 1} and rows[0].before["status"] == "pending"

    with store.read() as session:
        pair = session.query(Pair).filter(Pair.project_id == pid).first().id
    body = {"outcome": "tie", "note": "both fine"}
    _, found, _ = leaves(store, post(f"/pairs/{pair}/adjudication", body))
    assert found == {"adjudication.create": 1}
    _, found, rows = leaves(store, post(f"/pairs/{pair}/adjudication", {"outcome": "a"}))
    assert found == {"adjudication.update": 1} and rows[0].before["outcome"] == "tie"
    assert rows[0].project_id == pid  # looked up through the pair: stored reports see the change
    _, found, rows = leaves(store, put(f"/pairs/{pair}/gold", {"outcome": "a"}))
    assert found == {"pair.update": 1} and rows[0].after == {"is_gold": True, "gold_outcome": "a"}

    export = {"format": "dpo", "source": "judge"}
    _, found, rows = leaves(store, post(f"/projects/{pid}/exports", export))
    assert found == {"job.start": 1, "job.update": 1} and rows[-1].after["status"] == "done"

    client.app.state.worker.stop()  # type: ignore[attr-defined]  # so the job below waits for a worker
    with store.write() as session:
        repo = Repository(session, Repository(session).annotator_by_name("admin"))
        queued = repo.submit_job("judge", pid, {"limit": 1}, {"rubric": "hhh@1.0.0", "limit": 1}).id
    _, found, rows = leaves(store, post(f"/jobs/{queued}/cancel"))
    assert found == {"job.update": 1} and rows[0].after == {"status": "cancelled"} and rows[0].actor_id == admin_id

    every = events(store)[1:]  # after the fixture's admin, made by nobody
    assert all(e.actor_id is not None for e in every)  # every write says who made it, job writes included
    assert all(e.actor_id is not None for e in every), [(e.action, e.object_type) for e in every if e.actor_id is None]


def _project(store: Store) -> Any:
    rows = [(f"t:{i}", {"id": i, "prompt": f"Q{i}?", "response_a": f"A{i}", "response_b": f"B{i}"}) for i in range(2)]
    rows.append(("t:9", {"prompt": "a prompt to draft for"}))
    import_rows(store, rows, project="p")
    publish(store, load_rubric(LIBRARY / "hhh.yaml"))
    with store.read() as session:
        return Repository(session).project_by_name("p")


def _verdict(messages: Any, model: Any, params: Any) -> dict[str, Any]:
    return {"helpful": "a", "honest": "a", "harmless": "tie", "overall": "a", "confidence": 4, "rationale": "r"}


async def test_job_writes_leave_exactly_their_events(store: Store, tmp_path: Path) -> None:
    project = _project(store)
    before = len(events(store))
    result = await judge_job(store, project, ScriptedBackend(respond=_verdict), JudgeRequest(rubric="hhh", limit=1))
    new = events(store)[before:]
    assert result.verdicts == 2
    with store.read() as session:
        verdicts = {str(v.id) for v in session.query(Verdict).filter(Verdict.source == "job")}
    assert Counter(e.action for e in new) == {"job.start": 1, "verdict.create": 2, "job.update": 2}
    assert {e.object_id for e in new if e.action == "verdict.create"} == verdicts
    assert [e.after.get("status") for e in new if e.action == "job.update"] == [None, "done"]  # progress, then done

    before = len(events(store))
    await judge_job(store, project, ScriptedBackend(respond=_verdict), JudgeRequest(rubric="hhh", limit=1))
    assert Counter(e.action for e in events(store)[before:]) == {"job.start": 1, "job.update": 2}  # nothing to redo

    answers = iter(["First draft.", "Second draft."])
    before = len(events(store))
    drafted = await draft_job(
        store, project, ScriptedBackend(respond=lambda m, r, p: next(answers)), DraftRequest(n=2, limit=1)
    )
    new = events(store)[before:]
    assert (drafted.responses, drafted.pairs_added) == (2, 1)
    assert Counter(e.action for e in new) == {"job.start": 1, "response.create": 2, "pair.create": 1, "job.update": 2}
    with store.read() as session:
        made = {str(r.id) for r in session.query(Response).filter(Response.source == "model:fake/judge")}
    assert {e.object_id for e in new if e.action == "response.create"} == made
    with store.read() as session:
        assert session.query(Ranking).count() == 0
