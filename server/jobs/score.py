"""The pointwise judge job: responses scored 1..N per criterion by :class:`judges.pointwise.PointwiseJudge`.

`rubricate judge --mode pointwise` (the API's judge request with ``"mode": "pointwise"``) runs this
spec on the one runner, so it has the pairwise job's resume, progress, concurrency and job row. Each
score is a verdict of kind ``pointwise`` on its response, stored under its natural key (response +
rubric version + judge model + sampling parameters) with the rubric version, judge model, parameters,
token usage and raw output; the levels are in ``scores`` (criterion → level, plus ``overall``). A
failed score is stored with its error and asked again by the next run (replaced in place); a
successful one is never asked again. Which scores count is the rule of :mod:`server.score_labels`.

>>> score_key(1, 2, "j", DEFAULT_JUDGE_PARAMS) == score_key(1, 2, "j", DEFAULT_JUDGE_PARAMS)
True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from judges.backend import Backend, SamplingParams
from judges.pairwise import DEFAULT_JUDGE_PARAMS
from judges.pointwise import PointwiseJudge
from judges.verdicts import PointwiseScore
from server.jobs.runner import ItemOutcome, params_key
from server.rubric_registry import resolve
from server.storage import Repository, Store
from server.storage.records import Project, Prompt, Response, Verdict
from server.storage.repos.scores import ScoreAnswer
from server.storage.repository import digest


def score_key(response_id: int, rubric_version_id: int, model: str, params: SamplingParams) -> str:
    """The natural key of a judge's pointwise score: re-running the same scoring finds it."""
    return digest(["score", response_id, rubric_version_id, model, params_key(params)])


def score_answer(score: PointwiseScore) -> ScoreAnswer:
    """The stored part of a score that a re-run may replace."""
    return ScoreAnswer(
        scores={} if score.failed else {**score.criteria, "overall": score.overall},
        rationale=score.rationale,
        raw=score.raw,
        error=score.error,
        params=score.params.model_dump(),
        usage=score.usage.model_dump(),
        latency_s=score.latency_s,
        meta={"error_kind": score.error_kind, "cached": score.cached, "rubric": score.rubric_ref},
    )


@dataclass
class Pending:
    """A response's stored score (if any) and whether it must be asked (missing or failed)."""

    key: str
    stored: Verdict | None
    ask: bool

    def __bool__(self) -> bool:
        return self.ask


class ScoreSpec:
    """The pointwise judge job as a :class:`server.jobs.runner.JobSpec` over a project's responses."""

    kind = "judge"
    produced = "verdicts"

    def __init__(self, store: Store, project: Project, backend: Backend, request: Any) -> None:
        self.store, self.project, self.backend = store, project, backend
        self.sampling = request.params().model_copy(update={"logprobs": None})  # scores need no outcome logprobs
        with store.read() as session:
            repo = Repository(session)
            self.version, self.rubric = resolve(repo, request.rubric)
            self.responses = repo.scorable_responses(project.id, limit=request.limit)
        if "pointwise" not in self.rubric.modes:
            raise ValueError(
                f"rubric: {self.rubric.ref} has no pointwise mode (modes: {', '.join(self.rubric.modes)}); "
                "score under a rubric with levels, e.g. sft-quality"
            )
        self.judge = PointwiseJudge(backend, self.rubric, params=self.sampling)
        self.pinned = request.model_copy(update={"rubric": self.rubric.ref, "model": backend.model}).model_dump()
        self.params = {
            "mode": "pointwise",
            "rubric": self.rubric.ref,
            "model": backend.model,
            "limit": request.limit,
            "params": params_key(self.sampling),
        }

    def items(self) -> list[tuple[Response, Prompt]]:
        return self.responses

    def pending(self, item: tuple[Response, Prompt]) -> Pending:
        key = score_key(item[0].id, self.version.id, self.backend.model, self.sampling)
        with self.store.read() as session:
            stored = Repository(session).verdicts_by_key([key]).get(key)
        return Pending(key, stored, stored is None or stored.error is not None)

    async def work(self, item: tuple[Response, Prompt], todo: Pending) -> PointwiseScore:
        response, prompt = item
        return await self.judge.score(prompt.messages, response.text, reference=prompt.reference)

    def save(
        self, repo: Repository, job_id: str, item: tuple[Response, Prompt], todo: Pending, done: PointwiseScore | None
    ) -> ItemOutcome:
        if done is None:
            return ItemOutcome()
        if todo.stored is not None:  # a failed score from an earlier run: replace it in place
            repo.replace_pointwise_verdict(todo.stored.id, job_id=job_id, answer=score_answer(done))
        else:
            repo.add_pointwise_verdict(
                key=todo.key, project_id=self.project.id, response_id=item[0].id,
                rubric_version_id=self.version.id, judge_model=self.backend.model, job_id=job_id,
                answer=score_answer(done),
            )  # fmt: skip
        counts = {"verdicts": 1, "failed_verdicts": int(done.failed), "tokens": done.usage.completion_tokens}
        return ItemOutcome(counts=counts, failed=done.failed)

    def result(self, counts: Counter[str], failed_items: int) -> dict[str, Any]:
        return {"failed": counts["failed_verdicts"], "verdicts": counts["verdicts"], "inconsistent": 0}


__all__ = ["DEFAULT_JUDGE_PARAMS", "ScoreSpec", "score_answer", "score_key"]
