"""Several API processes on one PostgreSQL: the review queue's invariants and the rate limits hold across them.

Real `rubricate serve` subprocesses on 127.0.0.1 (two of them, and one with `--workers 2`), a real
PostgreSQL server, and concurrent reviewers over HTTP; every figure asserted is read back from the store.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from server.imports.schema import ImportRow
from server.imports.service import import_rows
from server.storage import Repository, Store, open_store
from server.storage.tables import Assignment, Ranking
from tests.integration.test_cli import rubricate
from tests.support.postgres import create_database
from tests.support.reviewers import LoadResult, run_reviewers
from tests.support.serve_process import serve_process

pytestmark = pytest.mark.integration
_names = itertools.count()


@pytest.fixture
def pg_store(postgres: str) -> Iterator[Store]:
    store = open_store(create_database(postgres, f"several{next(_names)}"))
    yield store
    store.dispose()


def review_project(store: Store, pairs: int, reviewers: int, overlap: int) -> tuple[int, list[str]]:
    """A project of `pairs` pairs reviewed `overlap` times each, and the tokens of its reviewers."""
    rows = [ImportRow(id=str(i), prompt=f"Question {i}?", response_a=f"A{i}", response_b=f"B{i}") for i in range(pairs)]
    import_rows(store, [(f"row {i}", row) for i, row in enumerate(rows)], project="team")
    tokens = []
    with store.write() as session:
        repo = Repository(session)
        project = repo.project_by_name("team")
        repo.update_project_settings(project, {"review": {"overlap": overlap, "blind_fraction": 0.5, "gold_rate": 0}})
        for i in range(reviewers):
            annotator, token = repo.create_annotator(f"reviewer{i}", "reviewer")
            repo.add_member(project, annotator)
            tokens.append(token or "")
        return project.id, tokens


def assert_review_held(store: Store, project_id: int, result: LoadResult, pairs: int, overlap: int) -> None:
    """k distinct reviewers per pair, none over its overlap, stored rankings == confirmed ones, no 5xx."""
    with store.read() as session:
        rankings = session.execute(
            select(Ranking.id, Ranking.pair_id, Ranking.annotator_id).where(Ranking.project_id == project_id)
        ).all()
        given = Counter(
            session.scalars(
                select(Assignment.pair_id).where(Assignment.project_id == project_id, Assignment.status != "skipped")
            )
        )
    reviewers: dict[int, set[int]] = defaultdict(set)
    for ranking in rankings:
        reviewers[ranking.pair_id].add(ranking.annotator_id)
    assert len(rankings) == pairs * overlap == result.turns == len(result.confirmed)
    assert len(reviewers) == pairs and {len(people) for people in reviewers.values()} == {overlap}
    assert len(given) == pairs and set(given.values()) == {overlap}  # no pair given past its overlap
    assert {r.id for r in rankings} == set(result.confirmed.values())
    assert result.created[True] == pairs * overlap and not result.disagreeing_retries
    assert set(result.statuses) <= {200, 201} and not result.errors, (result.statuses, result.errors)


def test_two_servers_keep_k_distinct_reviewers_per_pair_under_50_reviewers(pg_store: Store, tmp_path: Path) -> None:
    """50 reviewers split across two `rubricate serve` processes, retries sent to the other one: 200 pairs, k = 2."""
    project_id, tokens = review_project(pg_store, pairs=200, reviewers=50, overlap=2)
    with serve_process(tmp_path / "a", pg_store.url) as first, serve_process(tmp_path / "b", pg_store.url) as second:
        result = asyncio.run(run_reviewers([first, second], tokens, project_id))
    assert_review_held(pg_store, project_id, result, pairs=200, overlap=2)
    assert result.retries > 200 and result.created[False] == result.retries  # each retry got the first ranking
    print(f"\n2 servers, 50 reviewers, 200 pairs × 2: {result.turns} turns, {result.rankings_per_s:.1f} rankings/s")


def pinned_to_workers(url: str, wanted: int = 2, attempts: int = 60) -> dict[int, httpx.Client]:
    """One kept-alive connection per worker process (told apart by /health's process id)."""
    found: dict[int, httpx.Client] = {}
    for _ in range(attempts):
        client = httpx.Client(base_url=url, limits=httpx.Limits(max_connections=1), timeout=30)
        process = client.get("/health").json()["process"]
        if process in found or len(found) == wanted:
            client.close()
        else:
            found[process] = client
        if len(found) == wanted:
            return found
    raise AssertionError(f"only {len(found)} worker(s) answered in {attempts} new connections")


def test_one_serve_with_two_workers_shares_its_rate_limits_and_the_queue(pg_store: Store, tmp_path: Path) -> None:
    project_id, tokens = review_project(pg_store, pairs=40, reviewers=10, overlap=2)
    with serve_process(tmp_path / "w", pg_store.url, workers=2, RUBRICATE_RATE_FAILED_AUTH="5/minute") as url:
        result = asyncio.run(run_reviewers([url], tokens, project_id))  # first: the failed sign-ins block 127.0.0.1
        workers = pinned_to_workers(url)
        clients = list(workers.values())
        wrong = [clients[i % 2].get("/projects", headers={"Authorization": f"Bearer rbk_wrong{i}"}) for i in range(12)]
        # one budget of 5 for the address, whichever worker counts: per-process memory would allow 10
        assert [reply.status_code for reply in wrong] == [401] * 5 + [429] * 7
        good = {"Authorization": f"Bearer {tokens[0]}"}
        assert [client.get("/projects", headers=good).status_code for client in clients] == [429, 429]
        for client in clients:
            client.close()
    assert len(workers) == 2
    assert_review_held(pg_store, project_id, result, pairs=40, overlap=2)


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    """SQLite has one writer per file: `--workers 2` says so in one line and exits 2, serving nothing."""
    done = rubricate("serve", "--workers", "2", "--port", "1", home=tmp_path / "home")
    assert done.returncode == 2, done.stderr
    assert "--workers 2 needs PostgreSQL: SQLite has one writer per file" in done.stderr
