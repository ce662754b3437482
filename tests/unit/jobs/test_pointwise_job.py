"""The pointwise judge job, people's imported scores and the score-filtered SFT export, with a scripted backend.

What is pinned: a pointwise verdict per response with the pairwise verdicts' provenance, failures
stored and asked again (replaced in place), scored responses skipped on resume, the version rule
(semver per scorer, never across rubric names), the min-score filter with people over the judge,
and the agreement report's pointwise rows. The same job on the real embedded model is in
tests/integration/test_jobs_vllm.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judges.backend import BackendError
from rubrics.loader import LIBRARY, load_rubric
from server.agreement.models import ReportOptions
from server.agreement.reports import agreement_report
from server.export.stored import ExportOptions, export_project
from server.imports.readers import ImportFailed
from server.imports.scores import import_scores
from server.imports.service import import_rows
from server.jobs import JudgeRequest, judge_job
from server.rubric_registry import publish
from server.score_labels import counted_scores, read_scores
from server.storage import Repository, Store, open_store
from server.storage.tables import AuditEvent, Job, Score, Verdict
from tests.conftest import Api
from tests.support.fake_backend import ScriptedBackend

SFT = load_rubric(LIBRARY / "sft-quality.yaml")
CRITERIA = ("instruction_following", "correctness", "clarity", "safety")


@pytest.fixture
def db(tmp_path: Path) -> Store:
    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    rows = [(f"t:{i}", {"id": i, "prompt": f"Q{i}?", "response_a": f"A{i}", "response_b": f"B{i}"}) for i in range(2)]
    import_rows(store, rows, project="p")  # 4 responses: A0, B0, A1, B1
    publish(store, SFT)
    publish(store, load_rubric(LIBRARY / "hhh.yaml"))
    return store


def project(store: Store):  # type: ignore[no-untyped-def]
    with store.read() as session:
        return Repository(session).project_by_name("p")


def levels(overall: int, **criteria: int) -> dict[str, Any]:
    return {**dict.fromkeys(CRITERIA, overall), **criteria, "overall": overall, "rationale": "r"}


LEVEL_OF = {"A0": 5, "B0": 2, "A1": 4}  # B1 fails


def respond(messages, model, params):  # type: ignore[no-untyped-def]
    """The judge's levels by the response it is shown; B1 runs to max_tokens."""
    shown = messages[-1]["content"].split("[Response]\n")[1].split("\n[End of Response]")[0]
    if shown not in LEVEL_OF:
        raise BackendError("incomplete", "hit max_tokens", raw='{"instruction_following": 2, "corr')
    return levels(LEVEL_OF[shown], safety=1 if shown == "B0" else 5)


def verdicts(store: Store) -> list[Verdict]:
    with store.read() as session:
        return list(session.query(Verdict).order_by(Verdict.id))


async def score(store: Store, backend: ScriptedBackend, **request: Any) -> Any:
    return await judge_job(
        store, project(store), backend, JudgeRequest(**{"rubric": "sft-quality", "mode": "pointwise", **request})
    )


async def test_pointwise_job_stores_scores_with_provenance_records_failures_and_resumes(db: Store) -> None:
    backend = ScriptedBackend(respond=respond)
    result = await score(db, backend, max_tokens=200)
    assert (result.kind, result.items, result.verdicts, result.failed) == ("judge", 4, 4, 1)
    stored = verdicts(db)
    assert len(stored) == 4 and {v.kind for v in stored} == {"pointwise"}
    with db.read() as session:
        texts = {r.id: r.text for r in Repository(session).responses_by_id([v.response_id for v in stored]).values()
                 for r in [r[0]]}  # fmt: skip
    for v in stored:  # the pairwise verdicts' provenance, about one response
        assert v.pair_id is None and v.order is None and v.outcome is None and v.response_id in texts
        assert v.rubric_version_id is not None and v.meta["rubric"] == "sft-quality@1.0.0"
        assert v.judge_model == "fake/judge" and v.job_id == result.job and v.source == "job"
        assert v.params["max_tokens"] == 200 and v.params["temperature"] == 0.0 and v.params["logprobs"] is None
    by_text = {texts[v.response_id]: v for v in stored}
    assert by_text["A0"].scores == {**dict.fromkeys(CRITERIA, 5), "overall": 5} and by_text["A0"].error is None
    assert by_text["B0"].scores["safety"] == 1 and by_text["A1"].usage["completion_tokens"] == 7
    failed = by_text["B1"]
    assert failed.scores == {} and failed.meta["error_kind"] == "incomplete" and failed.raw.startswith('{"instr')
    with db.read() as session:
        job = session.get(Job, result.job)
    assert job.status == "done" and job.params["mode"] == "pointwise" and job.params["rubric"] == "sft-quality@1.0.0"

    LEVEL_OF["B1"] = 3
    try:
        calls = len(backend.history)
        again = await score(db, backend, max_tokens=200)
    finally:
        del LEVEL_OF["B1"]
    assert len(backend.history) == calls + 1  # only the failed response is asked again
    assert (again.items, again.skipped, again.verdicts, again.failed) == (4, 3, 1, 0)
    after = {v.id: v for v in verdicts(db)}
    assert len(after) == 4 and after[failed.id].scores["overall"] == 3 and after[failed.id].error is None
    assert after[failed.id].job_id == again.job  # replaced in place, under the new job


async def test_pairwise_judging_is_unchanged_and_a_pairwise_rubric_cannot_score(db: Store) -> None:
    with pytest.raises(ValueError, match="no pointwise mode"):
        await judge_job(db, project(db), ScriptedBackend(), JudgeRequest(rubric="hhh", mode="pointwise"))
    assert JudgeRequest(rubric="hhh").mode == "pairwise"


def human_rows(*rows: tuple[str, str, str, int]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"s:{n}", {"prompt": prompt, "response": text, "annotator": who, "scores": dict.fromkeys(CRITERIA, level),
                    "overall": level})
        for n, (prompt, text, who, level) in enumerate(rows)
    ]  # fmt: skip


async def test_people_score_by_import_idempotently_and_levels_are_checked(db: Store) -> None:
    first = import_scores(
        db, human_rows(("Q0?", "A0", "ann", 4), ("Q0?", "B0", "ann", 5)), project="p", rubric="sft-quality"
    )
    assert (first.scores, first.responses, first.annotators, first.rubric) == (2, 0, 1, "sft-quality@1.0.0")
    again = import_scores(db, human_rows(("Q0?", "A0", "ann", 4)), project="p", rubric="sft-quality@1.0.0")
    assert (again.scores, again.already) == (0, 1)
    with pytest.raises(
        ImportFailed, match=r"s:0: scores.instruction_following: 6 is outside 1..5 of sft-quality@1.0.0"
    ):
        import_scores(db, human_rows(("Q0?", "A0", "bo", 6)), project="p", rubric="sft-quality")
    bad = [("s:0", {"prompt": "Q0?", "response": "A0", "annotator": "bo", "scores": {"kindness": 3}})]
    with pytest.raises(ImportFailed, match=r"kindness: not a criterion of sft-quality@1\.0\.0"):
        import_scores(db, bad, project="p", rubric="sft-quality")
    with pytest.raises(ImportFailed, match="no pointwise mode"):
        import_scores(db, human_rows(("Q0?", "A0", "bo", 3)), project="p", rubric="hhh")
    with db.read() as session:
        stored = session.query(Score).all()
        actions = [e.action for e in session.query(AuditEvent)]
        ann = Repository(session).annotator_by_name("p/ann")
    assert (
        len(stored) == 2 and {s.source for s in stored} == {"import"} and {s.annotator_id for s in stored} == {ann.id}
    )
    assert actions.count("score.create") == 2 and actions.count("project.import_scores") == 2  # audited


def export(db: Store, out: Path, **options: Any) -> tuple[Any, list[dict[str, Any]]]:
    _, manifest = export_project(db, project(db), ExportOptions(format="sft", **options), out)
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    return manifest, rows


async def test_min_score_export_keeps_people_over_the_judge_and_marks_which(db: Store, tmp_path: Path) -> None:
    await score(db, ScriptedBackend(respond=respond))  # judge: A0 5, B0 2 (safety 1), A1 4, B1 failed
    import_scores(db, human_rows(("Q0?", "A0", "ann", 2), ("Q0?", "B0", "ann", 4), ("Q0?", "B0", "bo", 5)),
                  project="p", rubric="sft-quality")  # fmt: skip
    manifest, rows = export(db, tmp_path / "overall", min_score=4)
    kept = {row["messages"][-1]["content"]: row for row in rows}
    assert set(kept) == {"B0", "A1"}  # A0: the person's 2 overrides the judge's 5; B1: no score
    assert (
        kept["B0"]["score_source"] == "humans"
        and kept["B0"]["score"] == 4.5
        and kept["B0"]["scorers"] == ["p/ann", "p/bo"]
    )
    assert (
        kept["A1"]["score_source"] == "judge" and kept["A1"]["score"] == 4.0 and kept["A1"]["scorers"] == ["fake/judge"]
    )
    assert kept["A1"]["rubric"] == "sft-quality@1.0.0" and kept["A1"]["messages"][0] == {
        "role": "user",
        "content": "Q1?",
    }
    assert manifest.dropped.model_dump() == {"no_score": 1, "below_min_score": 1}
    assert (manifest.responses_in, manifest.responses_exported, manifest.by_source) == (4, 2, {"humans": 1, "judge": 1})
    assert json.loads((tmp_path / "overall" / "manifest.json").read_text())["filters"]["min_score"] == 4

    manifest, safe = export(db, tmp_path / "safety", min_score=5, criterion="safety")
    # A0: ann's safety 2 overrides the judge's 5; B0: the people's mean 4.5 misses 5; A1: the judge's 5 stays
    assert [(r["messages"][-1]["content"], r["criterion"], r["score"]) for r in safe] == [("A1", "safety", 5.0)]
    assert manifest.dropped.model_dump() == {"no_score": 1, "below_min_score": 2}


async def test_export_refuses_score_filters_that_do_not_fit(db: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="use format sft"):
        ExportOptions(format="dpo", min_score=3)
    with pytest.raises(ValueError, match="needs min_score"):
        ExportOptions(format="sft", criterion="safety")
    await score(db, ScriptedBackend(respond=respond))
    with pytest.raises(ValueError, match="no counted score has a level for 'kindness'"):
        export(db, tmp_path / "x", min_score=3, criterion="kindness")


async def test_scores_count_by_semver_per_scorer_and_never_across_rubric_names(db: Store) -> None:
    await score(db, ScriptedBackend(respond=respond))
    for version in ("1.10.0", "1.9.0"):
        publish(db, SFT.model_copy(update={"version": version}))
    lowest = ScriptedBackend(respond=lambda *a: levels(1))
    await score(db, lowest, rubric="sft-quality@1.10.0")
    await score(db, ScriptedBackend(respond=lambda *a: levels(3)), rubric="sft-quality@1.9.0")  # newest run
    with db.read() as session:
        found = read_scores(Repository(session), project(db).id)
    counted = counted_scores(found)  # the judge's newest version by semver, not its newest run
    assert {s.rubric.ref for s in counted} == {"sft-quality@1.10.0"} and {s.level() for s in counted} == {1}
    assert {s.level() for s in counted_scores(found, "sft-quality")} == {1}
    publish(db, SFT.model_copy(update={"name": "sft-other"}))
    import_scores(db, human_rows(("Q0?", "A0", "ann", 5)), project="p", rubric="sft-other")
    with db.read() as session:
        found = read_scores(Repository(session), project(db).id)
    other = counted_scores(found)  # the newest score is under sft-other: the judge's sft-quality scores never mix in
    assert [(s.scorer, s.rubric.ref) for s in other] == [("p/ann", "sft-other@1.0.0")]
    assert {s.rubric.ref for s in counted_scores(found, "sft-quality")} == {"sft-quality@1.10.0"}


async def test_agreement_report_gives_pointwise_judge_human_agreement(db: Store) -> None:
    await score(db, ScriptedBackend(respond=respond))  # A0 5, B0 2, A1 4
    people = [("Q0?", "A0", "ann", 5), ("Q0?", "B0", "ann", 1), ("Q1?", "A1", "ann", 4), ("Q0?", "A0", "bo", 4)]
    import_scores(db, human_rows(*people, ("Q0?", "B0", "bo", 2)), project="p", rubric="sft-quality")
    with db.read() as session:
        report = agreement_report(Repository(session), project(db).id, ReportOptions(resamples=200))
    overall = next(p for p in report.pointwise if p.criterion is None)
    assert (overall.judge, overall.rubric, overall.levels, overall.n, overall.annotators) == (
        "fake/judge", "sft-quality@1.0.0", 5, 3, 2)  # fmt: skip
    # reference (lower median): A0 min(5,4)=4, B0 1, A1 4; judge 5, 2, 4
    assert overall.exact == pytest.approx(1 / 3)
    assert overall.weighted_kappa.value is not None and overall.weighted_kappa.low is not None
    assert overall.krippendorff_alpha_with_judge is not None and overall.krippendorff_alpha_humans is not None
    assert {p.criterion for p in report.pointwise} == {None, *CRITERIA}


async def test_the_api_takes_a_mode_and_a_min_score(api: Api) -> None:
    rows = [("t:0", {"id": 0, "prompt": "Q0?", "response_a": "A0", "response_b": "B0"})]
    import_rows(api.store, rows, project="p")
    publish(api.store, SFT)
    publish(api.store, load_rubric(LIBRARY / "hhh.yaml"))
    pid = project(api.store).id
    client, auth = api.client, api.auth()
    refused = client.post(f"/projects/{pid}/jobs/judge", json={"rubric": "hhh", "mode": "pointwise"}, headers=auth)
    assert refused.status_code == 422 and "no pointwise mode" in refused.json()["error"]["message"]
    unknown = client.post(f"/projects/{pid}/jobs/judge", json={"rubric": "hhh", "mode": "ranked"}, headers=auth)
    assert unknown.status_code == 422
    body = {"format": "dpo", "min_score": 3}
    assert client.post(f"/projects/{pid}/exports", json=body, headers=auth).status_code == 422
    await score(api.store, ScriptedBackend(respond=respond))  # A0 5, B0 2
    reply = client.post(f"/projects/{pid}/exports", json={"format": "sft", "min_score": 4}, headers=auth)
    assert reply.status_code == 201, reply.text
    manifest = reply.json()["manifest"]
    assert (manifest["responses_exported"], manifest["by_source"], manifest["rows"]) == (
        1,
        {"humans": 0, "judge": 1},
        {"train": 1},
    )
