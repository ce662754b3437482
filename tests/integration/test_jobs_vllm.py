"""Draft and judge jobs through the public CLI and API, against the REAL embedded model in vLLM.

Real PandaLM prompts, the real `hhh` rubric, a real SQLite store. The model's opinions are not
asserted; the contract is: the JSON summary, verdicts with full provenance in the store, failures
recorded rather than dropped, and a re-run that skips what is done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
from server.storage.tables import Response, Verdict

pytestmark = pytest.mark.integration

PANDALM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pandalm" / "testset-v1.json"


def pandalm_prompts(count: int) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    seen: dict[str, dict] = {}  # type: ignore[type-arg]
    for row in json.loads(PANDALM.read_text()):
        text = row["instruction"] + (f"\n\n{row['input']}" if row["input"] else "")
        seen.setdefault(text, {"prompt": text})
    return [(f"pandalm:{i}", record) for i, record in enumerate(list(seen.values())[:count])]


@pytest.fixture
def env(home: Path, vllm_server: local_model.ServerHandle) -> dict[str, str]:
    variables = {
        **os.environ,
        "RUBRICATE_HOME": str(home),
        "RUBRICATE_MODEL_BASE_URL": vllm_server.api_base,
        "RUBRICATE_JUDGE_MODEL": vllm_server.litellm_model,
        "RUBRICATE_REQUEST_TIMEOUT_S": "300",
    }
    variables.pop("RUBRICATE_DATABASE_URL", None)
    return variables


def rubricate(*args: str, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_draft_then_judge_through_the_cli_and_resume(home: Path, env: dict[str, str]) -> None:
    store = open_store(Settings(home=home).database_url)
    import_rows(store, pandalm_prompts(3), project="live")
    rubricate("rubric", "publish", str(LIBRARY / "hhh.yaml"), "--json", env=env)

    drafted = rubricate(
        "draft", "--project", "live", "--n", "2", "--limit", "2", "--max-tokens", "64", "--json", env=env
    )
    assert set(drafted) == {"job", "prompts", "responses", "failed", "inconsistent"}
    assert drafted["prompts"] == 2 and drafted["failed"] == 0 and 2 <= drafted["responses"] <= 4
    with store.read() as session:
        responses = session.query(Response).all()
        pairs = Repository(session).pairs(Repository(session).project_by_name("live").id)
    assert all(r.source == f"model:{env['RUBRICATE_JUDGE_MODEL']}" and r.params["max_tokens"] == 64 for r in responses)
    assert {r.params["seed"] for r in responses} <= {0, 1} and all(r.usage["completion_tokens"] > 0 for r in responses)
    assert len(pairs) >= 1

    started = time.monotonic()
    judged = rubricate("judge", "--project", "live", "--rubric", "hhh", "--json", env=env)
    elapsed = time.monotonic() - started
    assert set(judged) == {"job", "pairs", "verdicts", "failed", "inconsistent"}
    assert judged["pairs"] == len(pairs) and judged["verdicts"] == 2 * len(pairs)
    assert 0 <= judged["inconsistent"] <= judged["pairs"] and 0 <= judged["failed"] <= judged["verdicts"]
    print(f"\n[jobs] {judged['verdicts']} verdicts in {elapsed:.1f}s (with process start): {judged}")
    with store.read() as session:
        verdicts = session.query(Verdict).all()
    assert len(verdicts) == judged["verdicts"] and {v.order for v in verdicts} == {"ab", "ba"}
    for v in verdicts:  # every stored verdict carries its provenance
        assert v.rubric_version_id is not None and v.meta["rubric"] == "hhh@1.0.0"
        assert v.judge_model == env["RUBRICATE_JUDGE_MODEL"] and v.order in ("ab", "ba")
        assert v.params["temperature"] == 0.0 and v.params["max_tokens"] == 256 and v.params["seed"] == 0
        if v.error is None:
            assert v.outcome in ("a", "b", "tie") and v.usage["completion_tokens"] > 0 and v.raw
            # the judge's confidence from vLLM's token logprobs, in canonical order, in either order shown
            probabilities = v.probabilities
            assert set(probabilities) == {"a", "b", "tie"} and abs(sum(probabilities.values()) - 1) < 1e-6
            assert probabilities[v.outcome] > 0  # the outcome it chose carries mass
            assert v.meta["probabilities_source"].startswith("vllm raw_logprobs")
        else:
            assert v.outcome is None and v.meta["error_kind"]
    assert sum(v.error is not None for v in verdicts) == judged["failed"]

    again = rubricate("judge", "--project", "live", "--rubric", "hhh@1.0.0", "--json", env=env)
    assert again["verdicts"] == judged["failed"]  # only failed verdicts are asked again


def test_the_api_starts_a_judge_job_and_reports_progress(home: Path, env: dict[str, str]) -> None:
    settings = Settings(
        home=home, model_base_url=env["RUBRICATE_MODEL_BASE_URL"], judge_model=env["RUBRICATE_JUDGE_MODEL"]
    )
    store = open_store(settings.database_url)
    records = [
        (f"r:{i}", {**rec, "response_a": f"Answer {i}.", "response_b": "I don't know."})
        for i, (_, rec) in enumerate(pandalm_prompts(2))
    ]
    import_rows(store, records, project="api")
    with store.write() as session:
        repo = Repository(session)
        _, admin = repo.create_annotator("admin", "admin")
        _, viewer = repo.create_annotator("vic", "viewer")
        repo.add_member(repo.project_by_name("api"), repo.annotator_by_name("vic"))  # type: ignore[arg-type]
        project_id = repo.project_by_name("api").id
    auth = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(settings, store=store)) as client:
        assert (
            client.post("/rubrics", json={"yaml": (LIBRARY / "hhh.yaml").read_text()}, headers=auth).status_code == 201
        )
        body = {"rubric": "hhh", "orders": "ab", "max_tokens": 200}
        refused = client.post(
            f"/projects/{project_id}/jobs/judge", json=body, headers={"Authorization": f"Bearer {viewer}"}
        )
        assert refused.status_code == 403
        unknown = client.post(f"/projects/{project_id}/jobs/judge", json={"rubric": "nope"}, headers=auth)
        assert unknown.status_code == 404 and "no published version" in unknown.json()["error"]["message"]
        bad = client.post(f"/projects/{project_id}/jobs/judge", json={**body, "ordres": "ab"}, headers=auth)
        assert bad.status_code == 422
        started = client.post(f"/projects/{project_id}/jobs/judge", json=body, headers=auth)
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["kind"] == "judge" and job["progress"] == f"/jobs/{job['job']}"
        deadline = time.monotonic() + 600
        while (state := client.get(job["progress"], headers=auth).json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.5)
    assert state["status"] == "done" and state["total"] == 2 and state["done"] == 2
    assert state["params"]["rubric"] == "hhh@1.0.0" and state["params"]["orders"] == ["ab"]
    assert state["result"]["verdicts"] == 2
    with store.read() as session:
        assert {(v.order, v.params["max_tokens"]) for v in session.query(Verdict).all()} == {("ab", 200)}
