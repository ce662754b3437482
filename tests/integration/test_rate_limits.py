"""Issue 13 item 10: failed sign-ins are limited per client, heavy routes per token, resamples bounded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.storage import Repository, Store


def _app(store: Store, home: Path) -> tuple[TestClient, str, str, int]:
    with store.write() as session:
        repo = Repository(session)
        _, admin = repo.create_annotator("admin", "admin")
        _, viewer = repo.create_annotator("vic", "viewer")
        project = repo.create_project("p", "")
        repo.add_member(project, repo.annotator_by_name("vic"))  # type: ignore[arg-type]
        pid = project.id
    settings = Settings(home=home, database_url=store.url, rate_failed_auth="5/minute", rate_heavy="3/minute")
    return TestClient(create_app(settings, store=store)), admin or "", viewer or "", pid


def test_wrong_tokens_get_429_after_the_limit(store: Store, home: Path) -> None:
    client, admin, _, _ = _app(store, home)
    with client:
        codes = Counter(
            client.get("/projects", headers={"Authorization": f"Bearer rbk_wrong{i}"}).status_code for i in range(200)
        )
        assert codes == {401: 5, 429: 195}
        blocked = client.get("/projects", headers={"Authorization": f"Bearer {admin}"})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert blocked.json()["error"]["code"] == 429


def test_heavy_routes_are_limited_per_token_and_resamples_bounded(store: Store, home: Path) -> None:
    client, admin, viewer, pid = _app(store, home)
    url = f"/projects/{pid}/agreement?resamples=0"
    with client:
        assert client.get(f"/projects/{pid}/agreement?resamples=20000", headers={"Authorization": f"Bearer {viewer}"}
                          ).status_code == 422  # fmt: skip
        codes = [client.get(url, headers={"Authorization": f"Bearer {viewer}"}).status_code for _ in range(6)]
        assert codes[:2] == [200, 200] and codes[-1] == 429  # the 422 above counted too: 3 per minute
        assert client.get(url, headers={"Authorization": f"Bearer {admin}"}).status_code == 200  # another token


def test_wrong_tokens_on_the_review_turn_count_and_write_nothing(store: Store, home: Path) -> None:
    """The review routes sign in inside their write transaction: a wrong token there is counted against
    the same budget once that transaction has ended (401 × 5, then 429) and leaves no row behind."""
    client, admin, _, pid = _app(store, home)
    with store.read() as session:
        written_before = len(Repository(session).audit_events(limit=10_000))
    with client:
        wrong = [{"Authorization": f"Bearer rbk_wrong{i}"} for i in range(8)]
        codes = [
            client.post(f"/projects/{pid}/assignments/next", headers=h).status_code if i % 2 else
            client.post("/assignments/1/ranking", json={"outcome": "a"},
                        headers=h | {"Idempotency-Key": f"key-{i:04d}"}).status_code
            for i, h in enumerate(wrong)
        ]  # fmt: skip
        assert codes == [401] * 5 + [429] * 3
        assert client.post(f"/projects/{pid}/assignments/next", headers={"Authorization": f"Bearer {admin}"}
                           ).status_code == 429  # fmt: skip
    with store.read() as session:
        assert len(Repository(session).audit_events(limit=10_000)) == written_before
