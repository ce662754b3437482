"""Rate-limit windows in the store: every API process (workers, hosts) counts against the same hits.

Part of :class:`server.storage.repository.Repository`, over its one session. A key's row is locked while
a hit is counted (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's write transaction is the lock), so
concurrent hits from several processes never both take the last slot.

>>> import tempfile
>>> from server.storage import open_store, Repository
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp(prefix='rubricate-rate-')}/rubricate.db")
>>> with store.write() as session:
...     hits = [Repository(session).acquire_hit("k", limit=2, expiry=60, now=100.0) for _ in range(3)]
>>> hits
[True, True, False]
>>> with store.read() as session:
...     Repository(session).moving_window("k", expiry=60, now=130.0)
(100.0, 2)
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from server.storage.repos.base import UnitOfWork
from server.storage.tables import RateWindow

PRUNE_BATCH = 100  # stale keys removed per counted hit, so the table stays the size of the active clients


class RateWindows(UnitOfWork):
    """Moving windows of hits per key (the semantics of `limits`' moving-window strategy)."""

    def acquire_hit(self, key: str, *, limit: int, expiry: float, now: float, amount: int = 1) -> bool:
        """Count `amount` hits for `key` at `now` if the last `expiry` seconds leave room; True if counted."""
        insert = postgresql.insert if self.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        self.session.execute(
            insert(RateWindow).values(key=key, hits=[], until=0.0).on_conflict_do_nothing(index_elements=["key"])
        )
        row = self.session.get(RateWindow, key, with_for_update=True, populate_existing=True)
        assert row is not None  # inserted above or already there, and locked now
        recent = [at for at in row.hits if at > now - expiry]
        accepted = amount <= limit and len(recent) + amount <= limit
        if accepted:
            recent += [now] * amount
        if accepted or recent != row.hits:
            row.hits, row.until = recent, (max(recent) + expiry if recent else now)
        self._prune(key, now)
        return accepted

    def moving_window(self, key: str, *, expiry: float, now: float) -> tuple[float, int]:
        """(the oldest hit still in the window, or `now`; hits in the window) for `key`."""
        hits = self.session.scalar(select(RateWindow.hits).where(RateWindow.key == key)) or []
        recent = [at for at in hits if at > now - expiry]
        return (min(recent), len(recent)) if recent else (now, 0)

    def _prune(self, key: str, now: float) -> None:
        """Delete keys whose hits have all expired; rows another process holds are skipped, never waited on."""
        stale = (
            select(RateWindow.key)
            .where(RateWindow.until < now, RateWindow.key != key)
            .limit(PRUNE_BATCH)
            .with_for_update(skip_locked=True)
        )
        pruned = delete(RateWindow).where(RateWindow.key.in_(stale)).execution_options(synchronize_session=False)
        self.session.execute(pruned)
