"""A large synthetic review project in a real SQLite store, written with bulk inserts (for the benches).

Each pair has a true outcome (a or b 45% each, tie 10%); each of ``raters`` reviewers gives it with
probability 0.8 (alternating blind and assisted), and each of ``judges`` judges in both orders with its
own accuracy, as in real review data. Rows go in through SQLAlchemy Core ``insert`` in large batches:
the ORM (and so the audit hook) would take minutes for millions of rows, and the benches measure
reading and computing, not writing. The project, reviewers and rubric are made the ordinary way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from rubrics.loader import LIBRARY, load_rubric
from rubrics.outcomes import OUTCOMES
from server.rubric_registry import publish
from server.storage import Repository, Store
from server.storage.tables import Pair, Prompt, Ranking, Response, Verdict

BATCH = 50_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _other(rng: random.Random, outcome: str) -> str:
    return rng.choice([o for o in OUTCOMES if o != outcome])


def _prompt(n: int) -> dict[str, Any]:
    messages = [{"role": "user", "content": f"q{n}"}]
    return {"id": n, "project_id": 1, "messages": messages, "is_chat": False, "content_hash": f"{n:064x}"}


def _response(n: int, side: int, length: int) -> dict[str, Any]:
    text, digest = "ab"[side] * length, f"{side}{n:063x}"
    return {"id": 2 * n - 1 + side, "prompt_id": n, "text": text, "source": "import", "content_hash": digest}


def _pair(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "project_id": 1,
        "prompt_id": n,
        "response_a_id": 2 * n - 1,
        "response_b_id": 2 * n,
        "key": f"p{n}",
    }


def _verdict(n: int, judge: int, order: str, outcome: str, version: int) -> dict[str, Any]:
    return {
        "key": f"v{n}-{judge}-{order}",
        "project_id": 1,
        "pair_id": n,
        "judge_model": f"judge{judge}",
        "kind": "pairwise",
        "order": order,
        "outcome": outcome,
        "rubric_version_id": version,
        "source": "job",
        "created_at": T0,
    }


def _ranking(n: int, rater: int, k: int, outcome: str, version: int, seconds: float) -> dict[str, Any]:
    return {
        "project_id": 1,
        "pair_id": n,
        "annotator_id": rater,
        "rubric_version_id": version,
        "outcome": outcome,
        "mode": ("blind", "assisted")[(n + k) % 2],
        "seconds": seconds,
        "source": "review",
        "created_at": T0 + timedelta(hours=1),
    }


def _rows(pairs: int, raters: list[int], judges: int, version: int, seed: int) -> Iterator[tuple[str, dict]]:
    """(table, row) for every prompt, response, pair, verdict and ranking, pair by pair."""
    rng = random.Random(seed)
    accuracy = [0.75 - 0.1 * j for j in range(judges)]
    for n in range(1, pairs + 1):
        truth = rng.choices(OUTCOMES, weights=(45, 45, 10))[0]
        yield "prompts", _prompt(n)
        yield "responses", _response(n, 0, rng.randint(20, 400))
        yield "responses", _response(n, 1, rng.randint(20, 400))
        yield "pairs", _pair(n)
        for j in range(judges):
            first = truth if rng.random() < accuracy[j] else _other(rng, truth)
            yield "verdicts", _verdict(n, j, "ab", first, version)
            yield "verdicts", _verdict(n, j, "ba", first if rng.random() < 0.8 else _other(rng, first), version)
        for k, rater in enumerate(raters):
            outcome = truth if rng.random() < 0.8 else _other(rng, truth)
            yield "rankings", _ranking(n, rater, k, outcome, version, 5.0 + rng.random() * 60)


def seed_project(store: Store, pairs: int, raters: int = 3, judges: int = 2, seed: int = 0) -> tuple[int, float]:
    """Write the project (it must be the store's first) and its labels; (project id, seconds taken)."""
    started = time.perf_counter()
    version = publish(store, load_rubric(LIBRARY / "hhh.yaml"))
    with store.write() as session:
        repo = Repository(session)
        project = repo.create_project("scale")
        people = [repo.create_annotator(f"rater{k}", "reviewer", with_token=False)[0].id for k in range(raters)]
    assert project.id == 1, "seed a fresh store"
    tables: dict[str, Any] = {"prompts": Prompt, "responses": Response, "pairs": Pair, "verdicts": Verdict,
                              "rankings": Ranking}  # fmt: skip
    batches: dict[str, list[dict]] = {name: [] for name in tables}

    def flush(session: Any) -> None:
        for table, batch in batches.items():  # parents first: foreign keys are checked per statement
            if batch:
                session.execute(insert(tables[table]), batch)
                batch.clear()

    with store.write() as session:
        for table, row in _rows(pairs, people, judges, version.id, seed):
            batches[table].append(row)
            if len(batches[table]) >= BATCH and table == "verdicts":  # the largest; a pair's rows end with it
                flush(session)
        flush(session)
    return project.id, time.perf_counter() - started
