"""The draft job: N candidates per prompt from one model, and pairs formed from them.

Candidate i of a prompt is sampled with seed `seed + i` and stored under a draft key (model + sampling
parameters), so a resumed job drafts exactly the candidates that are missing; a pair is stored under
its two responses, so forming pairs again adds nothing.

>>> DraftRequest(n=3).params().seed
0
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judges.backend import Backend, SamplingParams
from judges.drafter import Draft, Drafter, form_pairs
from server.jobs.runner import ItemOutcome, JobResult, Progress, params_key, run_job
from server.storage import Repository, Store
from server.storage.records import Project, Prompt, Response
from server.storage.repos.annotators import Person
from server.storage.repository import digest

DRAFT_PARAMS = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=256, seed=0)


class DraftRequest(BaseModel):
    """What to draft: the CLI's `rubricate draft` options and the API's request body."""

    model_config = ConfigDict(extra="forbid")
    n: int = Field(default=2, ge=2, le=32, description="Candidates per prompt; pairs are formed from them.")
    limit: int | None = Field(default=None, ge=1, le=2**63 - 1, description="Only the first L prompts.")
    model: str | None = Field(default=None, description="litellm model; default RUBRICATE_JUDGE_MODEL.")
    temperature: float = Field(default=DRAFT_PARAMS.temperature, ge=0.0, le=2.0)
    top_p: float = Field(default=DRAFT_PARAMS.top_p, gt=0.0, le=1.0)
    max_tokens: int = Field(default=DRAFT_PARAMS.max_tokens, ge=1, le=8192)
    seed: int = Field(default=0, description="Base seed; candidate i is sampled with seed + i.")
    pairs: Literal["all", "sample"] = "all"
    pairs_per_prompt: int | None = Field(default=None, ge=1, description="With pairs=sample: how many per prompt.")

    @model_validator(mode="after")
    def _pairs_options_agree(self) -> DraftRequest:
        if self.pairs == "sample" and self.pairs_per_prompt is None:
            raise ValueError("pairs_per_prompt: pairs=sample needs pairs_per_prompt (how many pairs per prompt)")
        if self.pairs == "all" and self.pairs_per_prompt is not None:
            raise ValueError("pairs_per_prompt: only with pairs=sample (pairs=all forms every pair)")
        return self

    def params(self) -> SamplingParams:
        return SamplingParams(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens, seed=self.seed
        )


@dataclass
class Candidates:
    """A prompt's candidates drafted so far (under this job's draft key) and the indices still missing."""

    have: list[Response]
    missing: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing)


class DraftSpec:
    """The draft job as a :class:`server.jobs.runner.JobSpec` over a project's prompts."""

    kind = "draft"
    produced = "responses"

    def __init__(self, store: Store, project: Project, backend: Backend, request: DraftRequest) -> None:
        self.store, self.project, self.request = store, project, request
        params = request.params()
        self.drafter = Drafter(backend, params=params)
        self.source = f"model:{backend.model}"
        self.draft_key = digest([backend.model, params_key(params)])
        self.pinned = request.model_copy(update={"model": backend.model}).model_dump()
        self.params = {
            "n": request.n,
            "limit": request.limit,
            "model": backend.model,
            "params": params_key(params),
            "pairs": request.pairs,
            "pairs_per_prompt": request.pairs_per_prompt,
        }

    def items(self) -> list[Prompt]:
        with self.store.read() as session:
            return Repository(session).prompts(self.project.id, limit=self.request.limit)

    def pending(self, prompt: Prompt) -> Candidates:
        with self.store.read() as session:
            found = Repository(session).responses_from(prompt.id, self.source)
        have = [r for r in found if r.meta.get("draft_key") == self.draft_key]
        indices = {r.meta["index"] for r in have}
        return Candidates(have, [i for i in range(self.request.n) if i not in indices])

    async def work(self, prompt: Prompt, todo: Candidates) -> list[Draft]:
        batches = await asyncio.gather(*(self.drafter.draft(prompt.messages, 1, start=i) for i in todo.missing))
        return [draft for batch in batches for draft in batch]

    def save(
        self, repo: Repository, job_id: str, prompt: Prompt, todo: Candidates, done: list[Draft] | None
    ) -> ItemOutcome:
        outcome = ItemOutcome(counts={"responses": 0, "pairs": 0, "tokens": 0})
        for draft in done or []:
            outcome.counts["tokens"] += draft.usage.completion_tokens
            if draft.failed or not (draft.text or "").strip():
                outcome.failed = True
                outcome.errors.append(
                    (f"prompt {prompt.id} candidate {draft.index}", draft.error or "empty completion")
                )
                continue
            if digest(draft.text) in {r.content_hash for r in repo.responses_for_prompt(prompt.id)}:
                continue  # the same text was drafted before: keep one response
            meta = {"draft_key": self.draft_key, "index": draft.index, "finish_reason": draft.finish_reason}
            todo.have.append(
                repo.add_response(
                    prompt.id, draft.text or "", source=self.source, params=draft.params.model_dump(),
                    usage=draft.usage.model_dump(), meta=meta, job_id=job_id,
                )
            )  # fmt: skip
            outcome.counts["responses"] += 1
        outcome.counts["pairs"] = self._pair_up(repo, job_id, prompt, todo.have)
        return outcome

    def _pair_up(self, repo: Repository, job_id: str, prompt: Prompt, have: list[Response]) -> int:
        """Store the pairs of the prompt's candidates that are not stored yet; how many were added."""
        keys = repo.pair_keys(self.project.id)
        ordered = sorted(have, key=lambda r: r.meta["index"])
        by_id = {r.id: r for r in ordered}
        added = 0
        for a, b in form_pairs(
            [r.id for r in ordered], self.request.pairs, self.request.pairs_per_prompt, seed=prompt.id
        ):
            if f"draft:{a}:{b}" not in keys:
                repo.add_pair(
                    self.project.id, prompt.id, by_id[a], by_id[b], key=f"draft:{a}:{b}", meta={"job": job_id}
                )
                added += 1
        return added

    def result(self, counts: Counter[str], failed_items: int) -> dict[str, Any]:
        return {"failed": failed_items, "responses": counts["responses"], "pairs_added": counts["pairs"]}


async def draft_job(
    store: Store,
    project: Project,
    backend: Backend,
    request: DraftRequest,
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
    on_start: Callable[[str], None] | None = None,
) -> JobResult:
    """Draft `request.n` candidates for each of the first `request.limit` prompts and form pairs from them."""
    spec = DraftSpec(store, project, backend, request)
    return await run_job(
        store, project, spec, actor=actor, progress=progress, concurrency=concurrency, on_start=on_start
    )
