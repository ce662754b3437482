"""The review bench's floor: the same two review routes on the same stack (uvicorn + FastAPI, sync routes
on its threadpool), each doing exactly one SQLite insert and nothing else.

`bench/review_load.py` serves it with ``python -m uvicorn bench.bare_app:app`` and drives it with the
same client as rubricate, so rubricate ÷ bare is the cost of everything rubricate does above one insert
(auth, membership, queue query, audit, rubric, response building). The database file comes from
``BARE_DATABASE`` and the number of pairs from ``BARE_PAIRS``; the SQLite settings are rubricate's
(WAL, synchronous=NORMAL, busy_timeout).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Annotated, Any

from fastapi import FastAPI, Header, Response

DATABASE = os.environ.get("BARE_DATABASE", "bare.db")
PAIRS = int(os.environ.get("BARE_PAIRS", "1000"))

app = FastAPI(title="bare")
_local = threading.local()


def _connection() -> sqlite3.Connection:
    """One connection per threadpool thread, set up as rubricate sets up its own."""
    if not hasattr(_local, "db"):
        db = sqlite3.connect(DATABASE, timeout=60, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=60000")
        _local.db = db
    return _local.db


def create_tables() -> None:
    db = _connection()
    db.execute("CREATE TABLE IF NOT EXISTS claims (id INTEGER PRIMARY KEY, reviewer TEXT NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS rankings (key TEXT PRIMARY KEY, assignment INTEGER, outcome TEXT)")


create_tables()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/projects/{project_id}/assignments/next")
def next_item(project_id: int, authorization: Annotated[str, Header()]) -> dict[str, Any]:
    """One insert claims the next pair number; past the last pair there is nothing left."""
    claim = _connection().execute("INSERT INTO claims (reviewer) VALUES (?)", (authorization,)).lastrowid
    if claim is None or claim > PAIRS:
        return {"assignment": None, "progress": {}}
    return {"assignment": {"id": claim, "project_id": project_id}, "progress": {}}


@app.post("/assignments/{assignment_id}/ranking", status_code=201)
def rank(
    assignment_id: int, body: dict[str, Any], response: Response, idempotency_key: Annotated[str, Header()]
) -> dict[str, Any]:
    """One insert stores the ranking; the same key again stores nothing and answers 200."""
    cursor = _connection().execute(
        "INSERT OR IGNORE INTO rankings (key, assignment, outcome) VALUES (?, ?, ?)",
        (idempotency_key, assignment_id, body.get("outcome")),
    )
    created = cursor.rowcount == 1
    if not created:
        response.status_code = 200
    return {"id": assignment_id, "pair_id": assignment_id, "assignment_id": assignment_id, "created": created}
