"""Engine and transactions: SQLite in WAL mode with IMMEDIATE write transactions, or PostgreSQL.

>>> import tempfile
>>> store = Store(f"sqlite:///{tempfile.mkdtemp(prefix='rubricate-db-')}/rubricate.db")
>>> with store.read() as session:
...     session.execute(text("select 1")).scalar()
1
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from server.storage.audit import audit_flush

SQLITE_BUSY_TIMEOUT_MS = 60_000  # for writers in other processes (a CLI import beside the server)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN IMMEDIATE below is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A write takes the lock up front: no deadlock from upgrading a read lock mid-transaction.
        write = conn.get_execution_options().get("rubricate_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def private_file(path: Path) -> None:
    """Make the SQLite file (and its folder) readable by the owner only: 0600, its WAL files alike.

    SQLite gives the -wal and -shm files the database file's mode, so setting it first is enough.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def make_engine(url: str) -> Engine:
    """Create the engine for `url`, making the SQLite file's folder when needed."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            private_file(Path(path))
        return _sqlite_engine(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Store:
    """The database: hands out read and write sessions; the repository layer works inside them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.engine.execution_options(rubricate_write=True), expire_on_commit=False)
        self._write_turn: AbstractContextManager[Any] = (
            threading.RLock() if self.engine.dialect.name == "sqlite" else nullcontext()
        )
        for maker in (self._reader, self._writer):
            event.listen(maker, "after_flush", audit_flush)  # every write appends its audit event

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; rolled back at the end."""
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed if the block ends normally, rolled back on any error.

        On SQLite the writers of this process queue on one lock before they ask for SQLite's, so a
        write waits its turn however long the queue, instead of failing with "database is locked"
        when SQLite's busy timeout runs out; other processes still wait up to that timeout.
        """
        with self._write_turn, self._writer() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Store", "make_engine", "text"]
