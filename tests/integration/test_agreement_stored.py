"""The agreement report is computed by the agreement job, stored with its inputs' fingerprint, and served
from storage until the labels change (server/agreement/stored.py, server/jobs/agreement.py).

"Not recomputed" is asserted through a counter on the function that computes a report and through the
stored row (its job and computation time stay the same); "changed" through the fingerprint of every
kind of label write, one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rubrics.loader import LIBRARY, load_rubric
from server.agreement import stored
from server.agreement.models import ReportOptions
from server.agreement.stored import current_fingerprint
from server.jobs.agreement import served_report
from server.rubric_registry import publish
from server.storage import Repository, Store
from tests.conftest import Api
from tests.support.agreement_world import World, build

OPTIONS = ReportOptions(resamples=20)


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many reports were computed (each call of the function the agreement job computes with)."""
    calls: list[int] = []
    real = stored.finish_report

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(stored, "finish_report", counting)
    yield calls


def _fingerprint(store: Store, world: World, options: ReportOptions = OPTIONS) -> str:
    with store.read() as session:
        return current_fingerprint(Repository(session), world.project_id, options)


def _jobs(store: Store, world: World) -> list[tuple[str, str]]:
    with store.read() as session:
        return [(job.kind, job.status) for job in Repository(session).jobs(world.project_id)]


def _new_ranker(store: Store, world: World, name: str = "dee") -> None:
    """One more ranking: a new reviewer ranks the first pair."""
    with store.write() as session:
        repo = Repository(session)
        person, _ = repo.create_annotator(name, "reviewer")
        pair = repo.pairs(world.project_id, limit=1)[0]
        repo.add_ranking(project_id=world.project_id, pair_id=pair.id, annotator_id=person.id, outcome="b")


def test_stored_report_is_reused_until_one_new_ranking(store: Store, computed: list[int]) -> None:
    world = build(store)
    first = served_report(store, world.project_id, OPTIONS)
    assert computed == [1] and first.stored is not None and not first.stored.stale
    assert first.stored.job is not None and _jobs(store, world) == [("agreement", "done")]

    again = served_report(store, world.project_id, OPTIONS)
    assert computed == [1], "nothing changed: served from storage, not recomputed"
    assert again.stored == first.stored  # the same stored row: same job, fingerprint, computation time
    assert again.model_dump(exclude={"stored"}) == first.model_dump(exclude={"stored"})
    assert _jobs(store, world) == [("agreement", "done")]

    other = served_report(store, world.project_id, OPTIONS.model_copy(update={"seed": 1}))
    assert computed == [1, 1] and other.stored is not None and other.stored.job != first.stored.job

    _new_ranker(store, world)
    after = served_report(store, world.project_id, OPTIONS)
    assert computed == [1, 1, 1]
    assert after.stored is not None and after.stored.job != first.stored.job
    assert after.stored.fingerprint != first.stored.fingerprint
    assert after.counts.rankings == first.counts.rankings + 1 and after.counts.annotators == 4
    assert served_report(store, world.project_id, OPTIONS).stored == after.stored
    assert computed == [1, 1, 1]


def _pair(repo: Repository, world: World, number: int) -> Any:
    return repo.pairs(world.project_id, offset=number, limit=1)[0]


def _changes(world: World) -> dict[str, Callable[[Repository], Any]]:
    """One write of each kind a report reads, each in its own transaction."""

    def ranking(repo: Repository) -> None:
        person, _ = repo.create_annotator("eve", "reviewer")
        repo.add_ranking(project_id=world.project_id, pair_id=_pair(repo, world, 4).id, annotator_id=person.id,
                         outcome="a")  # fmt: skip

    def verdict(repo: Repository) -> None:
        repo.add_verdict(key="new-j3", project_id=world.project_id, pair_id=_pair(repo, world, 4).id,
                         judge_model="j3", outcome="a")  # fmt: skip

    def verdict_answered_again(repo: Repository) -> None:  # a failed verdict replaced in place (same id)
        failed = next(v for v in repo.verdicts(world.project_id) if v.error is not None)
        repo.replace_verdict(failed.id, job_id="j", outcome="b", criteria={}, confidence=None, rationale=None,
                             raw="b", error=None, params={}, usage={}, latency_s=None, meta={})  # fmt: skip

    def adjudication(repo: Repository) -> None:
        admin, _ = repo.create_annotator("ada", "admin")
        repo.set_adjudication(_pair(repo, world, 7), admin, "a", "")

    def adjudication_overturned(repo: Repository) -> None:  # the existing adjudication, changed in place
        admin = repo.annotator_by_name("ada")
        assert admin is not None
        repo.set_adjudication(_pair(repo, world, 7), admin, "b", "on second thought")

    def gold(repo: Repository) -> None:
        repo.set_gold(_pair(repo, world, 9), "a")

    def pair(repo: Repository) -> None:
        prompt = repo.add_prompt(world.project_id, [{"role": "user", "content": "one more"}], is_chat=False)
        a, b = repo.add_response(prompt.id, "x", source="import"), repo.add_response(prompt.id, "y", source="import")
        repo.add_pair(world.project_id, prompt.id, a, b, key="extra")

    return {
        "ranking": ranking, "verdict": verdict, "verdict answered again": verdict_answered_again,
        "adjudication": adjudication, "adjudication overturned": adjudication_overturned, "gold": gold,
        "pair": pair,
    }  # fmt: skip


def test_fingerprint_changes_with_each_kind_of_label_change(store: Store) -> None:
    world = build(store)
    seen = {_fingerprint(store, world)}
    assert _fingerprint(store, world) in seen  # nothing written: the same fingerprint
    for kind, change in _changes(world).items():
        with store.write() as session:
            change(Repository(session))
        now = _fingerprint(store, world)
        assert now not in seen, f"{kind}: the fingerprint did not change"
        seen.add(now)
    hhh = load_rubric(LIBRARY / "hhh.yaml")
    publish(store, hhh.model_copy(update={"version": "2.0.0", "description": "Another."}))
    assert _fingerprint(store, world) not in seen, "a newly published rubric version changes what NAME means"
    assert _fingerprint(store, world) != _fingerprint(store, world, OPTIONS.model_copy(update={"failed": "exclude"}))


def test_writes_that_are_not_labels_keep_the_stored_report(store: Store, computed: list[int]) -> None:
    """Assignments handed out and job rows (the agreement job's own among them) change nothing it reads."""
    world = build(store)
    first = served_report(store, world.project_id, OPTIONS)
    before = _fingerprint(store, world)
    with store.write() as session:
        repo = Repository(session)
        person, _ = repo.create_annotator("fay", "reviewer")
        pair = repo.pairs(world.project_id, limit=1)[0]
        repo.add_assignment(project_id=world.project_id, pair_id=pair.id, annotator_id=person.id, mode="blind",
                            swapped=False)  # fmt: skip
        repo.create_job("other-job", "judge", world.project_id, {})
    assert _fingerprint(store, world) == before
    assert served_report(store, world.project_id, OPTIONS).stored == first.stored and computed == [1]


def _wait_done(api: Api, job: str) -> dict[str, Any]:
    for _ in range(1200):
        found = api.client.get(f"/jobs/{job}", headers=api.auth()).json()
        if found["status"] != "running":
            return found
        time.sleep(0.05)
    raise AssertionError(f"job {job} still running after a minute")


def test_api_serves_the_stored_report_and_answers_stale_without_waiting(api: Api, computed: list[int]) -> None:
    world = build(api.store)
    url, params = f"/projects/{world.project_id}/agreement", {"resamples": 20}
    missing = api.client.get(url, params={**params, "wait": "false"}, headers=api.auth())
    assert missing.status_code == 202 and missing.json()["kind"] == "agreement"
    assert _wait_done(api, missing.json()["job"])["status"] == "done" and computed == [1]

    served = api.client.get(url, params=params, headers=api.auth()).json()
    assert served["stored"]["job"] == missing.json()["job"] and served["stored"]["stale"] is False
    assert computed == [1]

    _new_ranker(api.store, world)
    stale = api.client.get(url, params={**params, "wait": "false"}, headers=api.auth())
    assert stale.status_code == 200
    body = stale.json()
    assert body["stored"]["stale"] is True and body["stored"]["job"] == missing.json()["job"]
    assert body["counts"]["rankings"] == served["counts"]["rankings"]  # the stored numbers, said to be stale
    assert _wait_done(api, body["stored"]["refresh"])["status"] == "done" and computed == [1, 1]
    fresh = api.client.get(url, params=params, headers=api.auth()).json()
    assert fresh["stored"]["job"] == body["stored"]["refresh"] and fresh["stored"]["stale"] is False
    assert fresh["counts"]["rankings"] == served["counts"]["rankings"] + 1 and computed == [1, 1]
