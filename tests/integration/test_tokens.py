"""Issue 13 item 9: tokens can be rotated, revoked and expired, by API (admins for anyone, everyone
for their own) and CLI, each with an audit event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from server.cli import app as cli
from server.storage.tables import AuditEvent
from tests.conftest import Api


def _actions(api: Api) -> list[str]:
    with api.store.read() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("token.%"))))


def test_own_token_rotate_expire_revoke(api: Api) -> None:
    old = api.person("rita", "reviewer")
    rotated = api.client.post("/annotators/rita/token", json={}, headers=api.auth(old))
    assert rotated.status_code == 201
    new = rotated.json()["token"]
    assert api.client.get("/me", headers=api.auth(old)).status_code == 401
    assert api.client.get("/me", headers=api.auth(new)).json()["name"] == "rita"
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    assert (
        api.client.put("/annotators/rita/token/expiry", json={"expires_at": past}, headers=api.auth(new)).status_code
        == 200
    )
    assert api.client.get("/me", headers=api.auth(new)).status_code == 401
    again = api.client.post("/annotators/rita/token", json={}, headers=api.auth()).json()["token"]  # admin for rita
    assert api.client.delete("/annotators/rita/token", headers=api.auth(again)).status_code == 204
    assert api.client.get("/me", headers=api.auth(again)).status_code == 401
    assert _actions(api) == ["token.rotate", "token.expire", "token.rotate", "token.revoke"]


def test_others_tokens_are_for_admins_only(api: Api) -> None:
    rita = api.person("rita", "reviewer")
    api.person("bob", "author")
    for method, url in [("post", "/annotators/bob/token"), ("delete", "/annotators/bob/token")]:
        assert (
            api.client.request(method, url, json={} if method == "post" else None, headers=api.auth(rita)).status_code
            == 404
        )
    assert api.client.delete("/annotators/bob/token", headers=api.auth()).status_code == 204


def test_cli_rotates_expires_and_revokes(api: Api, home: Path) -> None:
    api.person("rita", "reviewer")
    runner = CliRunner()
    rotated = runner.invoke(cli, ["annotator", "rotate-token", "rita", "--expires-in-days", "1", "--json"])
    assert rotated.exit_code == 0, rotated.output
    token = json.loads(rotated.output)["token"]
    assert api.client.get("/me", headers=api.auth(token)).status_code == 200
    assert runner.invoke(cli, ["annotator", "expire-token", "rita", "--in-days", "0"]).exit_code == 0
    assert api.client.get("/me", headers=api.auth(token)).status_code == 401
    assert runner.invoke(cli, ["annotator", "revoke-token", "rita"]).exit_code == 0
    missing = runner.invoke(cli, ["annotator", "revoke-token", "nobody"])
    assert missing.exit_code == 2
    assert _actions(api) == ["token.rotate", "token.expire", "token.revoke"]
