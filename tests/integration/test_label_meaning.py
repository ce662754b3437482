"""One meaning for a stored label, through the public CLI and API.

The same pairs are judged under `hhh@1.9.0` and `hhh@1.10.0`. 1.10.0 is published first (a lower id)
and its verdicts are stored first (older), while "1.9.0" > "1.10.0" as strings: a rule by id, by time or
by string would pick 1.9.0. The agreement report, a `--source judge` export and the review screen's hint
must all name 1.10.0 and give each pair the same outcome.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from rubrics.loader import LIBRARY
from server.app import create_app
from server.settings import Settings
from server.storage import Repository, open_store
from tests.integration.test_cli import rubricate

NEW, OLD = "hhh@1.10.0", "hhh@1.9.0"
# per pair: (ab, ba) under 1.10.0, then under 1.9.0; None: that order was not judged
UNDER_NEW = [("a", "a"), ("b", "b"), ("a", "b"), ("b", None), ("tie", "tie"), ("a", "a")]
UNDER_OLD = [("b", "b"), ("a", "a"), ("b", "b"), ("a", "a"), ("a", "a"), ("b", "b")]
EXPECTED = ["a", "b", "tie", "b", "tie", "a"]  # 1.10.0's orders combined: disagreement is a tie


def _publish(home: Path, tmp: Path, version: str) -> None:
    content = yaml.safe_load((LIBRARY / "hhh.yaml").read_text())
    content["version"] = version
    content["description"] += f" (edited for {version})"
    path = tmp / f"hhh-{version}.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    published = rubricate("rubric", "publish", str(path), home=home)
    assert published.returncode == 0, published.stderr


def _world(home: Path, tmp: Path) -> None:
    assert rubricate("init", "--json", home=home).returncode == 0
    _publish(home, tmp, "1.10.0")
    _publish(home, tmp, "1.9.0")
    rows = tmp / "pairs.jsonl"
    with rows.open("w") as out:
        for n in range(len(EXPECTED)):  # alice and bob split on every pair: every pair is a hotspot
            labels = {"alice": "a", "bob": "b"} if n % 2 else {"alice": "b", "bob": "tie"}
            row = {"id": f"q{n}", "prompt": f"question {n}", "response_a": f"A{n}", "response_b": f"B{n}"}
            out.write(json.dumps(row | {"labels": labels}) + "\n")
    imported = rubricate("import", str(rows), "--project", "p", "--json", home=home)
    assert imported.returncode == 0, imported.stderr
    store = open_store(f"sqlite:///{home / 'rubricate.db'}")
    with store.write() as session:
        repo = Repository(session)
        versions = {v.version: v.id for v in repo.rubric_versions("hhh")}
        project = repo.project_by_name("p")
        assert versions["1.10.0"] < versions["1.9.0"]
        for version, outcomes in (("1.10.0", UNDER_NEW), ("1.9.0", UNDER_OLD)):
            for pair, orders in zip(repo.pairs(project.id), outcomes, strict=True):
                for order, outcome in zip(("ab", "ba"), orders, strict=True):
                    if outcome is not None:
                        repo.add_verdict(
                            key=f"{pair.id}-{version}-{order}",
                            project_id=project.id,
                            pair_id=pair.id,
                            rubric_version_id=versions[version],
                            judge_model="judge-x",
                            order=order,
                            outcome=outcome,
                            rationale=f"under {version}",
                        )
    store.dispose()


def test_agreement_export_and_review_hint_agree_on_the_newest_version(home: Path, tmp_path: Path) -> None:
    _world(home, tmp_path)

    report = rubricate("agreement", "--project", "p", "--resamples", "0", "--json", home=home)
    assert report.returncode == 0, report.stderr
    body = json.loads(report.stdout)
    [row] = [r for r in body["judge_human"] if r["criterion"] is None]
    assert row["judge"] == "judge-x" and row["rubric"] == NEW
    by_key = {h["key"]: h["judges"]["judge-x"] for h in body["hotspots"]}
    assert by_key == {f"import:q{n}": outcome for n, outcome in enumerate(EXPECTED)}

    out = tmp_path / "export"
    exported = rubricate(
        "export", "--project", "p", "--format", "dpo", "--source", "judge", "--out", str(out), "--json", home=home
    )
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert {r["rubric"] for r in rows} == {NEW}
    chosen = {r["chosen"][0]["content"] if isinstance(r["chosen"], list) else r["chosen"] for r in rows}
    decisive = {f"{o.upper()}{n}" for n, o in enumerate(EXPECTED) if o != "tie"}
    assert chosen == decisive  # ties are not DPO rows

    store = open_store(f"sqlite:///{home / 'rubricate.db'}")
    with store.write() as session:
        repo = Repository(session)
        reviewer, token = repo.create_annotator("rita", "reviewer")
        project = repo.project_by_name("p")
        repo.add_member(project, reviewer)
        repo.update_project_settings(project, {"review": {"overlap": 3, "blind_fraction": 0.0, "gold_rate": 0.0}})
    app = create_app(Settings(home=home, database_url=store.url), store=store)
    seen = {}
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {token}"}
        for _ in EXPECTED:
            item = client.post(f"/projects/{project.id}/assignments/next", headers=auth).json()["assignment"]
            hint = item["judge"]
            assert item["mode"] == "assisted" and hint["judge"] == "judge-x" and hint["rubric"] == NEW
            shown = {"a": item["response_a"]["text"], "b": item["response_b"]["text"]}
            number = int(shown["a"][1:])
            seen[number] = "tie" if hint["outcome"] == "tie" else shown[hint["outcome"]][0].lower()
            assert hint["rationale"] == "under 1.10.0"
            reply = client.post(
                f"/assignments/{item['id']}/ranking",
                json={"outcome": "a"},
                headers=auth | {"Idempotency-Key": f"ranking-{number}"},
            )
            assert reply.status_code in (200, 201), reply.text
        disputes = client.get(f"/projects/{project.id}/disputes", headers={"Authorization": f"Bearer {_admin(store)}"})
    assert seen == dict(enumerate(EXPECTED))
    judged = {d["pair_id"]: d["judges"].get("judge-x") for d in disputes.json()}
    with store.read() as session:
        keys = {p.id: p.key for p in Repository(session).pairs(project.id)}
    expected = {f"import:q{n}": o for n, o in enumerate(EXPECTED)}
    assert {keys[pair]: outcome for pair, outcome in judged.items()} == expected
    store.dispose()


def _admin(store) -> str:  # type: ignore[no-untyped-def]
    with store.write() as session:
        _, token = Repository(session).create_annotator("root", "admin")
    return token or ""
