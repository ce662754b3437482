"""Draft and judge jobs over a real SQLite store with a scripted backend: our own logic only.

What is pinned: verdict provenance, both orders combined and counted, failures stored with their
error and retried on the next run, finished items skipped on resume, an interrupted job resumable.
The same jobs against a real vLLM server are in tests/integration/test_jobs_vllm.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from judges.backend import BackendError, SamplingParams
from rubrics.loader import LIBRARY, load_rubric
from server.imports.service import import_rows
from server.jobs import DraftRequest, JudgeRequest, draft_job, judge_job
from server.rubric_registry import publish
from server.storage import Repository, Store, open_store
from server.storage.tables import Job, JobError, Verdict
from tests.support.fake_backend import ScriptedBackend

HHH = load_rubric(LIBRARY / "hhh.yaml")


@pytest.fixture
def db(tmp_path: Path) -> Store:
    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    rows = [(f"t:{i}", {"id": i, "prompt": f"Q{i}?", "response_a": f"A{i}", "response_b": f"B{i}"}) for i in range(3)]
    rows.append(("t:3", {"prompt": "Q3 with no pair?"}))
    import_rows(store, rows, project="p")
    publish(store, HHH)
    return store


def project(store: Store):  # type: ignore[no-untyped-def]
    with store.read() as session:
        return Repository(session).project_by_name("p")


def verdict(outcome: str) -> dict:  # type: ignore[type-arg]
    return {
        "helpful": outcome,
        "honest": outcome,
        "harmless": "tie",
        "overall": outcome,
        "confidence": 4,
        "rationale": "r",
    }


def shown_first_is_a(call_text: str, pair: int) -> bool:
    return call_text.index(f"A{pair}\n[End") < call_text.index(f"B{pair}\n[End")


def rows(store: Store, table: type) -> list:  # type: ignore[type-arg]
    with store.read() as session:
        return list(session.query(table).all())


async def test_judge_job_stores_provenance_counts_inconsistency_and_resumes(db: Store) -> None:
    def respond(messages, model, params):  # type: ignore[no-untyped-def]
        text = messages[-1]["content"]
        pair = next(i for i in range(3) if f"A{i}\n" in text)
        if pair == 1:
            return verdict("a")  # position-biased: always the first shown
        if pair == 2:
            raise BackendError("incomplete", "hit max_tokens", raw='{"helpful": "a", "hon')
        return verdict("a" if shown_first_is_a(text, pair) else "b")  # always prefers A0

    backend = ScriptedBackend(respond=respond)
    result = await judge_job(db, project(db), backend, JudgeRequest(rubric="hhh", max_tokens=200))
    assert (result.items, result.verdicts, result.failed, result.inconsistent) == (3, 6, 2, 1)
    stored = rows(db, Verdict)
    assert len(stored) == 6 and {v.order for v in stored} == {"ab", "ba"}
    for v in stored:
        assert v.rubric_version_id is not None and v.judge_model == "fake/judge" and v.meta["rubric"] == "hhh@1.0.0"
        assert v.params == {
            "temperature": 0.0,
            "top_p": 1.0,
            "max_tokens": 200,
            "seed": 0,
            "timeout_s": None,
            "logprobs": 5,
        }
        assert v.usage == (
            {"prompt_tokens": 0, "completion_tokens": 0} if v.error else {"prompt_tokens": 11, "completion_tokens": 7}
        )
    failed = [v for v in stored if v.error]
    assert len(failed) == 2 and all(v.outcome is None and v.meta["error_kind"] == "incomplete" for v in failed)
    assert all(v.raw for v in failed)
    by_pair = {(v.pair_id, v.order): v.outcome for v in stored if not v.error}
    assert by_pair[(1, "ab")] == by_pair[(1, "ba")] == "a"  # A0 wins in both orders: canonical a
    assert (by_pair[(2, "ab")], by_pair[(2, "ba")]) == ("a", "b")  # biased: inconsistent

    calls = len(backend.history)
    again = await judge_job(db, project(db), backend, JudgeRequest(rubric="hhh@1.0.0", max_tokens=200))
    assert again.resumed is False and again.skipped == 2 and again.verdicts == 2  # only the failed pair again
    assert len(backend.history) == calls + 2 and len(rows(db, Verdict)) == 6  # replaced in place, not added


async def test_judge_job_single_order_and_unknown_rubric(db: Store) -> None:
    backend = ScriptedBackend(respond=lambda m, r, p: verdict("b"))
    result = await judge_job(db, project(db), backend, JudgeRequest(rubric="hhh", orders="ab", limit=2))
    assert (result.items, result.verdicts, result.inconsistent) == (2, 2, 0)
    assert {v.order for v in rows(db, Verdict)} == {"ab"}
    with pytest.raises(LookupError, match="rubric 'nope' has no published version"):
        await judge_job(db, project(db), backend, JudgeRequest(rubric="nope"))


async def test_draft_job_forms_pairs_records_failures_and_resumes(db: Store) -> None:
    answers = iter(
        ["First draft.", "Second draft.", BackendError("timeout", "no answer in 30 s", attempts=3)]
        + [f"Draft {i}." for i in range(20)]
    )
    backend = ScriptedBackend(respond=lambda m, r, p: next(answers))
    request = DraftRequest(n=2, limit=2, seed=5, temperature=0.7)
    first = await draft_job(db, project(db), backend, request, concurrency=1)
    assert (first.items, first.responses, first.pairs_added, first.failed) == (2, 3, 1, 1)
    assert [c.params.seed for c in backend.history] == [5, 6, 5, 6]
    errors = rows(db, JobError)
    assert len(errors) == 1 and "no answer in 30 s" in errors[0].error and errors[0].item == "prompt 2 candidate 0"

    second = await draft_job(db, project(db), backend, request, concurrency=1)
    assert (second.responses, second.pairs_added, second.skipped) == (1, 1, 1)  # only the missing candidate
    assert [c.params.seed for c in backend.history[4:]] == [5]
    assert second.resumed is False  # the first job finished (with a failure); this is a new run of it


async def test_interrupted_job_keeps_finished_items_and_resumes(db: Store) -> None:
    gate = asyncio.Event()

    async def slow_backend_complete(messages, model, params):  # type: ignore[no-untyped-def]
        if "A2\n" in messages[-1]["content"]:
            await gate.wait()  # pair 3 never finishes in the first run
        return await ScriptedBackend(respond=lambda m, r, p: verdict("a")).complete(messages, model, params)

    backend = ScriptedBackend()
    backend.complete = slow_backend_complete  # type: ignore[method-assign]
    task = asyncio.create_task(judge_job(db, project(db), backend, JudgeRequest(rubric="hhh"), concurrency=1))
    while len(rows(db, Verdict)) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    job = rows(db, Job)[0]
    assert job.status == "interrupted" and job.done == 2 and len(rows(db, Verdict)) == 4
    gate.set()
    resumed = await judge_job(db, project(db), backend, JudgeRequest(rubric="hhh"))
    assert resumed.resumed and resumed.job == job.id and resumed.skipped == 2 and resumed.verdicts == 2
    assert rows(db, Job)[0].status == "done" and len(rows(db, Verdict)) == 6


def test_requests_reject_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValueError, match="extra"):
        JudgeRequest.model_validate({"rubric": "hhh", "order": "ab"})
    with pytest.raises(ValueError, match="rubric reference 'hhh@1': use NAME or NAME@MAJOR"):
        JudgeRequest(rubric="hhh@1")
    assert JudgeRequest(rubric=" hhh@1.0.0 ").rubric == "hhh@1.0.0"
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        DraftRequest(n=1)
    assert DraftRequest(seed=3).params() == SamplingParams(temperature=0.8, top_p=0.95, max_tokens=256, seed=3)
