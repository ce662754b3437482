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


@pytest.mark.timeout(1800)  # drafts, scores twice, imports, exports, reports and trains: more than one job's worth
def test_pointwise_scores_drafted_responses_then_a_min_score_sft_export_trains_one_step(
    home: Path, env: dict[str, str], vllm_server: local_model.ServerHandle, tmp_path: Path
) -> None:
    """Issue 15, "must show": score drafted responses pointwise on the embedded model, export SFT rows
    scored at least S (people over the judge), and train one step of TRL's SFTTrainer on them."""
    store = open_store(Settings(home=home).database_url)
    import_rows(store, pandalm_prompts(3), project="sft")
    rubricate("rubric", "publish", str(LIBRARY / "sft-quality.yaml"), "--json", env=env)
    drafted = rubricate("draft", "--project", "sft", "--n", "2", "--max-tokens", "64", "--json", env=env)
    assert drafted["failed"] == 0 and drafted["responses"] >= 3

    started = time.monotonic()
    args = ("judge", "--mode", "pointwise", "--project", "sft", "--rubric", "sft-quality", "--json")
    scored = rubricate(*args, env=env)
    elapsed = time.monotonic() - started
    print(f"\n[pointwise] {scored['verdicts']} scores in {elapsed:.1f}s (with process start): {scored}")
    assert set(scored) == {"job", "responses", "verdicts", "failed", "inconsistent"}
    assert scored["responses"] == drafted["responses"] == scored["verdicts"]
    with store.read() as session:
        verdicts = session.query(Verdict).filter(Verdict.kind == "pointwise").all()
    assert len(verdicts) == scored["verdicts"] and sum(v.error is not None for v in verdicts) == scored["failed"]
    for v in verdicts:  # the pairwise verdicts' provenance, about one response
        assert v.response_id is not None and v.pair_id is None and v.meta["rubric"] == "sft-quality@1.0.0"
        assert v.judge_model == env["RUBRICATE_JUDGE_MODEL"] and v.params["temperature"] == 0.0
        if v.error is None:
            assert set(v.scores) == {"instruction_following", "correctness", "clarity", "safety", "overall"}
            assert all(1 <= level <= 5 for level in v.scores.values()) and v.usage["completion_tokens"] > 0
        else:  # recorded, not fatal: asked again by the next run
            assert v.scores == {} and v.meta["error_kind"]
    again = rubricate(*args, env=env)
    assert again["verdicts"] == scored["failed"]  # only failed scores are asked again

    with store.read() as session:
        verdicts = session.query(Verdict).filter(Verdict.kind == "pointwise", Verdict.error.is_(None)).all()
        texts = {r.id: (r.text, p.messages[0]["content"]) for r, p in Repository(session).scorable_responses(
            Repository(session).project_by_name("sft").id)}  # fmt: skip
    assert len(verdicts) >= 2, "the embedded model scored fewer than two responses"
    by_score = sorted(verdicts, key=lambda v: v.scores["overall"])
    promoted, vetoed = by_score[0], by_score[-1]  # a person scores the judge's lowest 5 and its highest 1
    person = [
        {"prompt": texts[v.response_id][1], "response": texts[v.response_id][0], "annotator": "rita",
         "scores": {"correctness": level}, "overall": level}
        for v, level in ((promoted, 5), (vetoed, 1))
    ]  # fmt: skip
    person_file = tmp_path / "scores.jsonl"
    person_file.write_text("".join(json.dumps(record) + "\n" for record in person))
    imported = rubricate(
        "import-scores", str(person_file), "--project", "sft", "--rubric", "sft-quality", "--json", env=env
    )
    assert imported["scores"] == 2 and imported["responses"] == 0
    out = tmp_path / "sft"
    manifest = rubricate(
        "export", "--project", "sft", "--format", "sft", "--min-score", "2", "--out", str(out), "--json", env=env
    )
    rows = {row["response_id"]: row for row in map(json.loads, (out / "train.jsonl").read_text().splitlines())}
    by_judge = {str(v.response_id) for v in verdicts if v.scores["overall"] >= 2} - {str(vetoed.response_id)}
    assert set(rows) == by_judge | {str(promoted.response_id)} and str(vetoed.response_id) not in rows
    assert rows[str(promoted.response_id)]["score_source"] == "humans" and rows[str(promoted.response_id)]["score"] == 5
    assert manifest["by_source"] == {"humans": 1, "judge": len(rows) - 1} and manifest["responses_exported"] == len(
        rows
    )
    assert all(row["score"] >= 2 for row in rows.values())
    print(f"[pointwise] judge levels {[v.scores['overall'] for v in by_score]}; export {manifest['dropped']}")

    report = rubricate("agreement", "--project", "sft", "--json", env=env)
    overall = next(row for row in report["pointwise"] if row["criterion"] is None)
    assert overall["n"] == 2 and overall["annotators"] == 1 and overall["levels"] == 5  # rita's two scores
    correctness = next(row for row in report["pointwise"] if row["criterion"] == "correctness")
    assert correctness["n"] == 2 and 0 <= correctness["exact"] <= 1  # kappa may be undefined on two responses

    _train_one_sft_step(Path(vllm_server.model), out, tmp_path / "run")


def _train_one_sft_step(model_dir: Path, export: Path, run: Path) -> None:
    """One optimizer step of TRL's SFTTrainer on the export's train split, read back from disk."""
    import math

    import torch
    from datasets import DatasetDict
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    data = DatasetDict.load_from_disk(str(export / "dataset"))["train"]
    args = SFTConfig(
        output_dir=str(run), max_steps=1, per_device_train_batch_size=2, max_length=128, report_to="none",
        use_cpu=True, bf16=False, logging_steps=1, save_strategy="no", dataset_num_proc=1, disable_tqdm=True,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=data, processing_class=AutoTokenizer.from_pretrained(model_dir)
    )
    result = trainer.train()
    print(f"[pointwise] SFT on {len(data)} score-filtered rows: one step, loss {result.training_loss:.4f}")
    assert trainer.state.global_step == 1 and math.isfinite(result.training_loss)
