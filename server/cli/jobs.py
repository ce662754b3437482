"""`rubricate draft` and `rubricate judge`: resumable jobs with a progress bar and a JSON summary."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from judges.pairwise import DEFAULT_JUDGE_PARAMS
from server.cli.common import emit, out, progress_bar, settings, store, user_errors
from server.jobs import DRAFT_PARAMS, DraftRequest, JobResult, JudgeRequest, draft_job, judge_job
from server.llm import make_backend
from server.storage import Repository

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the job summary as JSON.")]


def _run(job: Any, project: str, request: DraftRequest | JudgeRequest, label: str, show: bool) -> JobResult:
    """Run a draft or judge job for `project` with the configured backend and a progress bar."""
    db = store()
    with db.read() as session:
        target = Repository(session).project_by_name(project)
    backend = make_backend(settings(), db, request.model)
    with progress_bar(label, show) as update:
        return asyncio.run(job(db, target, backend, request, progress=update))  # type: ignore[no-any-return]


def _report(result: JobResult, as_json: bool, noun: str, keys: dict[str, int]) -> None:
    data = {"job": result.job, **keys, "failed": result.failed, "inconsistent": result.inconsistent}

    def text() -> None:
        extra = f", {result.inconsistent} inconsistent across orders" if noun == "pairs" else ""
        out.print(
            f"{result.kind} job {result.job} {result.status}{' (resumed)' if result.resumed else ''}: "
            f"{result.items} {noun}, {result.skipped} already done, {result.failed} failed{extra}; "
            + ", ".join(f"{k} {v}" for k, v in keys.items() if k not in ("prompts", "pairs", "responses"))
            + f"; {result.elapsed_s:.1f} s ({result.rate_per_s:.2f}/s, {result.completion_tokens} tokens out)"
        )

    emit(data, as_json, text)


def draft(
    project: Annotated[str, typer.Option(help="Project whose prompts to draft for.")],
    n: Annotated[int, typer.Option("--n", help="Candidates per prompt (pairs are formed from them).")] = 2,
    limit: Annotated[int | None, typer.Option(help="Only the first L prompts.")] = None,
    model: Annotated[str | None, typer.Option(help="litellm model; default RUBRICATE_JUDGE_MODEL.")] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = DRAFT_PARAMS.temperature,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling.")] = DRAFT_PARAMS.top_p,
    max_tokens: Annotated[int, typer.Option(help="Longest candidate.")] = DRAFT_PARAMS.max_tokens,
    seed: Annotated[int, typer.Option(help="Base seed; candidate i uses seed + i.")] = 0,
    pairs: Annotated[str, typer.Option(help="all | sample (with --pairs-per-prompt).")] = "all",
    pairs_per_prompt: Annotated[int | None, typer.Option(help="With --pairs sample: pairs per prompt.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Draft N candidate responses per prompt and form pairs of them (resumable: a re-run drafts what is missing)."""
    with user_errors():
        request = DraftRequest(
            n=n,
            limit=limit,
            model=model,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=seed,
            pairs=pairs,  # type: ignore[arg-type]
            pairs_per_prompt=pairs_per_prompt,
        )
        result = _run(draft_job, project, request, f"drafting {project}", not as_json)
    _report(result, as_json, "prompts", {"prompts": result.items, "responses": result.responses})


def judge(
    project: Annotated[str, typer.Option(help="Project whose pairs (pointwise: responses) to judge.")],
    rubric: Annotated[str, typer.Option(help="NAME or NAME@VERSION (default: newest published version).")],
    mode: Annotated[
        str, typer.Option(help="pairwise (a winner per pair) | pointwise (1..N per criterion per response)")
    ] = "pairwise",
    model: Annotated[str | None, typer.Option(help="litellm model; default RUBRICATE_JUDGE_MODEL.")] = None,
    orders: Annotated[str, typer.Option(help="both (position-bias control) | ab")] = "both",
    limit: Annotated[int | None, typer.Option(help="Only the first L pairs.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Longest verdict.")] = DEFAULT_JUDGE_PARAMS.max_tokens,
    as_json: JsonOpt = False,
) -> None:
    """Judge pairs under a rubric version, in both presentation orders by default; or, with --mode pointwise,
    score each response 1..N per criterion (resumable either way)."""
    with user_errors():
        request = JudgeRequest(
            rubric=rubric,
            mode=mode,
            model=model,
            orders=orders,
            limit=limit,
            max_tokens=max_tokens,  # type: ignore[arg-type]
        )
        result = _run(judge_job, project, request, f"judging {project}", not as_json)
    noun = "responses" if request.mode == "pointwise" else "pairs"
    _report(result, as_json, noun, {noun: result.items, "verdicts": result.verdicts})
