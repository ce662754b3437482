"""Issue 13 item 8: membership answers what it stored, can be changed and removed, never above the
granter's role, and does not let authors enumerate account names."""

from __future__ import annotations

from server.storage import Repository
from tests.conftest import Api


def _project(api: Api) -> tuple[int, dict[str, str]]:
    pid = api.client.post("/projects", json={"name": "team"}, headers=api.auth()).json()["id"]
    return pid, api.auth(api.person("au", "author", "team"))


def test_adding_an_existing_member_with_another_role_is_409_not_a_false_201(api: Api) -> None:
    pid, author = _project(api)
    api.person("rita", "reviewer", "team")
    url = f"/projects/{pid}/members"
    again = api.client.post(url, json={"annotator": "rita", "role": "reviewer"}, headers=author)
    assert again.status_code == 200 and again.json()["role"] == "reviewer"
    other = api.client.post(url, json={"annotator": "rita", "role": "viewer"}, headers=author)
    assert other.status_code == 409
    with api.store.read() as session:
        repo = Repository(session)
        assert repo.membership(pid, repo.annotator_by_name("rita").id).role == "reviewer"  # type: ignore[union-attr]


def test_members_can_be_changed_and_removed(api: Api) -> None:
    pid, author = _project(api)
    rita = api.auth(api.person("rita", "reviewer", "team"))
    changed = api.client.put(f"/projects/{pid}/members/rita", json={"role": "viewer"}, headers=author)
    assert changed.status_code == 200 and changed.json()["role"] == "viewer"
    assert api.client.get(f"/projects/{pid}", headers=rita).json()["role"] == "viewer"
    assert api.client.delete(f"/projects/{pid}/members/rita", headers=author).status_code == 204
    assert api.client.get(f"/projects/{pid}", headers=rita).status_code == 404


def test_an_author_cannot_grant_admin(api: Api) -> None:
    pid, author = _project(api)
    api.person("rita", "reviewer", "team")
    assert api.client.put(f"/projects/{pid}/members/rita", json={"role": "admin"}, headers=author).status_code == 403
    reply = api.client.post(f"/projects/{pid}/members", json={"annotator": "rita", "role": "admin"}, headers=author)
    assert reply.status_code == 403
    by_admin = api.client.put(f"/projects/{pid}/members/rita", json={"role": "admin"}, headers=api.auth())
    assert by_admin.status_code == 200


def test_authors_cannot_tell_unknown_names_from_strangers(api: Api) -> None:
    pid, author = _project(api)
    api.person("stranger", "reviewer")  # exists, shares no project with the author
    url = f"/projects/{pid}/members"
    unknown = api.client.post(url, json={"annotator": "nobody"}, headers=author)
    stranger = api.client.post(url, json={"annotator": "stranger"}, headers=author)
    assert unknown.status_code == stranger.status_code == 404
    assert unknown.json()["error"]["message"].replace("nobody", "X") == stranger.json()["error"]["message"].replace(
        "stranger", "X"
    )
    assert api.client.post(url, json={"annotator": "stranger"}, headers=api.auth()).status_code == 201  # admins can
