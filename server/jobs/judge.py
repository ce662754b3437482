"""The judge job: a project's pairs judged under one rubric version through :class:`judges.pairwise.PairwiseJudge`.

Each verdict is stored under its natural key (pair + rubric version + judge model + order + sampling
parameters) with the rubric version, judge model, order, parameters and token usage. A failed verdict is
stored with its error and asked again by the next run (replaced in place); a successful one is never
asked again. The pair's two orders are combined by :mod:`server.labels`, the rule every reader uses.

>>> JudgeRequest(rubric="hhh").order_list()
('ab', 'ba')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judges.backend import Backend, SamplingParams
from judges.confidence import VLLM_LOGPROBS
from judges.pairwise import DEFAULT_JUDGE_PARAMS, PairwiseJudge
from judges.verdicts import PairwiseJudgement, PairwiseVerdict
from rubrics.outcomes import Order
from rubrics.versions import RubricRef
from server.jobs.runner import ItemOutcome, JobResult, Progress, params_key, run_job
from server.jobs.score import ScoreSpec
from server.labels import VerdictLabel, judgement, verdict_label
from server.rubric_registry import resolve
from server.storage import Repository, Store
from server.storage.records import Project, Verdict
from server.storage.repos.annotators import Person
from server.storage.repository import PairView, digest


class JudgeRequest(BaseModel):
    """What to judge: the CLI's `rubricate judge` options and the API's request body."""

    model_config = ConfigDict(extra="forbid")
    rubric: RubricRef = Field(description="NAME or NAME@VERSION (default: the newest published version).")
    model: str | None = Field(default=None, description="litellm model; default RUBRICATE_JUDGE_MODEL.")
    mode: Literal["pairwise", "pointwise"] = Field(
        default="pairwise", description="pairwise: pairs, a winner; pointwise: responses, 1..N per criterion."
    )
    orders: Literal["both", "ab"] = Field(default="both", description="both = position-bias control (pairwise).")
    limit: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="Only the first L pairs (pointwise: responses)."
    )
    max_tokens: int = Field(default=DEFAULT_JUDGE_PARAMS.max_tokens, ge=16, le=8192)

    def params(self) -> SamplingParams:
        return DEFAULT_JUDGE_PARAMS.model_copy(update={"max_tokens": self.max_tokens})

    def order_list(self) -> tuple[Order, ...]:
        return ("ab", "ba") if self.orders == "both" else ("ab",)


def verdict_key(pair_id: int, rubric_version_id: int, model: str, order: Order, params: SamplingParams) -> str:
    """The natural key of a judge verdict: re-running the same judgement finds it."""
    return digest(["judge", pair_id, rubric_version_id, model, order, params_key(params)])


def verdict_fields(verdict: PairwiseVerdict) -> dict[str, Any]:
    """The stored fields of a verdict that a re-run may replace."""
    return {
        "outcome": verdict.outcome,
        "criteria": dict(verdict.criteria),
        "confidence": verdict.confidence,
        "probabilities": verdict.probabilities,
        "rationale": verdict.rationale,
        "raw": verdict.raw,
        "error": verdict.error,
        "params": verdict.params.model_dump(),
        "usage": verdict.usage.model_dump(),
        "latency_s": verdict.latency_s,
        "meta": {
            "presented_outcome": verdict.presented_outcome,
            "error_kind": verdict.error_kind,
            "cached": verdict.cached,
            "rubric": verdict.rubric_ref,
            "probabilities_source": probabilities_source(verdict),
        },
    }


def probabilities_source(verdict: PairwiseVerdict) -> str | None:
    """What a verdict's outcome probabilities are: vLLM's post-grammar raw logprobs, or the provider's."""
    if verdict.probabilities is None:
        return None
    return VLLM_LOGPROBS if verdict.judge_model.startswith("hosted_vllm/") else "provider logprobs"


@dataclass
class Orders:
    """A pair's verdicts already stored (by order) and the orders still to ask (missing or failed)."""

    keys: dict[Order, str]
    stored: dict[str, Verdict]
    todo: tuple[Order, ...]

    def __bool__(self) -> bool:
        return bool(self.todo)


class JudgeSpec:
    """The judge job as a :class:`server.jobs.runner.JobSpec` over a project's pairs."""

    kind = "judge"
    produced = "verdicts"

    def __init__(self, store: Store, project: Project, backend: Backend, request: JudgeRequest) -> None:
        self.store, self.project, self.backend, self.request = store, project, backend, request
        self.orders, self.sampling = request.order_list(), request.params()
        with store.read() as session:
            self.version, self.rubric = resolve(Repository(session), request.rubric)
        self.views: list[PairView] | None = None  # read when the job runs, not when it is queued
        self.pinned = request.model_copy(update={"rubric": self.rubric.ref, "model": backend.model}).model_dump()
        self.judges: dict[tuple[Order, ...], PairwiseJudge] = {}
        self.params = {
            "rubric": self.rubric.ref,
            "model": backend.model,
            "orders": list(self.orders),
            "limit": request.limit,
            "params": params_key(self.sampling),
        }

    def items(self) -> list[PairView]:
        if self.views is None:
            with self.store.read() as session:
                repo = Repository(session)
                self.views = repo.pair_views(repo.pairs(self.project.id, limit=self.request.limit))
        return self.views

    def pending(self, view: PairView) -> Orders:
        keys = {
            o: verdict_key(view.pair.id, self.version.id, self.backend.model, o, self.sampling) for o in self.orders
        }
        with self.store.read() as session:
            stored = Repository(session).verdicts_by_key(list(keys.values()))
        todo = tuple(o for o in self.orders if keys[o] not in stored or stored[keys[o]].error)
        return Orders(keys, stored, todo)

    async def work(self, view: PairView, todo: Orders) -> PairwiseJudgement:
        if todo.todo not in self.judges:
            self.judges[todo.todo] = PairwiseJudge(self.backend, self.rubric, params=self.sampling, orders=todo.todo)
        judge = self.judges[todo.todo]
        return await judge.judge(
            view.prompt.messages, view.response_a.text, view.response_b.text, reference=view.prompt.reference
        )

    def save(
        self, repo: Repository, job_id: str, view: PairView, todo: Orders, done: PairwiseJudgement | None
    ) -> ItemOutcome:
        fresh = done.verdicts if done else []
        for verdict in fresh:
            row = todo.stored.get(todo.keys[verdict.order])
            if row is not None:  # a failed verdict from an earlier run: replace it in place
                repo.replace_verdict(row.id, job_id=job_id, **verdict_fields(verdict))
            else:
                repo.add_verdict(
                    key=todo.keys[verdict.order], project_id=self.project.id, pair_id=view.pair.id,
                    rubric_version_id=self.version.id, judge_model=self.backend.model, kind="pairwise",
                    order=verdict.order, source="job", job_id=job_id, **verdict_fields(verdict),
                )  # fmt: skip
        earlier = [
            verdict_label(todo.stored[todo.keys[o]], {})
            for o in self.orders
            if o not in todo.todo and todo.keys[o] in todo.stored
        ]
        now = [VerdictLabel(0, self.backend.model, v.order, v.outcome, failed=v.failed) for v in fresh]
        combined = judgement([*earlier, *now], self.backend.model, None)  # one rubric version: the job's
        counts = {
            "verdicts": len(fresh),
            "inconsistent": int(combined is not None and combined.consistent is False),
            "failed_verdicts": sum(v.failed for v in fresh),
            "tokens": sum(v.usage.completion_tokens for v in fresh),
        }
        return ItemOutcome(counts=counts, failed=any(v.failed for v in fresh))

    def result(self, counts: Counter[str], failed_items: int) -> dict[str, Any]:
        return {
            "failed": counts["failed_verdicts"],
            "verdicts": counts["verdicts"],
            "inconsistent": counts["inconsistent"],
        }


def judge_spec(store: Store, project: Project, backend: Backend, request: JudgeRequest) -> JudgeSpec | ScoreSpec:
    """The judge job a request asks for: pairs in both orders, or with `mode="pointwise"` responses scored."""
    kind = ScoreSpec if request.mode == "pointwise" else JudgeSpec
    return kind(store, project, backend, request)


async def judge_job(
    store: Store,
    project: Project,
    backend: Backend,
    request: JudgeRequest,
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
    concurrency: int = 32,
    on_start: Callable[[str], None] | None = None,
) -> JobResult:
    """Judge the first `request.limit` pairs under a rubric version (the newest when it names none), in both
    presentation orders by default; with `mode="pointwise"` score the first `limit` responses instead."""
    spec = judge_spec(store, project, backend, request)
    return await run_job(
        store, project, spec, actor=actor, progress=progress, concurrency=concurrency, on_start=on_start
    )
