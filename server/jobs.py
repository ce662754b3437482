"""Long work as resumable jobs: drafting candidates and judging pairs, with progress and recorded errors.

Every finished item is committed on its own, under a natural key (a response by its text, a pair by
its two responses, a verdict by pair + rubric version + judge model + order + sampling parameters),
so an interrupted job keeps what it finished and the same command run again skips it. Running the
same job again resumes the unfinished job record of the same kind and parameters.

The judges library does the model work through the one backend interface; this module only decides
what to ask and stores what comes back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judges.backend import Backend, SamplingParams
from judges.drafter import Drafter, form_pairs
from judges.pairwise import DEFAULT_JUDGE_PARAMS, PairwiseJudge
from judges.verdicts import PairwiseVerdict
from rubrics.outcomes import Order
from rubrics.versions import RubricRef
from server.labels import VerdictLabel, judgement, verdict_label
from server.rubric_registry import resolve
from server.storage import Repository, Store
from server.storage.repository import PairView, digest
from server.storage.tables import Annotator, Job, Project, Prompt

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
DRAFT_PARAMS = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=256, seed=0)


class DraftRequest(BaseModel):
    """What to draft: the CLI's `rubricate draft` options and the API's request body."""

    model_config = ConfigDict(extra="forbid")
    n: int = Field(default=2, ge=2, le=32, description="Candidates per prompt; pairs are formed from them.")
    limit: int | None = Field(default=None, ge=1, description="Only the first L prompts.")
    model: str | None = Field(default=None, description="litellm model; default RUBRICATE_JUDGE_MODEL.")
    temperature: float = Field(default=DRAFT_PARAMS.temperature, ge=0.0, le=2.0)
    top_p: float = Field(default=DRAFT_PARAMS.top_p, gt=0.0, le=1.0)
    max_tokens: int = Field(default=DRAFT_PARAMS.max_tokens, ge=1, le=8192)
    seed: int = Field(default=0, description="Base seed; candidate i is sampled with seed + i.")
    pairs: Literal["all", "sample"] = "all"
    pairs_per_prompt: int | None = Field(default=None, ge=1, description="With pairs=sample: how many per prompt.")

    def params(self) -> SamplingParams:
        return SamplingParams(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens, seed=self.seed
        )


class JudgeRequest(BaseModel):
    """What to judge: the CLI's `rubricate judge` options and the API's request body."""

    model_config = ConfigDict(extra="forbid")
    rubric: RubricRef = Field(description="NAME or NAME@VERSION (default: the newest published version).")
    model: str | None = Field(default=None, description="litellm model; default RUBRICATE_JUDGE_MODEL.")
    orders: Literal["both", "ab"] = Field(default="both", description="both = position-bias control.")
    limit: int | None = Field(default=None, ge=1, description="Only the first L pairs.")
    max_tokens: int = Field(default=DEFAULT_JUDGE_PARAMS.max_tokens, ge=16, le=8192)

    def params(self) -> SamplingParams:
        return DEFAULT_JUDGE_PARAMS.model_copy(update={"max_tokens": self.max_tokens})

    def order_list(self) -> tuple[Order, ...]:
        return ("ab", "ba") if self.orders == "both" else ("ab",)


class JobResult(BaseModel):
    """What a finished (or interrupted) job did; the CLI prints it with `--json`."""

    job: str
    kind: Literal["draft", "judge"]
    status: str
    resumed: bool
    items: int
    done: int
    skipped: int
    failed: int
    responses: int = 0
    pairs_added: int = 0
    verdicts: int = 0
    inconsistent: int = 0
    elapsed_s: float
    completion_tokens: int = 0
    rate_per_s: float = 0.0


def _params_key(params: SamplingParams) -> dict[str, Any]:
    return params.model_dump(exclude={"timeout_s"})


def _start(
    store: Store, kind: str, project: Project, params: dict[str, Any], total: int, actor: Annotator | None
) -> tuple[str, bool]:
    """Reuse the unfinished job with the same kind and parameters, or create one."""
    with store.write() as session:
        repo = Repository(session, actor)
        for job in repo.jobs(project.id):
            if job.kind == kind and job.status in ("running", "interrupted") and job.params == params:
                repo.update_job(job.id, status="running", total=total)
                return job.id, True
        job_id = str(uuid.uuid4())
        repo.create_job(job_id, kind, project.id, params, total=total)
        return job_id, False


class _Tracker:
    """Counts finished and failed items and writes them to the job row (at most twice a second)."""

    def __init__(self, store: Store, job_id: str, total: int, progress: Progress | None) -> None:
        self.store, self.job_id, self.total, self.progress = store, job_id, total, progress
        self.done = self.failed = self.skipped = 0
        self._flushed = 0.0

    def item(self, *, failed: bool = False, skipped: bool = False) -> None:
        self.done += 1
        self.failed += failed
        self.skipped += skipped
        if self.progress:
            self.progress(self.done, self.total)
        if time.monotonic() - self._flushed > 0.5 or self.done == self.total:
            self.flush()

    def flush(self, **fields: Any) -> Job:
        self._flushed = time.monotonic()
        with self.store.write() as session:
            return Repository(session).update_job(self.job_id, done=self.done, failed=self.failed, **fields)


async def _run_all(items: Sequence[Any], work: Callable[[Any], Any], concurrency: int) -> None:
    """Run `work` over items with at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> None:
        async with gate:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


async def _finish(tracker: _Tracker, run: Callable[[], Any]) -> str:
    """Run the job body; an interrupt leaves the job `interrupted` (finished items stay stored)."""
    try:
        await run()
    except (asyncio.CancelledError, KeyboardInterrupt):
        tracker.flush(status="interrupted")
        raise
    except Exception as exc:
        tracker.flush(status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    return "done"


def _summary(
    kind: Literal["draft", "judge"],
    tracker: _Tracker,
    status: str,
    resumed: bool,
    started: float,
    produced: int,
    tokens: int,
    **counts: int,
) -> JobResult:
    """The job's result; the rate is what it produced (responses or verdicts) per second of this run."""
    elapsed = time.perf_counter() - started
    return JobResult(
        job=tracker.job_id,
        kind=kind,
        status=status,
        resumed=resumed,
        items=tracker.total,
        done=tracker.done,
        skipped=tracker.skipped,
        elapsed_s=round(elapsed, 3),
        completion_tokens=tokens,
        rate_per_s=round(produced / elapsed, 3) if elapsed else 0.0,
        **counts,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------- drafting


async def draft_job(
    store: Store,
    project: Project,
    backend: Backend,
    request: DraftRequest,
    *,
    actor: Annotator | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
    on_start: Callable[[str], None] | None = None,
) -> JobResult:
    """Draft `request.n` candidates for each of the first `request.limit` prompts and form pairs from them.

    Candidate i of a prompt is sampled with seed `seed + i`, so a resumed job drafts exactly the
    candidates that are missing.
    """
    n, limit, params = request.n, request.limit, request.params()
    pairs, pairs_per_prompt = request.pairs, request.pairs_per_prompt
    with store.read() as session:
        prompts = Repository(session).prompts(project.id, limit=limit)
    source = f"model:{backend.model}"
    job_params = {
        "n": n,
        "limit": limit,
        "model": backend.model,
        "params": _params_key(params),
        "pairs": pairs,
        "pairs_per_prompt": pairs_per_prompt,
    }
    job_id, resumed = _start(store, "draft", project, job_params, len(prompts), actor)
    if on_start:
        on_start(job_id)
    tracker = _Tracker(store, job_id, len(prompts), progress)
    drafter = Drafter(backend, params=params)
    draft_key = digest([backend.model, _params_key(params)])
    counts = {"responses": 0, "pairs": 0, "tokens": 0}
    started = time.perf_counter()

    async def one(prompt: Prompt) -> None:
        prompt_id = prompt.id
        with store.read() as session:
            mine = [
                r for r in Repository(session).responses_from(prompt_id, source) if r.meta.get("draft_key") == draft_key
            ]
        have = {r.meta["index"] for r in mine}
        missing = [i for i in range(n) if i not in have]
        failed = False
        if missing:
            batches = await asyncio.gather(*(drafter.draft(prompt.messages, 1, start=i) for i in missing))
            drafts = [d for batch in batches for d in batch]
            with store.write() as session:
                repo = Repository(session, actor)
                for draft in drafts:
                    counts["tokens"] += draft.usage.completion_tokens
                    if draft.failed or not (draft.text or "").strip():
                        failed = True
                        repo.add_job_error(
                            job_id, f"prompt {prompt_id} candidate {draft.index}", draft.error or "empty completion"
                        )
                        continue
                    existing = {r.content_hash: r for r in repo.responses_for_prompt(prompt_id)}
                    if digest(draft.text) in existing:  # the same text was drafted before: keep one response
                        continue
                    mine.append(
                        repo.add_response(
                            prompt_id,
                            draft.text or "",
                            source=source,
                            params=draft.params.model_dump(),
                            usage=draft.usage.model_dump(),
                            meta={"draft_key": draft_key, "index": draft.index, "finish_reason": draft.finish_reason},
                            job_id=job_id,
                        )
                    )
                    counts["responses"] += 1
        with store.write() as session:
            repo = Repository(session, actor)
            keys = repo.pair_keys(project.id)
            ordered = sorted(mine, key=lambda r: r.meta["index"])
            for a, b in form_pairs([r.id for r in ordered], pairs, pairs_per_prompt, seed=prompt_id):
                key = f"draft:{a}:{b}"
                if key not in keys:
                    by_id = {r.id: r for r in ordered}
                    repo.add_pair(project.id, prompt_id, by_id[a], by_id[b], key=key, meta={"job": job_id})
                    counts["pairs"] += 1
        tracker.item(failed=failed, skipped=not missing)

    status = await _finish(tracker, lambda: _run_all(prompts, one, concurrency))
    tracker.flush(status=status, result=counts)
    return _summary(
        "draft", tracker, status, resumed, started, counts["responses"], counts["tokens"],
        failed=tracker.failed, responses=counts["responses"], pairs_added=counts["pairs"],
    )  # fmt: skip


# ---------------------------------------------------------------- judging


def verdict_key(pair_id: int, rubric_version_id: int, model: str, order: Order, params: SamplingParams) -> str:
    """The natural key of a judge verdict: re-running the same judgement finds it."""
    return digest(["judge", pair_id, rubric_version_id, model, order, _params_key(params)])


def _verdict_fields(verdict: PairwiseVerdict) -> dict[str, Any]:
    return {
        "outcome": verdict.outcome,
        "criteria": dict(verdict.criteria),
        "confidence": verdict.confidence,
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
        },
    }


async def judge_job(
    store: Store,
    project: Project,
    backend: Backend,
    request: JudgeRequest,
    *,
    actor: Annotator | None = None,
    progress: Progress | None = None,
    concurrency: int = 32,
    on_start: Callable[[str], None] | None = None,
) -> JobResult:
    """Judge the first `request.limit` pairs under a rubric version (the newest when it names none).

    Both presentation orders by default; each stored verdict carries the rubric version, judge model,
    order, sampling parameters and token usage. A failed verdict is stored with its error and retried
    by the next run; a successful one is never asked again.
    """
    rubric, orders, limit, params = request.rubric, request.order_list(), request.limit, request.params()
    with store.read() as session:
        repo = Repository(session)
        version, rubric_model = resolve(repo, rubric)
        views = repo.pair_views(repo.pairs(project.id, limit=limit))
    judge = PairwiseJudge(backend, rubric_model, params=params, orders=orders)
    job_params = {
        "rubric": rubric_model.ref,
        "model": backend.model,
        "orders": list(orders),
        "limit": limit,
        "params": _params_key(params),
    }
    job_id, resumed = _start(store, "judge", project, job_params, len(views), actor)
    if on_start:
        on_start(job_id)
    tracker = _Tracker(store, job_id, len(views), progress)
    counts = {"verdicts": 0, "inconsistent": 0, "failed_verdicts": 0, "tokens": 0}
    started = time.perf_counter()

    async def one(view: PairView) -> None:
        keys = {order: verdict_key(view.pair.id, version.id, backend.model, order, params) for order in orders}
        with store.read() as session:
            stored = Repository(session).verdicts_by_key(list(keys.values()))
        todo = [o for o in orders if keys[o] not in stored or stored[keys[o]].error]
        fresh = await asyncio.gather(
            *(
                judge.verdict(
                    order,
                    view.prompt.messages,
                    view.response_a.text,
                    view.response_b.text,
                    reference=view.prompt.reference,
                )
                for order in todo
            )
        )
        with store.write() as session:
            repo = Repository(session, actor)
            for verdict in fresh:
                counts["tokens"] += verdict.usage.completion_tokens
                counts["failed_verdicts"] += verdict.failed
                fields = _verdict_fields(verdict)
                row = stored.get(keys[verdict.order])
                if row is not None:  # a failed verdict from an earlier run: replace it in place
                    row = repo.session.merge(row)
                    for name, value in fields.items():
                        setattr(row, name, value)
                    row.job_id = job_id
                else:
                    repo.add_verdict(
                        key=keys[verdict.order],
                        project_id=project.id,
                        pair_id=view.pair.id,
                        rubric_version_id=version.id,
                        judge_model=backend.model,
                        kind="pairwise",
                        order=verdict.order,
                        source="job",
                        job_id=job_id,
                        **fields,
                    )
                counts["verdicts"] += 1
        earlier = [verdict_label(stored[keys[o]], {}) for o in orders if o not in todo and keys[o] in stored]
        now = [VerdictLabel(0, backend.model, v.order, v.outcome, failed=v.failed) for v in fresh]
        combined = judgement([*earlier, *now], backend.model, None)  # one version: the job's
        counts["inconsistent"] += combined is not None and combined.consistent is False
        tracker.item(failed=any(v.failed for v in fresh), skipped=not todo)

    status = await _finish(tracker, lambda: _run_all(views, one, concurrency))
    tracker.flush(status=status, result=counts)
    return _summary(
        "judge", tracker, status, resumed, started, counts["verdicts"], counts["tokens"],
        failed=counts["failed_verdicts"], verdicts=counts["verdicts"], inconsistent=counts["inconsistent"],
    )  # fmt: skip


# ---------------------------------------------------------------- running in the background


def start_in_background(job: Callable[[Callable[[str], None]], Coroutine[Any, Any, JobResult]]) -> str:
    """Run `job(on_start)` on its own thread and event loop; return its id once it has one.

    The API uses this so a long draft or judge job neither blocks a request nor the server's loop;
    progress is then read at `GET /jobs/{id}`. An error before the job starts (an unknown rubric, a
    bad argument) is raised here, so the request fails with it.
    """
    started = threading.Event()
    box: dict[str, Any] = {}

    def on_start(job_id: str) -> None:
        box["id"] = job_id
        started.set()

    def run() -> None:
        try:
            asyncio.run(job(on_start))
        except BaseException as exc:
            if "id" in box:  # the job row already says `failed` with the error (see _finish)
                log.exception("job %s failed", box["id"])
            box.setdefault("error", exc)
        finally:
            started.set()

    threading.Thread(target=run, name="rubricate-job", daemon=True).start()
    started.wait()
    if "id" not in box:
        raise box["error"]
    return str(box["id"])
