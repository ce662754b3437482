"""50 concurrent reviewers through the real HTTP server: no request fails, and every review invariant holds.

The load of `bench/review_load.py` at test size (not timed; the bench measures speed): each reviewer loops
"next, then ranking or skip", every ranking is sent twice with the same Idempotency-Key, and a few items are
skipped so that their slot goes back to the queue.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import select

from server.app import create_app
from server.settings import Settings
from server.storage import Repository, Store
from server.storage.tables import Assignment, Pair, Ranking
from tests.integration.test_review import make_pairs
from tests.support.live import live_server

REVIEWERS, PAIRS, OVERLAP = 50, 120, 3


def _reviewer_tokens(store: Store, project_id: int) -> list[str]:
    tokens = []
    with store.write() as session:
        repo = Repository(session)
        project = repo.project(project_id)
        review = {"overlap": OVERLAP, "blind_fraction": 0.5, "gold_rate": 0.0}
        repo.update_project_settings(project, {"review": review})
        for i in range(REVIEWERS):
            annotator, token = repo.create_annotator(f"r{i}", "reviewer")
            repo.add_member(project, annotator)
            assert token
            tokens.append(token)
    return tokens


def _review(url: str, project_id: int, token: str) -> dict[int, int]:
    """One reviewer until the queue is empty: assignment id → ranking id of every answered item."""
    answered: dict[int, int] = {}
    rng = random.Random(token)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        while True:
            reply = client.post(f"/projects/{project_id}/assignments/next")
            assert reply.status_code == 200, reply.text
            item = reply.json()["assignment"]
            if item is None:
                return answered
            if rng.random() < 0.05:
                skipped = client.post(f"/assignments/{item['id']}/skip", json={"reason": "ambiguous_item"})
                assert skipped.status_code == 204, skipped.text
                continue
            body, key = {"outcome": rng.choice(["a", "b", "tie"])}, {"Idempotency-Key": str(uuid.uuid4())}
            first = client.post(f"/assignments/{item['id']}/ranking", json=body, headers=key)
            again = client.post(f"/assignments/{item['id']}/ranking", json=body, headers=key)
            assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
            assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
            answered[item["id"]] = first.json()["id"]


def test_fifty_concurrent_reviewers_keep_every_invariant(store: Store, home: Path) -> None:
    project_id = make_pairs(store, PAIRS)
    tokens = _reviewer_tokens(store, project_id)
    app = create_app(Settings(home=home, database_url=store.url), store=store)
    with live_server(app) as url, ThreadPoolExecutor(max_workers=REVIEWERS) as pool:
        answered = [a for reviewer in pool.map(lambda t: _review(url, project_id, t), tokens) for a in reviewer.items()]
    with store.read() as session:
        rankings = session.execute(select(Ranking.id, Ranking.assignment_id, Ranking.pair_id, Ranking.annotator_id))
        stored = {row.id: row for row in rankings}
        counters = dict(session.execute(select(Pair.id, Pair.reviewers).where(Pair.project_id == project_id)).all())
        kept = Counter(session.scalars(select(Assignment.pair_id).where(Assignment.status != "skipped")))
    # stored = confirmed: every ranking the server acknowledged is stored under its assignment, and nothing else
    assert sorted(stored) == sorted(ranking for _, ranking in answered)
    assert all(stored[ranking].assignment_id == assignment for assignment, ranking in answered)
    # exactly k distinct reviewers per pair, none over its overlap
    per_pair = Counter(row.pair_id for row in stored.values())
    assert len(per_pair) == PAIRS and set(per_pair.values()) == {OVERLAP}
    assert len({(row.pair_id, row.annotator_id) for row in stored.values()}) == len(stored)
    # the queue's reviewer counter agrees with the assignments it counts (skips gave their slot back)
    assert counters == {pair: kept[pair] for pair in counters} and set(counters.values()) == {OVERLAP}
