"""Certified routing on verdicts the REAL embedded model gives in vLLM: a judge job in both orders records the
judge's logprob confidence (its probability of a / b / tie, canonical order) and its stated confidence per
order; calibrate and route run on the logprob signal; the review queue serves escalated pairs first, most
uncertain first.

The model's opinions are not asserted (SmolLM2-135M is a weak judge: with 6 calibration pairs at α = δ = 0.5
it may certify a threshold or not). The contract is what is stored and what follows from it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from judges import local_model
from rubrics.loader import LIBRARY
from server.app import create_app
from server.imports.service import import_rows
from server.settings import Settings
from server.storage import Repository, open_store
from server.storage.tables import Verdict

pytestmark = pytest.mark.integration

QUESTIONS = [
    ("What is 2 + 2?", "2 + 2 = 4.", "2 + 2 = 5."),
    ("Name the capital of France.", "Paris is the capital of France.", "The capital of France is Berlin."),
    ("Is water wet?", "Water makes things wet; as a liquid it wets surfaces.", "No idea."),
    ("Translate 'hello' to Spanish.", "Hola.", "Bonjour."),
    ("What colour is the sky on a clear day?", "Blue.", "Green, mostly."),
    ("How many legs does a spider have?", "Eight.", "Six."),
    ("What is the boiling point of water at sea level in Celsius?", "100 °C.", "50 °C."),
    ("Spell 'cat' backwards.", "tac", "cta"),
    ("What is the largest planet in our solar system?", "Jupiter.", "Mars."),
    ("Who wrote 'Romeo and Juliet'?", "William Shakespeare.", "Charles Dickens."),
]


def test_a_judge_job_then_calibrate_route_and_the_queue(home: Path, vllm_server: local_model.ServerHandle) -> None:
    settings = Settings(home=home, model_base_url=vllm_server.api_base, judge_model=vllm_server.litellm_model)
    store = open_store(settings.database_url)
    rows = [
        {
            "id": f"q{i}",
            "prompt": prompt,
            "response_a": good,
            "response_b": bad,
            "labels": {name: "a" for name in ("ann", "bob", "cid")} if i < 6 else {},
        }
        for i, (prompt, good, bad) in enumerate(QUESTIONS)
    ]
    import_rows(store, [(f"row {i}", row) for i, row in enumerate(rows)], project="live")
    with store.write() as session:
        repo = Repository(session)
        _, admin = repo.create_annotator("admin", "admin")
        reviewer, rita = repo.create_annotator("rita", "reviewer")
        project = repo.project_by_name("live")
        repo.add_member(project, reviewer)
        project_id = project.id
    auth = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(settings, store=store)) as client:
        assert (
            client.post("/rubrics", json={"yaml": (LIBRARY / "hhh.yaml").read_text()}, headers=auth).status_code == 201
        )
        job = client.post(f"/projects/{project_id}/jobs/judge", json={"rubric": "hhh"}, headers=auth).json()
        deadline = time.monotonic() + 900
        while (state := client.get(job["progress"], headers=auth).json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(1.0)
        assert state["status"] == "done", state
        with store.read() as session:
            verdicts = session.query(Verdict).filter(Verdict.source == "job").all()
        assert {v.order for v in verdicts} == {"ab", "ba"} and len(verdicts) == 2 * len(QUESTIONS)
        usable = [v for v in verdicts if v.error is None]
        assert all(v.confidence is not None and 1 <= v.confidence <= 5 for v in usable)  # stated, per order
        for order in ("ab", "ba"):  # logprob confidence, recorded in both presentation orders
            shown = [v.probabilities for v in usable if v.order == order]
            assert shown and all(set(p) == {"a", "b", "tie"} and abs(sum(p.values()) - 1) < 1e-6 for p in shown)

        body = {"judges": [vllm_server.litellm_model], "signal": "logprob", "alpha": 0.5, "delta": 0.5, "min_n": 2}
        made = client.post(f"/projects/{project_id}/calibrations", json=body, headers=auth)
        assert made.status_code == 201, made.text
        record = made.json()
        assert record["n_calibration"] == 6 and record["rubric"] is None and record["labels"]["count"] == 6
        routed = client.post(f"/projects/{project_id}/calibrations/{record['calibration']}/route", headers=auth).json()
        assert routed["pairs"] == 4 and routed["accepted"] + routed["escalated"] == 4
        print(f"\n[routing] threshold {record['judges'][0]['threshold']}, routed {routed}")

        settings_body = {"overlap": 1, "blind_fraction": 1.0, "gold_rate": 0.0, "audit_rate": 0.0}
        client.put(f"/projects/{project_id}/review/settings", json=settings_body, headers=auth)
        pairs = client.get(f"/projects/{project_id}/pairs", headers=auth).json()["items"]
        uncertainty = {p["id"]: p["routing"]["uncertainty"] for p in pairs if p["routing"]}
        escalated = [p["id"] for p in pairs if p["routing"] and p["routing"]["status"] == "escalated"]
        served = []
        for _ in range(len(escalated)):
            item = client.post(f"/projects/{project_id}/assignments/next", headers={"Authorization": f"Bearer {rita}"})
            assignment = item.json()["assignment"]
            assert assignment["reason"] == "escalated"
            with store.read() as session:
                served.append(Repository(session).assignment(assignment["id"]).pair_id)
            client.post(
                f"/assignments/{assignment['id']}/skip",
                json={"reason": "other"},
                headers={"Authorization": f"Bearer {rita}"},
            )
        assert sorted(served) == sorted(escalated)
        levels = [2.0 if uncertainty[pair] is None else uncertainty[pair] for pair in served]
        assert levels == sorted(levels, reverse=True)  # most uncertain first
