"""Issue 13 item 4: a 10,000-row import no longer blocks everyone. 50 reviewers rank 1,000 pairs over
HTTP while the import runs in another project: no response ≥ 500 (no "database is locked"), and every
confirmed ranking is stored exactly once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from server.app import create_app
from server.settings import Settings
from server.storage import Repository, open_store
from server.storage.tables import Ranking
from tests.integration.test_review import make_pairs
from tests.support.live import live_server

REVIEWERS, PAIRS, IMPORT_ROWS = 50, 1_000, 10_000


def test_50_reviewers_rank_1000_pairs_while_a_10000_row_import_runs(home: Path) -> None:
    store = open_store(f"sqlite:///{home / 'rubricate.db'}")
    pid = make_pairs(store, PAIRS)
    tokens = []
    with store.write() as session:
        repo = Repository(session)
        project = repo.project(pid)
        repo.update_project_settings(project, {"review": {"overlap": 1, "blind_fraction": 0.5, "gold_rate": 0.0}})
        for i in range(REVIEWERS):
            person, token = repo.create_annotator(f"r{i}", "reviewer")
            repo.add_member(project, person)
            tokens.append(token)
        _, admin = repo.create_annotator("admin", "admin")
        other = repo.create_project("bulk", "").id
    app = create_app(Settings(home=home, database_url=store.url, rate_heavy="1000/minute"), store=store)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    confirmed = 0

    def count(code: int) -> None:
        with lock:
            statuses[code] += 1

    def review(token: str) -> int:
        nonlocal confirmed
        done = 0
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while True:
                reply = client.post(f"/projects/{pid}/assignments/next")
                count(reply.status_code)
                item = reply.json().get("assignment") if reply.status_code == 200 else None
                if item is None:
                    return done
                sent = client.post(
                    f"/assignments/{item['id']}/ranking",
                    json={"outcome": "a"},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                count(sent.status_code)
                if sent.status_code in (200, 201):
                    done += 1
                    with lock:
                        confirmed += 1

    def bulk_import() -> float:
        rows = [
            {"id": f"b{i}", "prompt": f"Bulk question {i}?", "response_a": f"Yes {i}.", "response_b": f"No {i}.",
             "labels": {"ext": "a"}}
            for i in range(IMPORT_ROWS)
        ]  # fmt: skip
        started = time.perf_counter()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=600) as client:
            reply = client.post(f"/projects/{other}/import", json={"rows": rows})
        count(reply.status_code)
        assert reply.status_code == 200, reply.text
        assert reply.json()["pairs"] == IMPORT_ROWS
        return time.perf_counter() - started

    started = time.perf_counter()
    with live_server(app) as url, ThreadPoolExecutor(max_workers=REVIEWERS + 1) as pool:
        importing = pool.submit(bulk_import)
        time.sleep(0.5)  # the import is under way when the reviewers start
        per_reviewer = list(pool.map(review, tokens))
        import_s = importing.result()
    elapsed = time.perf_counter() - started
    with store.read() as session:
        stored = session.scalar(select(func.count()).select_from(Ranking).where(Ranking.project_id == pid))
        per_pair = Counter(session.scalars(select(Ranking.pair_id).where(Ranking.project_id == pid)))
    print(
        f"\n{REVIEWERS} reviewers × {PAIRS} pairs beside a {IMPORT_ROWS}-row import: {sum(statuses.values())} "
        f"responses {dict(statuses)}; confirmed {confirmed}, stored {stored}; import {import_s:.1f} s; "
        f"all {elapsed:.1f} s"
    )
    assert not [code for code in statuses if code >= 500], statuses
    assert stored == confirmed == sum(per_reviewer) == PAIRS
    assert set(per_pair.values()) == {1}
    store.dispose()
