"""Review at team scale: N reviewers in a closed loop against a real `rubricate serve`, beside a bare floor.

Each reviewer loops "POST next assignment, then POST its ranking with an Idempotency-Key", retrying any
failed request (the same key for a ranking) until it is answered, and stops when the queue is empty. The
run seeds a fresh project of M pairs (overlap k) and N reviewer accounts, serves it with
``python -m server serve`` on 127.0.0.1 (a fresh RUBRICATE_HOME and SQLite file in a temp folder, or the
PostgreSQL DSN given), and drives the same client against ``bench/bare_app.py`` (one SQLite insert per
request on the same uvicorn + FastAPI stack) before and after it. It prints, for both: rankings/s, p50/p99
per reviewer turn, errors by kind; for rubricate: stored vs confirmed rankings, pairs over their overlap,
pairs given twice to one reviewer; and rubricate ÷ bare for throughput and p99 (bare: its two runs as one).

Run: ``python bench/review_load.py [--reviewers 50] [--pairs 1000] [--overlap 1] [--retries 0]
[--database-url DSN] [--workers N] [--json] [--py-spy FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.review_client import LoadResult, run_load  # noqa: E402
from bench.review_servers import bare_server, rubricate_server, serve_has_workers  # noqa: E402
from server.imports.schema import ImportRow  # noqa: E402
from server.imports.service import import_rows  # noqa: E402
from server.storage import Repository, Store, open_store  # noqa: E402
from server.storage.tables import Ranking  # noqa: E402


def seed(store: Store, pairs: int, reviewers: int, overlap: int, run: str) -> tuple[int, list[str]]:
    """A project of `pairs` pairs reviewed at `overlap`, and `reviewers` reviewer accounts in it."""
    rows = [
        ImportRow(
            id=f"{run}-{i}",
            prompt=f"Question {i}: explain item {i} in two sentences.",
            response_a=f"Answer A to {i}. " * 8,
            response_b=f"Answer B to {i}. " * 8,
        )
        for i in range(pairs)
    ]
    name = f"bench-{run}"
    import_rows(store, [(f"row {i}", r) for i, r in enumerate(rows)], project=name)
    tokens = []
    with store.write() as session:
        repo = Repository(session)
        project = repo.project_by_name(name)
        review = {"overlap": overlap, "blind_fraction": 0.5, "gold_rate": 0.0}
        repo.update_project_settings(project, {"review": review})
        for i in range(reviewers):
            annotator, token = repo.create_annotator(f"{name}-r{i}", "reviewer")
            repo.add_member(project, annotator)
            assert token
            tokens.append(token)
        return project.id, tokens


def store_check(store: Store, project_id: int, overlap: int) -> dict[str, int]:
    """What the store holds after the run: rankings, pairs over overlap, pairs ranked twice by one reviewer."""
    with store.read() as session:
        rows = session.execute(
            select(Ranking.pair_id, Ranking.annotator_id).where(Ranking.project_id == project_id)
        ).all()
        stored = session.scalar(select(func.count()).select_from(Ranking).where(Ranking.project_id == project_id))
    per_pair = Counter(pair for pair, _ in rows)
    twice = Counter(rows)
    return {
        "stored": int(stored or 0),
        "pairs_over_overlap": sum(1 for n in per_pair.values() if n > overlap),
        "pairs_ranked_twice_by_one_reviewer": sum(1 for n in twice.values() if n > 1),
    }


def measure_rubricate(args: argparse.Namespace, folder: Path) -> tuple[LoadResult, dict[str, int]]:
    url = args.database_url or f"sqlite:///{folder / 'home' / 'rubricate.db'}"
    store = open_store(url)
    try:
        run = uuid.uuid4().hex[:8]
        project_id, tokens = seed(store, args.pairs, args.reviewers, args.overlap, run)
        with rubricate_server(folder, url, args.workers, args.py_spy) as base:
            result = run_load(base, project_id, tokens, args.retries)
        return result, store_check(store, project_id, args.overlap)
    finally:
        store.dispose()


def measure_bare(args: argparse.Namespace, folder: Path, run: str) -> LoadResult:
    tokens = [f"bare-{i}" for i in range(args.reviewers)]
    with bare_server(folder / run, args.pairs * args.overlap) as base:
        return run_load(base, 1, tokens, args.retries)


def mean_of(first: LoadResult, second: LoadResult) -> LoadResult:
    """The bare floor measured before and after rubricate, as one: the machine's load drifts in between."""
    both = LoadResult(turns=first.turns + second.turns, errors=first.errors + second.errors)
    both.confirmed, both.seconds = first.confirmed + second.confirmed, first.seconds + second.seconds
    both.load_before, both.load_after = first.load_before, second.load_after
    return both


def report(args: argparse.Namespace, rubricate: LoadResult, check: dict[str, int], bare: LoadResult) -> dict:
    return {
        "reviewers": args.reviewers,
        "pairs": args.pairs,
        "overlap": args.overlap,
        "retries": args.retries,
        "store": "postgresql" if args.database_url else "sqlite",
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "rubricate": rubricate.summary() | check | {"confirmed": rubricate.confirmed},
        "bare": bare.summary(),
        "ratio": round(rubricate.per_second / bare.per_second, 3) if bare.per_second else None,
        "p99_ratio": round(rubricate.p99 / bare.p99, 3) if bare.p99 else None,
    }


def print_text(result: dict) -> None:
    print(
        f"{result['reviewers']} reviewers, {result['pairs']} pairs, overlap {result['overlap']}, "
        f"retries {result['retries']}, {result['store']}, workers {result['workers']}, {result['cpus']} cpus"
    )
    for side in ("bare", "rubricate"):
        s = result[side]
        errors = ", ".join(f"{n} × {kind}" for kind, n in s["errors"].items()) or "none"
        print(
            f"  {side:9} {s['rankings_per_s']:7.1f} rankings/s  p50 {s['p50_s'] * 1000:7.1f} ms  "
            f"p99 {s['p99_s'] * 1000:7.1f} ms  turns {s['turns']}  load {s['load_before']}→{s['load_after']}  "
            f"errors: {errors}"
        )
    r = result["rubricate"]
    print(
        f"  stored {r['stored']} / confirmed {r['confirmed']}; pairs over overlap {r['pairs_over_overlap']}; "
        f"pairs given twice to one reviewer {r['pairs_ranked_twice_by_one_reviewer']}"
    )
    print(f"  rubricate ÷ bare: {result['ratio']} (goal ≥ 0.5); p99 ratio {result['p99_ratio']} (goal ≤ 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--overlap", type=int, default=1)
    parser.add_argument("--retries", type=int, default=0, help="Send each answered ranking again R times, same key.")
    parser.add_argument("--database-url", default=None, help="A PostgreSQL DSN to serve from instead of SQLite.")
    parser.add_argument("--workers", type=int, default=1, help="API processes (`serve --workers N`, N > 1).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--py-spy", default=None, help="Record the server with py-spy (speedscope) into FILE.")
    args = parser.parse_args()
    if args.workers > 1 and not serve_has_workers():
        sys.exit("`rubricate serve` has no --workers option in this checkout: run with --workers 1")
    with tempfile.TemporaryDirectory(prefix="rubricate-review-load-") as tmp:
        folder = Path(tmp)
        before = measure_bare(args, folder, "bare-before")
        rubricate, check = measure_rubricate(args, folder)
        bare = mean_of(before, measure_bare(args, folder, "bare-after"))
    result = report(args, rubricate, check, bare)
    print(json.dumps(result, indent=2) if args.json else "", end="\n" if args.json else "")
    if not args.json:
        print_text(result)


if __name__ == "__main__":
    main()
