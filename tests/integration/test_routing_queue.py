"""The review queue follows the routing, over the real API on SQLite and PostgreSQL: escalated pairs first,
most uncertain first; accepted pairs only as a blind audit sample; each assignment says why it is there.

The project of tests/integration/test_routing_store.py: 40 unlabelled pairs routed at α = δ = 0.1, 28 accepted
(confidence ≥ 0.3) and 12 escalated (confidence 0.0, 0.1, 0.2: uncertainty 1.0, 0.9, 0.8, four pairs each).
"""

from __future__ import annotations

from typing import Any

import pytest

from server.routing.queue import audit_sampled
from server.storage import Repository
from tests.conftest import Api
from tests.integration.test_routing_store import load


def drain(api: Api, pid: int, token: str) -> list[dict[str, Any]]:
    """Every assignment the reviewer is served, skipping each one to get the next."""
    served = []
    while item := api.client.post(f"/projects/{pid}/assignments/next", headers=api.auth(token)).json()["assignment"]:
        served.append(item)
        skipped = api.client.post(f"/assignments/{item['id']}/skip", json={"reason": "other"}, headers=api.auth(token))
        assert skipped.status_code == 204, skipped.text
    return served


def test_escalated_first_most_uncertain_first_then_a_blind_audit_sample(api: Api) -> None:
    pid = load(api.store)
    settings = {"overlap": 1, "blind_fraction": 0.0, "gold_rate": 0.0, "audit_rate": 0.25}
    assert api.client.put(f"/projects/{pid}/review/settings", json=settings, headers=api.auth()).status_code == 200
    body = {"judges": ["j"], "signal": "confidence", "alpha": 0.1, "delta": 0.1}
    cid = api.client.post(f"/projects/{pid}/calibrations", json=body, headers=api.auth()).json()["calibration"]
    api.client.post(f"/projects/{pid}/calibrations/{cid}/route", headers=api.auth())
    with api.store.read() as session:
        keys = {p.id: int(p.key.removeprefix("import:row-")) for p in Repository(session).pairs(pid)}
    rita = api.person("rita", "reviewer", "routed")

    served = drain(api, pid, rita)
    rows = [keys[api_pair(api, item)] for item in served]
    reasons = [item["reason"] for item in served]
    escalated = [row for row, why in zip(rows, reasons, strict=True) if why == "escalated"]
    assert reasons[:12] == ["escalated"] * 12 and len(escalated) == 12
    assert [row % 10 for row in escalated] == [0] * 4 + [1] * 4 + [2] * 4  # most uncertain first
    audit = [row for row, why in zip(rows, reasons, strict=True) if why == "audit"]
    accepted = [pair for pair, row in keys.items() if row >= 80 and row % 10 >= 3]
    expected = sorted(keys[pair] for pair in accepted if audit_sampled(pair, 0.25))
    assert sorted(audit) == expected and 0 < len(audit) < 28  # only the sample of the 28 accepted
    assert reasons[12 : 12 + len(audit)] == ["audit"] * len(audit)
    assert all(item["mode"] == "blind" for item in served if item["reason"] == "audit")  # blind_fraction is 0
    assert all(item["mode"] == "assisted" for item in served if item["reason"] == "escalated")
    rest = rows[12 + len(audit) :]
    assert sorted(rest) == list(range(80)) and set(reasons[12 + len(audit) :]) == {None}  # labelled, not routed


def api_pair(api: Api, item: dict[str, Any]) -> int:
    with api.store.read() as session:
        return Repository(session).assignment(item["id"]).pair_id


def test_an_unrouted_project_keeps_its_queue(api: Api) -> None:
    pid = load(api.store)
    settings = {"overlap": 1, "blind_fraction": 1.0, "gold_rate": 0.0}
    api.client.put(f"/projects/{pid}/review/settings", json=settings, headers=api.auth())
    rita = api.person("rita", "reviewer", "routed")
    served = drain(api, pid, rita)
    assert len(served) == 120 and {item["reason"] for item in served} == {None}


def test_the_agreement_report_flags_a_calibration_its_audit_contradicts(api: Api) -> None:
    pid = load(api.store)
    settings = {"overlap": 1, "blind_fraction": 0.0, "gold_rate": 0.0, "audit_rate": 0.25}
    api.client.put(f"/projects/{pid}/review/settings", json=settings, headers=api.auth())
    body = {"judges": ["j"], "signal": "confidence", "alpha": 0.1, "delta": 0.1}
    cid = api.client.post(f"/projects/{pid}/calibrations", json=body, headers=api.auth()).json()["calibration"]
    api.client.post(f"/projects/{pid}/calibrations/{cid}/route", headers=api.auth())
    rita = api.person("rita", "reviewer", "routed")

    def audit_row() -> dict[str, Any]:
        report = api.client.get(f"/projects/{pid}/agreement", params={"resamples": 0}, headers=api.auth()).json()
        (row,) = report["audit"]
        return row

    assert audit_row() | {"accepted": 0} == {
        "calibration": cid, "alpha": 0.1, "delta": 0.1, "accepted": 0, "audited": 0, "disagreements": 0,
        "disagreement": None, "contradicted": False,
    }  # fmt: skip
    audited = 0
    while item := api.client.post(f"/projects/{pid}/assignments/next", headers=api.auth(rita)).json()["assignment"]:
        if item["reason"] != "audit":
            api.client.post(f"/assignments/{item['id']}/skip", json={"reason": "other"}, headers=api.auth(rita))
            continue
        judge = api_routing(api, pid, item)  # the accepted label, in the order shown: the reviewer contradicts it
        shown = {"a": "b", "b": "a"}[judge] if swapped(api, item) else judge
        contradiction = {"a": "b", "b": "a"}[shown]
        reply = api.client.post(
            f"/assignments/{item['id']}/ranking",
            json={"outcome": contradiction},
            headers=api.auth(rita) | {"Idempotency-Key": f"audit-{item['id']}"},
        )
        assert reply.status_code in (200, 201), reply.text
        audited += 1
    row = audit_row()
    assert row["accepted"] == 28 and row["audited"] == audited > 0 and row["disagreements"] == audited
    assert row["disagreement"]["value"] == 1.0 and row["disagreement"]["low"] == pytest.approx(0.1 ** (1 / audited))
    assert row["contradicted"] is True


def api_routing(api: Api, pid: int, item: dict[str, Any]) -> str:
    pair_id = api_pair(api, item)
    pair = api.client.get(f"/pairs/{pair_id}", headers=api.auth()).json()
    return pair["routing"]["outcome"]


def swapped(api: Api, item: dict[str, Any]) -> bool:
    with api.store.read() as session:
        return Repository(session).assignment(item["id"]).swapped
