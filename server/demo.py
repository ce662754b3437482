"""`make demo`: the main job end to end on the embedded default, on a fresh SQLite store.

Steps: a fresh store with an admin, a demo reviewer and a demo author (tokens saved to
`demo-tokens.json` in RUBRICATE_HOME); the PandaLM import (a second import must add nothing); the
starter rubrics published; the embedded SmolLM2 model prepared and served by vLLM; 2 candidates
drafted for 10 PandaLM prompts; the resulting pairs judged under `hhh` in both orders; the first 40
human-labelled PandaLM pairs judged too, so the agreement report can score the embedded judge beside
GPT-3.5 and PandaLM-7B; the agreement table and a summary.

    python -m server.demo [--data ../shared/data/pandalm] [--prompts 10] [--judge-pairs 40] [--keep-model]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path

from judges import local_model
from rubrics.loader import LIBRARY, load_library
from server.agreement.reports import ReportOptions, agreement_report
from server.imports.service import import_path, import_rows
from server.jobs import DraftRequest, JobResult, JudgeRequest, draft_job, judge_job
from server.llm import make_backend
from server.review import ReviewSettings
from server.rubric_registry import publish, resolve
from server.settings import Settings
from server.storage import Repository, Store, open_store
from server.storage.tables import Pair, Verdict

DEFAULT_DATA = Path("../shared/data/pandalm")
MODEL_CACHE = Path("~/.cache/rubricate/models")
DEMO_RUBRIC = "hhh"
STEPS = 8


def step(number: int, text: str) -> None:
    print(f"[{number}/{STEPS}] {text}", flush=True)


def detail(text: str) -> None:
    print(f"      {text}", flush=True)


def fresh_store(settings: Settings) -> tuple[Store, dict[str, str]]:
    """Delete the demo's SQLite file, migrate a new one, and make an admin, a reviewer and an author."""
    if not settings.database_url.startswith("sqlite:///"):
        raise SystemExit("the demo runs on its own SQLite store: unset RUBRICATE_DATABASE_URL")
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
    store = open_store(settings.database_url)
    with store.write() as session:
        repo = Repository(session)
        tokens = {
            name: repo.create_annotator(name, role)[1] or ""
            for name, role in (("admin", "admin"), ("demo-reviewer", "reviewer"), ("demo-author", "author"))
        }
    token_file = settings.home / "demo-tokens.json"
    token_file.write_text(json.dumps(tokens, indent=2))
    os.chmod(token_file, 0o600)
    return store, tokens


def start_model(settings: Settings) -> tuple[local_model.ServerHandle, bool]:
    """The embedded model's vLLM server: the one already running for this home, or a new one."""
    running = local_model.status(settings.home)
    if running is not None and local_model.is_ready(running):
        return running, False
    prepared = local_model.prepare(settings.home, cache_dir=MODEL_CACHE.expanduser())
    detail(f"model folder {prepared.path} ({'converted' if prepared.converted else 'reused'})")
    detail("starting vLLM (the first start on a machine compiles for a minute or two) …")
    handle = local_model.serve(
        prepared.path,
        home=settings.home,
        port=local_model.free_port(),
        served_name=prepared.served_name,
        ready_timeout=900,
        dtype=settings.model_dtype,
    )
    return handle, True


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def describe(result: JobResult) -> str:
    rate = f"{result.rate_per_s:.2f}/s, {result.completion_tokens / result.elapsed_s:.0f} tokens/s out"
    return f"{result.elapsed_s:.1f} s ({rate})" if result.elapsed_s else "nothing to do"


def failures(store: Store, project_id: int, judge_model: str | None = None) -> str:
    """Failed verdicts of a project by kind, e.g. `0` or `3 (incomplete 2, timeout 1)`."""
    with store.read() as session:
        query = (
            session.query(Verdict.meta)
            .join(Pair, Pair.id == Verdict.pair_id)
            .filter(Pair.project_id == project_id, Verdict.outcome.is_(None))
        )
        if judge_model is not None:
            query = query.filter(Verdict.judge_model == judge_model)
        kinds = Counter(str((meta or {}).get("error_kind")) for (meta,) in query)
    total = sum(kinds.values())
    return f"{total} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if total else "0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="PandaLM folder")
    parser.add_argument("--prompts", type=int, default=10, help="PandaLM prompts to draft for")
    parser.add_argument("--judge-pairs", type=int, default=40, help="human-labelled PandaLM pairs to judge")
    parser.add_argument("--keep-model", action="store_true", help="leave the vLLM server running afterwards")
    args = parser.parse_args()
    settings = Settings()
    started = time.perf_counter()

    step(1, f"fresh store at {settings.database_url}")
    store, _ = fresh_store(settings)
    detail(f"tokens for admin, demo-reviewer, demo-author saved to {settings.home / 'demo-tokens.json'}")

    step(2, f"importing PandaLM from {args.data}")
    first = import_path(store, args.data, project="pandalm", preset="pandalm")
    again = import_path(store, args.data, project="pandalm", preset="pandalm")
    with store.write() as session:
        repo = Repository(session)
        project = repo.project_by_name("pandalm")
        for name in ("demo-reviewer", "demo-author"):
            repo.add_member(project, repo.annotator_by_name(name))  # type: ignore[arg-type]
        prompts = [p.messages for p in repo.prompts(project.id, limit=args.prompts)]
    added_again = sum(again.model_dump(include={"prompts", "responses", "pairs", "rankings", "verdicts"}).values())
    detail(
        f"added prompts {first.prompts}, responses {first.responses}, pairs {first.pairs}, "
        f"rankings {first.rankings}, verdicts {first.verdicts} ({first.failed_verdicts} failed), "
        f"annotators {first.annotators}; a second import added {added_again}"
    )

    step(3, f"publishing the starter rubrics from {LIBRARY}")
    for rubric in load_library().values():
        published = publish(store, rubric)
        detail(f"{published.status:<9} {published.ref}  sha256 {published.sha256[:12]}")
    with store.write() as session:
        repo = Repository(session)
        review = ReviewSettings(rubric=resolve(repo, DEMO_RUBRIC)[1].ref)
        repo.update_project_settings(repo.project_by_name("pandalm"), {"review": review.model_dump()})
    detail(f"pandalm's reviewers rank under {review.rubric} (its guidelines and criteria on the review screen)")

    step(4, "serving the embedded model (SmolLM2-135M-Instruct) with vLLM on 127.0.0.1")
    handle, started_here = start_model(settings)
    detail(f"{handle.litellm_model} at {handle.api_base} (ready in {handle.ready_s or 0:.0f} s; log {handle.log_path})")
    detail(f"dtype {handle.dtype}: {handle.dtype_reason}")
    settings = settings.model_copy(update={"model_base_url": handle.api_base, "judge_model": handle.litellm_model})
    backend = make_backend(settings, store)

    try:
        step(5, f"drafting 2 candidates for each of {len(prompts)} PandaLM prompts")
        records = [(f"pandalm-prompt:{i}", {"prompt": messages}) for i, messages in enumerate(prompts)]
        import_rows(store, records, project="pandalm-drafts")
        with store.read() as session:
            drafts = Repository(session).project_by_name("pandalm-drafts")
        drafted = asyncio.run(draft_job(store, drafts, backend, DraftRequest(n=2, max_tokens=128)))
        detail(
            f"{drafted.responses} responses, {drafted.pairs_added} pairs, {drafted.failed} failed prompts; "
            f"{describe(drafted)}"
        )

        step(6, f"judging the drafted pairs under {DEMO_RUBRIC} in both presentation orders")
        judged = asyncio.run(judge_job(store, drafts, backend, JudgeRequest(rubric=DEMO_RUBRIC)))
        pairs = max(judged.items, 1)
        detail(
            f"{judged.verdicts} verdicts for {judged.items} pairs; failed {failures(store, drafts.id)}; "
            f"inconsistent across orders {judged.inconsistent}/{judged.items} ({judged.inconsistent / pairs:.0%}); "
            f"{describe(judged)}"
        )
        step(7, f"judging the first {args.judge_pairs} human-labelled PandaLM pairs under {DEMO_RUBRIC}, both orders")
        with store.read() as session:
            pandalm = Repository(session).project_by_name("pandalm")
        scored = asyncio.run(
            judge_job(store, pandalm, backend, JudgeRequest(rubric=DEMO_RUBRIC, limit=args.judge_pairs))
        )
        detail(
            f"{scored.verdicts} verdicts, failed {failures(store, pandalm.id, settings.judge_model)}, "
            f"{scored.inconsistent} inconsistent; {describe(scored)}"
        )
    finally:
        if started_here and not args.keep_model:
            local_model.stop(settings.home)

    step(8, "agreement on pandalm (rubricate agreement --project pandalm) and summary")
    with store.read() as session:
        repo = Repository(session)
        report = agreement_report(repo, repo.project_by_name("pandalm").id, ReportOptions(resamples=200))
    for row in report.human_human.pairwise:
        detail(f"Cohen's kappa {' vs '.join(row.annotators)}: {row.cohen_kappa.value:.3f} over {row.n} pairs")
    detail(
        f"Fleiss' kappa {report.human_human.fleiss_kappa.value:.3f}, Krippendorff's alpha "
        f"{report.human_human.krippendorff_alpha.value:.3f}"
    )
    bias = {row.judge: row for row in report.judge_bias}
    for judge in (row for row in report.judge_human if row.criterion is None):
        seen = bias.get(judge.judge)
        position = (
            f"; shown first wins {seen.first_position_rate.value:.0%} of decisive verdicts"
            if seen and seen.first_position_rate.value is not None
            else ""
        )
        orders = (
            f", consistent across orders {seen.consistency.value:.0%}"
            if seen and seen.consistency.value is not None
            else ""
        )
        detail(
            f"{judge.judge} vs majority: {judge.n} pairs, accuracy {_f(judge.accuracy.value)}, "
            f"kappa {_f(judge.cohen_kappa.value)}{orders}{position}"
        )
    with store.read() as session:
        repo = Repository(session)
        for name in ("pandalm", "pandalm-drafts"):
            counts = repo.project_counts(repo.project_by_name(name).id)
            detail(f"{name}: " + " · ".join(f"{k} {v}" for k, v in counts.items()))
    model_note = "vLLM keeps running (`rubricate model stop`)" if args.keep_model else "vLLM stopped"
    print(
        f"demo finished in {time.perf_counter() - started:.1f} s; {model_note}; "
        "next: `rubricate serve` (API) and `rubricate ui` (review screens)"
    )


if __name__ == "__main__":
    main()
