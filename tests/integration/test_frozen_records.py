"""Reads are frozen: every aggregate's reads hand out records (the tables' column names), never live rows.

A record cannot be assigned to, so a change to stored data can only go through a typed write method of the
repository (audited by the flush hook); a record read before such a write keeps what it read.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import DeclarativeBase

from server.storage import Repository, Store, records, tables


def _frozen(record: Any, field: str, value: Any = None) -> None:
    """`record` is a records.* snapshot whose `field` cannot be assigned (nor a new attribute added)."""
    assert type(record).__module__ == "server.storage.records", type(record)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, field, value)
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        record.not_a_column = 1


def _world(store: Store) -> dict[str, Any]:
    """One of everything the repository stores, written through its write methods."""
    with store.write() as session:
        repo = Repository(session)
        person, _ = repo.create_annotator("rita", "reviewer")
        project = repo.create_project("frozen", "records only")
        repo.add_member(project, person)
        prompt = repo.add_prompt(project.id, [{"role": "user", "content": "Hi"}], is_chat=True)
        a = repo.add_response(prompt.id, "Hello", source="import")
        b = repo.add_response(prompt.id, "Yo", source="import")
        pair = repo.add_pair(project.id, prompt.id, a, b, key="k1")
        version = repo.add_rubric_version("hhh", "1.0.0", {"name": "hhh", "version": "1.0.0"}, "0" * 64)
        repo.add_verdict(key="v1", project_id=project.id, pair_id=pair.id, judge_model="j", outcome="a")
        repo.add_ranking(project_id=project.id, pair_id=pair.id, annotator_id=person.id, outcome="a")
        repo.set_adjudication(pair, person, "b", "b says more")
        assignment = repo.add_assignment(
            project_id=project.id, pair_id=pair.id, annotator_id=person.id, mode="blind", swapped=False
        )
        repo.create_job("job-1", "judge", project.id, {"rubric": "hhh"}, total=2)
        repo.add_job_error("job-1", "pair 1", "timeout")
    return {
        "person": person,
        "project": project.id,
        "prompt": prompt.id,
        "pair": pair.id,
        "version": version.id,
        "assignment": assignment.id,
    }


def test_a_pair_read_from_the_repository_cannot_be_assigned_to(store: Store) -> None:
    ids = _world(store)
    with store.read() as session:
        pair = Repository(session).pair(ids["pair"])
    assert isinstance(pair, records.Pair) and pair.key == "k1" and pair.is_gold is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.is_gold = True  # type: ignore[misc]
    with store.write() as session:  # the typed write changes the store, not a record read before it
        after = Repository(session).set_gold(pair, "a")
    assert (after.is_gold, after.gold_outcome) == (True, "a") and (pair.is_gold, pair.gold_outcome) == (False, None)
    with store.read() as session:
        assert Repository(session).pair(ids["pair"]).gold_outcome == "a"


def test_projects_and_memberships_are_frozen(store: Store) -> None:
    ids = _world(store)
    with store.read() as session:
        repo = Repository(session)
        project = repo.project(ids["project"])
        reads = [project, repo.project_by_name("frozen"), *repo.projects_for(ids["person"]), *repo.projects_for_all()]
        membership = repo.membership(ids["project"], ids["person"].id)
    assert {p.name for p in reads} == {"frozen"} and project.description == "records only"
    for read in reads:
        _frozen(read, "settings", {"review": {}})
    assert membership is not None and membership.role == "reviewer"
    _frozen(membership, "role", "admin")
    with store.write() as session:
        repo = Repository(session)
        changed = repo.update_project_settings(project, {"review": {"overlap": 2}})
        role = repo.set_member_role(ids["project"], ids["person"].id, "viewer")
    assert changed.settings == {"review": {"overlap": 2}} and project.settings == {}
    assert role.role == "viewer" and membership.role == "reviewer"
    _frozen(changed, "name")


def test_prompts_responses_pairs_and_pair_views_are_frozen(store: Store) -> None:
    ids = _world(store)
    with store.read() as session:
        repo = Repository(session)
        prompts = [*repo.prompts(ids["project"]), *repo.prompt_hashes(ids["project"]).values()]
        responses = [*repo.responses_for_prompt(ids["prompt"]), *repo.responses_from(ids["prompt"], "import")]
        responses += list(repo.responses_by_hash(ids["project"]).values())
        pairs = [*repo.pairs(ids["project"]), *repo.pair_keys(ids["project"]).values()]
        (view,) = repo.pair_views(pairs[:1])
    assert [p.messages for p in prompts] == [[{"role": "user", "content": "Hi"}]] * 2
    assert sorted(r.text for r in responses) == ["Hello", "Hello", "Hello", "Yo", "Yo", "Yo"]
    for prompt in prompts:
        _frozen(prompt, "reference", "changed")
    for response in responses:
        _frozen(response, "text", "changed")
    for pair in pairs:
        _frozen(pair, "gold_outcome", "b")
    assert (view.response_a.text, view.response_b.text, view.prompt.id) == ("Hello", "Yo", ids["prompt"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.adjudication = None  # type: ignore[misc]
    for part in (view.pair, view.prompt, view.response_a, view.response_b, view.adjudication, *view.verdicts):
        _frozen(part, "id", 0)
    ((ranking, name),) = view.rankings
    assert name == "rita" and ranking.outcome == "a"
    _frozen(ranking, "outcome", "b")


def test_labels_are_frozen(store: Store) -> None:
    ids = _world(store)
    person = ids["person"]
    with store.read() as session:
        repo = Repository(session)
        verdicts = [*repo.verdicts(ids["project"]), *repo.verdicts_by_key(["v1"]).values()]
        rankings = [*repo.rankings(ids["project"]), repo.ranking_for(ids["pair"], person.id)]
    assert [v.outcome for v in verdicts] == ["a", "a"] and [r.outcome for r in rankings] == ["a", "a"]
    for verdict in verdicts:
        _frozen(verdict, "outcome", "b")
    for ranking in rankings:
        _frozen(ranking, "mode", "assisted")
    with store.write() as session:
        repo = Repository(session)
        replaced = repo.replace_verdict(
            verdicts[0].id, job_id="job-1", outcome="tie", criteria={}, confidence=None, rationale=None, raw=None,
            error=None, params={}, usage={}, latency_s=None, meta={},
        )  # fmt: skip
        adjudication = repo.set_adjudication(repo.pair(ids["pair"]), person, "tie", "equal")
    assert replaced.outcome == "tie" and verdicts[0].outcome == "a"
    _frozen(replaced, "outcome", "a")
    _frozen(adjudication, "outcome", "a")


def test_assignments_are_frozen(store: Store) -> None:
    ids = _world(store)
    person = ids["person"]
    with store.read() as session:
        repo = Repository(session)
        reads = [repo.assignment(ids["assignment"]), repo.pending_assignment(ids["project"], person.id)]
    for read in reads:
        _frozen(read, "status", "done")
    with store.write() as session:
        repo = Repository(session)
        locked = repo.lock_assignment(ids["assignment"])
        done = repo.finish_assignment(ids["assignment"], "skipped", at=datetime.now(UTC), reason="unclear")
    assert (done.status, done.skip_reason) == ("skipped", "unclear") and reads[0].status == "pending"
    _frozen(locked, "status", "done")
    _frozen(done, "status", "done")


def test_jobs_rubric_versions_and_audit_events_are_frozen(store: Store) -> None:
    ids = _world(store)
    with store.read() as session:
        repo = Repository(session)
        jobs = [repo.job("job-1"), *repo.jobs(ids["project"]), *repo.jobs()]
        (error,) = repo.job_errors("job-1")
        versions = [repo.rubric_version(ids["version"]), *repo.rubric_versions("hhh")]
        events = repo.audit_events(limit=5)
    assert {(j.kind, j.total) for j in jobs} == {("judge", 2)} and error.error == "timeout"
    for job in jobs:
        _frozen(job, "done", 2)
    _frozen(error, "error", "")
    assert [v.version for v in versions] == ["1.0.0", "1.0.0"]
    for version in versions:
        _frozen(version, "content", {})
    assert events and all(event.action for event in events)
    for event in events:
        _frozen(event, "action", "forged")
    with store.write() as session:
        updated = Repository(session).update_job("job-1", done=2, status="done")
    assert (updated.done, updated.status) == (2, "done") and jobs[0].done == 0


@pytest.mark.parametrize("record", records.RECORDS, ids=lambda r: r.__name__)
def test_each_record_has_exactly_its_tables_column_names(record: type[records.Record]) -> None:
    table: type[DeclarativeBase] = getattr(tables, record.__name__)
    assert [field.name for field in dataclasses.fields(record)] == [c.key for c in table.__table__.columns]
    assert record.__tablename__ == table.__tablename__  # audit events name a record's object as they name a row's
