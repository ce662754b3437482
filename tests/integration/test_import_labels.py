"""Issue 13 item 2: an author cannot forge rankings by real accounts through an import."""

from __future__ import annotations

from sqlalchemy import select

from server.storage import Repository
from server.storage.tables import Annotator, Assignment, Ranking
from tests.conftest import Api


def _setup(api: Api) -> tuple[int, dict[str, str]]:
    pid = api.client.post("/projects", json={"name": "team"}, headers=api.auth()).json()["id"]
    author = api.auth(api.person("au", "author", "team"))
    row = {"id": "p1", "prompt": "Q?", "response_a": "A", "response_b": "B"}
    assert api.client.post(f"/projects/{pid}/import", json={"rows": [row]}, headers=author).status_code == 200
    return pid, author


def test_labels_naming_accounts_go_to_import_only_annotators(api: Api) -> None:
    pid, author = _setup(api)
    reviewer = api.auth(api.person("r1b", "reviewer", "team"))
    outsider = api.person("stranger", "reviewer")  # an account in no project
    pending = api.client.post(f"/projects/{pid}/assignments/next", headers=reviewer).json()["assignment"]
    row = {"id": "p1", "prompt": "Q?", "response_a": "A", "response_b": "B",
           "labels": {"r1b": "a", "admin": "tie", "stranger": "b"}}  # fmt: skip
    reply = api.client.post(f"/projects/{pid}/import", json={"rows": [row]}, headers=author)
    assert reply.status_code == 200 and reply.json()["rankings"] == 3
    with api.store.read() as session:
        names = {n for _, n in session.execute(select(Ranking.id, Annotator.name).join(Annotator))}
        imported = session.scalars(select(Annotator).where(Annotator.name.in_(names))).all()
    assert names == {"team/r1b", "team/admin", "team/stranger"}
    assert all(a.token_hash is None for a in imported)
    assert api.client.get("/projects", headers=api.auth(outsider)).json() == []  # not silently made a member
    key = {"Idempotency-Key": "k-123456"}
    sent = api.client.post(f"/assignments/{pending['id']}/ranking", json={"outcome": "b"}, headers=reviewer | key)
    assert sent.status_code == 201, sent.text  # the real reviewer's assignment still takes their ranking


def test_only_admins_import_labels_as_accounts(api: Api) -> None:
    pid, author = _setup(api)
    reviewer = api.auth(api.person("r1b", "reviewer", "team"))
    pending = api.client.post(f"/projects/{pid}/assignments/next", headers=reviewer).json()["assignment"]
    body = {"rows": [{"id": "p1", "prompt": "Q?", "response_a": "A", "response_b": "B", "labels": {"r1b": "a"}}],
            "labels_as_accounts": True}  # fmt: skip
    assert api.client.post(f"/projects/{pid}/import", json=body, headers=author).status_code == 403
    assert api.client.post(f"/projects/{pid}/import", json=body, headers=api.auth()).status_code == 200
    with api.store.read() as session:
        assignment = session.get(Assignment, pending["id"])
        ranked = Repository(session).annotator_by_name("r1b")
        assert assignment is not None and assignment.status == "done"  # answered by the import, not open forever
        assert session.scalar(select(Ranking.annotator_id)) == ranked.id  # type: ignore[union-attr]


def test_an_id_matching_a_pair_with_other_texts_is_an_error(api: Api) -> None:
    pid, author = _setup(api)
    row = {"id": "p1", "prompt": "Q?", "response_a": "A changed", "response_b": "B"}
    reply = api.client.post(f"/projects/{pid}/import", json={"rows": [row]}, headers=author)
    assert reply.status_code == 422 and "rows[0]: id 'p1'" in reply.json()["error"]["message"]
    assert api.client.get(f"/projects/{pid}", headers=author).json()["counts"]["responses"] == 2
