"""Certified routing through the store: calibrate, route, estimate over the real API and CLI, on SQLite and
PostgreSQL.

The project: 120 imported pairs, one judge `j` in both orders with an imported confidence c = (i mod 10) / 10;
the judge is right exactly when c ≥ 0.3. The first 80 pairs carry three agreeing reviewer labels (the
calibration set), the other 40 none. At α = δ = 0.1 with min n 30, fixed-sequence testing certifies c ≥ 0.3
(56 calibration pairs, 0 disagreements, Clopper–Pearson bound 1 − 0.1^(1/56) ≈ 0.040) and fails at 0.2
(64 pairs, 8 disagreements); routing then accepts the 28 unlabelled pairs with c ≥ 0.3 and escalates 12.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from server.imports.service import import_rows
from server.storage import Repository, Store, open_store
from server.storage.tables import AuditEvent
from server.storage.tables import Ranking as RankingRow
from tests.conftest import Api

FLIP = {"a": "b", "b": "a"}


def rows(n: int = 120, labelled: int = 80) -> list[dict[str, Any]]:
    made = []
    for i in range(n):
        truth = "a" if i % 2 else "b"
        confidence = (i % 10) / 10
        said = truth if confidence >= 0.3 else FLIP[truth]
        made.append(
            {
                "id": f"row-{i}",
                "prompt": f"question {i}",
                "response_a": f"answer a {i}",
                "response_b": f"answer b {i}",
                "labels": {name: truth for name in ("ann", "bob", "cid")} if i < labelled else {},
                "verdicts": [
                    {"judge": "j", "order": order, "outcome": said, "confidence": confidence} for order in ("ab", "ba")
                ],
            }
        )
    return made


def load(store: Store, project: str = "routed") -> int:
    import_rows(store, [(f"row {i}", row) for i, row in enumerate(rows())], project=project)
    with store.read() as session:
        return Repository(session).project_by_name(project).id


def test_calibrate_route_and_pairs_over_the_api(api: Api) -> None:
    pid = load(api.store)
    body = {"judges": ["j"], "signal": "confidence", "alpha": 0.1, "delta": 0.1, "min_n": 30}
    made = api.client.post(f"/projects/{pid}/calibrations", json=body, headers=api.auth())
    assert made.status_code == 201, made.text
    record = made.json()
    assert (record["alpha"], record["delta"], record["n_calibration"]) == (0.1, 0.1, 80)
    (judge,) = record["judges"]
    assert (judge["judge"], judge["signal"], judge["threshold"], judge["accepted"]) == ("j", "confidence", 0.3, 56)
    assert judge["risk_upper_bound"] == pytest.approx(1 - 0.1 ** (1 / 56))
    assert record["labels"]["count"] == 80 and len(record["labels"]["pairs"]) == 80
    assert record["labels"]["sources"] == {"majority": 80} and len(record["labels"]["fingerprint"]) == 64
    cid = record["calibration"]

    viewer = api.person("vera", "viewer", "routed")
    listed = api.client.get(f"/projects/{pid}/calibrations", headers=api.auth(viewer)).json()
    assert [c["calibration"] for c in listed] == [cid]
    assert api.client.get(f"/projects/{pid}/calibrations/{cid}", headers=api.auth(viewer)).json() == record
    refused = api.client.post(f"/projects/{pid}/calibrations", json=body, headers=api.auth(viewer))
    assert refused.status_code == 403 and "author" in refused.json()["error"]["message"]
    assert api.client.get(f"/projects/{pid}/calibrations/999", headers=api.auth()).status_code == 404

    routed = api.client.post(f"/projects/{pid}/calibrations/{cid}/route", headers=api.auth())
    assert routed.status_code == 200, routed.text
    summary = routed.json()
    assert {k: summary[k] for k in ("pairs", "accepted", "escalated", "by_judge")} == {
        "pairs": 40,
        "accepted": 28,
        "escalated": 12,
        "by_judge": {"j": 28},
    }
    assert summary["coverage"] == pytest.approx(0.7)
    page = api.client.get(f"/projects/{pid}/pairs", params={"limit": 500}, headers=api.auth()).json()["items"]
    by_key = {pair["key"]: pair["routing"] for pair in page}
    assert by_key["import:row-0"] is None  # a calibration pair has a human reference: not routed
    assert by_key["import:row-83"] == {
        "pair_id": by_key["import:row-83"]["pair_id"],
        "status": "accepted",
        "judge": "j",
        "outcome": "a",
        "confidence": 0.3,
        "uncertainty": None,
        "calibration": cid,
    }
    assert by_key["import:row-81"]["status"] == "escalated" and by_key["import:row-81"]["uncertainty"] == 0.9

    with api.store.read() as session:
        actions = Counter(e.action for e in session.query(AuditEvent))
    assert actions["calibration.create"] == 1 and actions["routing.route"] == 1 and actions["routing.create"] == 40

    stricter = api.client.post(f"/projects/{pid}/calibrations", json=body | {"alpha": 0.01}, headers=api.auth())
    assert stricter.json()["judges"][0]["threshold"] is None  # 0 of 56 wrong still bounds at 0.04 > 0.01
    second = stricter.json()["calibration"]
    again = api.client.post(f"/projects/{pid}/calibrations/{second}/route", headers=api.auth()).json()
    assert (again["accepted"], again["escalated"]) == (0, 40)
    page = api.client.get(f"/projects/{pid}/pairs", params={"limit": 500}, headers=api.auth()).json()["items"]
    assert {p["routing"]["calibration"] for p in page if p["routing"]} == {second}  # decisions re-made
    with api.store.read() as session:
        changed = [e for e in session.query(AuditEvent) if e.action == "routing.update"]
    assert len(changed) == 40 and changed[0].before["calibration_id"] == int(cid)

    # The routed promise bounds the disagreement among the routed pairs above the threshold (exact
    # hypergeometric): at c ≥ 0.6 (32 labelled, 0 wrong; 16 routed) it is 2/16 > 0.1, so nothing at α = 0.1;
    # at α = 0.15 the steps pass down to c ≥ 0.3, 28 routed pairs and a bound of 2/28.
    for alpha, threshold, bound in ((0.1, None, None), (0.15, 0.3, 2 / 28)):
        reply = api.client.post(
            f"/projects/{pid}/calibrations", json=body | {"promise": "routed", "alpha": alpha}, headers=api.auth()
        ).json()
        (found,) = reply["judges"]
        assert reply["promise"] == "routed" and found["threshold"] == threshold
        assert found["risk_upper_bound"] == (None if bound is None else pytest.approx(bound))

    bad = api.client.post(f"/projects/{pid}/calibrations", json=body | {"judges": ["nobody"]}, headers=api.auth())
    assert bad.status_code == 422 and "judge: 'nobody' has no pairwise verdicts" in bad.json()["error"]["message"]
    extra = api.client.post(f"/projects/{pid}/calibrations", json=body | {"alfa": 0.1}, headers=api.auth())
    assert extra.status_code == 422 and "alfa" in extra.json()["error"]["message"]

    estimate = api.client.get(f"/projects/{pid}/calibrations/{cid}/estimate", headers=api.auth())
    assert estimate.status_code == 200, estimate.text
    shares = {share["outcome"]: share for share in estimate.json()["shares"]}
    assert estimate.json()["n_human"] == 80 and estimate.json()["n_unlabelled"] == 40
    assert shares["a"]["human"]["estimate"] == pytest.approx(0.5)
    assert shares["a"]["ppi"]["low"] <= 0.5 <= shares["a"]["ppi"]["high"]


def rubricate(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The real command on the home's SQLite store (as tests/integration/test_cli.py runs it)."""
    env = {**os.environ, "RUBRICATE_HOME": str(home)}
    env.pop("RUBRICATE_DATABASE_URL", None)
    command = [sys.executable, "-m", "server", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_cli_calibrate_route_decisions_and_estimate(home: Path, tmp_path: Path) -> None:
    """Seven starts of the real command (each pays ~7 s of imports, litellm's mostly)."""
    store = open_store(f"sqlite:///{home / 'rubricate.db'}")
    load(store)
    store.dispose()
    made = rubricate(
        "calibrate", "--project", "routed", "--judge", "j", "--signal", "confidence",
        "--alpha", "0.1", "--delta", "0.1", "--json", home=home,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    record = json.loads(made.stdout)
    assert {"calibration", "alpha", "delta", "n_calibration", "judges"} <= set(record)
    assert {k: record["judges"][0][k] for k in ("judge", "signal", "threshold", "accepted")} == {
        "judge": "j",
        "signal": "confidence",
        "threshold": 0.3,
        "accepted": 56,
    }
    out = tmp_path / "decisions.jsonl"
    routed = rubricate("route", "--project", "routed", "--calibration", record["calibration"], "--decisions",
                       str(out), "--json", home=home)  # fmt: skip
    assert routed.returncode == 0, routed.stderr
    summary = json.loads(routed.stdout)
    assert (summary["pairs"], summary["accepted"], summary["escalated"], summary["by_judge"]) == (40, 28, 12, {"j": 28})
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 40 and set(lines[0]) == {"id", "status", "judge", "outcome", "confidence"}
    assert {"id": "row-83", "status": "accepted", "judge": "j", "outcome": "a", "confidence": 0.3} in lines
    assert {"id": "row-81", "status": "escalated", "judge": None, "outcome": None, "confidence": None} in lines

    nothing = rubricate("calibrate", "--project", "routed", "--judge", "j", "--signal", "confidence",
                        "--alpha", "0.01", "--delta", "0.1", home=home)  # fmt: skip
    assert nothing.returncode == 0, nothing.stderr
    assert "nothing could be certified" in nothing.stdout

    text = rubricate("estimate", "--project", "routed", "--calibration", record["calibration"], home=home)
    assert text.returncode == 0, text.stderr
    assert "PPI++" in text.stdout and "human-only" in text.stdout and "judge-only" in text.stdout

    for args, message in (
        (("calibrate", "--project", "routed", "--judge", "j", "--alpha", "1.5", "--delta", "0.1"), "error: alpha:"),
        (("calibrate", "--project", "routed", "--judge", "j", "--alpha", "0.1", "--delta", "0.1", "--signal",
          "panel"), "error: judge: the panel signal needs at least two judges"),
        (("route", "--project", "routed", "--calibration", "999"), "error: calibration 999 not found"),
    ):  # fmt: skip
        failed = rubricate(*args, home=home)
        assert failed.returncode == 2 and failed.stderr.startswith(message), (args, failed.stderr)
        assert len(failed.stderr.strip().splitlines()) == 1


def test_assisted_rankings_are_left_out_of_the_calibration_set_unless_asked(store: Store) -> None:
    from server.routing.service import CalibrateRequest, calibrate_project

    pid = load(store)
    with store.write() as session:  # the mode review records: assisted on the first 40 pairs (set in the rows:
        repo = Repository(session)  # an import has no mode, and records from the repository are frozen)
        keys = {p.id: int(p.key.removeprefix("import:row-")) for p in repo.pairs(pid)}
        for ranking in repo.rankings(pid):
            if keys[ranking.pair_id] < 40:
                session.get(RankingRow, ranking.id).mode = "assisted"  # type: ignore[union-attr]
    request = CalibrateRequest(judges=["j"], signal="confidence", alpha=0.1, delta=0.1)
    blind_only = calibrate_project(store, pid, request)
    assert blind_only.n_calibration == 40 and blind_only.labels.count == 40
    with_assisted = calibrate_project(store, pid, request.model_copy(update={"include_assisted": True}))
    assert with_assisted.n_calibration == 80 and with_assisted.include_assisted
    assert blind_only.labels.fingerprint != with_assisted.labels.fingerprint


def test_certified_export_uses_accepted_judge_labels_and_counts_escalated_pairs(store: Store, tmp_path: Path) -> None:
    from server.export.stored import ExportOptions, export_project
    from server.export.trl import load_manifest
    from server.routing.service import CalibrateRequest, calibrate_project, route_project

    pid = load(store)
    request = CalibrateRequest(judges=["j"], signal="confidence", alpha=0.1, delta=0.1)
    record = calibrate_project(store, pid, request)
    route_project(store, pid, int(record.calibration))
    with store.read() as session:
        project = Repository(session).project(pid)
    _, manifest = export_project(store, project, ExportOptions(format="dpo", source="certified"), tmp_path / "out")
    assert manifest.pairs_exported == 80 + 28 and manifest.dropped.no_label == 12
    assert manifest.certified is not None and manifest.certified.model_dump() == {
        "calibration": record.calibration,
        "alpha": 0.1,
        "delta": 0.1,
        "judge_labels": 28,
        "escalated_left_out": 12,
    }
    assert load_manifest(tmp_path / "out").certified == manifest.certified
    rows = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    sources = Counter(row["label_source"] for row in rows)
    assert sources == {"humans": 80, f"certified calibration={record.calibration} alpha=0.1 delta=0.1": 28}
    assert {row["judge_model"] for row in rows if row["label_source"].startswith("certified")} == {"j"}
