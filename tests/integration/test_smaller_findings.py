"""Issue 13 item 12, on real SQLite and PostgreSQL: the smaller findings of the outside attack."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from server.imports.schema import ImportRow
from server.storage import Store, open_store
from server.storage.tables import AuditEvent, Pair, Ranking, Verdict
from tests.conftest import Api
from tests.integration.test_review import make_pairs


def test_reused_idempotency_key_with_another_body_is_409(api: Api) -> None:
    pid = make_pairs(api.store, 2)
    token = api.auth(api.person("rev1", "reviewer", "rev"))
    item = api.client.post(f"/projects/{pid}/assignments/next", headers=token).json()["assignment"]
    headers = token | {"Idempotency-Key": "same-key-123"}
    url = f"/assignments/{item['id']}/ranking"
    assert api.client.post(url, json={"outcome": "a", "rationale": "r"}, headers=headers).status_code == 201
    assert api.client.post(url, json={"outcome": "a", "rationale": "r"}, headers=headers).status_code == 200
    changed = api.client.post(url, json={"outcome": "b", "rationale": "r"}, headers=headers)
    assert changed.status_code == 409 and "different body" in changed.json()["error"]["message"]
    with api.store.read() as session:
        assert session.scalar(select(Ranking.outcome)) is not None
        assert session.scalar(select(func.count()).select_from(Ranking)) == 1


def test_verdict_order_must_be_ab_or_ba() -> None:
    row = {"prompt": "p", "response_a": "a", "response_b": "b", "verdicts": [{"judge": "j", "outcome": "a"}]}
    assert ImportRow.model_validate(row).verdicts[0].order == "ab"
    row["verdicts"][0]["order"] = "zz"
    with pytest.raises(ValueError, match="order"):
        ImportRow.model_validate(row)


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "rubricate.db"
    store = open_store(f"sqlite:///{path}")
    with store.write() as session:
        session.execute(text("select 1"))
    for file in path.parent.glob("rubricate.db*"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    store.dispose()


def test_404_for_a_pair_in_another_project_names_no_project(api: Api) -> None:
    pid = make_pairs(api.store, 1, project="secret-project")
    with api.store.read() as session:
        pair_id = session.scalar(select(Pair.id))
    outsider = api.auth(api.person("out", "author"))
    for method, url, body in [
        ("get", f"/pairs/{pair_id}", None),
        ("post", f"/pairs/{pair_id}/adjudication", {"outcome": "a"}),
        ("put", f"/pairs/{pair_id}/gold", {"outcome": "a"}),
    ]:
        reply = api.client.request(method, url, json=body, headers=outsider)
        assert reply.status_code == 404
        message = reply.json()["error"]["message"]
        assert message == f"pair {pair_id} not found" and str(pid) not in message.replace(str(pair_id), "")


def test_audit_events_cannot_be_updated_or_deleted(store: Store) -> None:
    make_pairs(store, 1)
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) > 0
    for statement in ("update audit_events set action = 'forged'", "delete from audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
            connection.execute(text(statement))
    if store.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
            connection.execute(text("truncate audit_events"))
    with store.read() as session:
        assert "forged" not in set(session.scalars(select(AuditEvent.action)))


def test_long_keys_orders_and_nul_fit_both_databases(api: Api) -> None:
    """pairs.key is String(300) and verdicts.order String(2); NUL cannot be stored in PostgreSQL text."""
    pid = api.client.post("/projects", json={"name": "edge"}, headers=api.auth()).json()["id"]
    row = {"prompt": "p", "response_a": "a", "response_b": "b", "verdicts": [{"judge": "j", "outcome": "a"}]}
    longest = api.client.post(f"/projects/{pid}/import", json={"rows": [row | {"id": "x" * 256}]}, headers=api.auth())
    assert longest.status_code == 200, longest.text
    too_long = api.client.post(f"/projects/{pid}/import", json={"rows": [row | {"id": "y" * 257}]}, headers=api.auth())
    assert too_long.status_code == 422 and "rows.0.id" in too_long.json()["error"]["message"]
    bad_order = row | {"verdicts": [{"judge": "j", "outcome": "a", "order": "abc"}]}
    reply = api.client.post(f"/projects/{pid}/import", json={"rows": [bad_order]}, headers=api.auth())
    assert reply.status_code == 422 and "order" in reply.json()["error"]["message"]
    headers = api.auth() | {"Content-Type": "application/json"}
    nul = '{"rows": [{"prompt": "p\\u0000", "response_a": "a", "response_b": "b"}]}'
    reply = api.client.post(f"/projects/{pid}/import", content=nul, headers=headers)
    assert reply.status_code == 422
    with api.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Pair)) == 1
        assert set(session.scalars(select(Verdict.order))) == {"ab"}
