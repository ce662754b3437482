"""A moving-window rate limiter whose hits live in the store, so every API process shares them.

The same three calls as `limits`' MovingWindowRateLimiter (`hit`, `test`, `get_window_stats`) over
:class:`server.storage.repos.rate_windows.RateWindows`: with `rubricate serve --workers N`, or several
hosts on one PostgreSQL, a limit of L per window is L in all, not L per process. Times are the API
hosts' clocks (epoch seconds), so hosts serving one database should keep them in step (NTP).

>>> import tempfile
>>> from limits import parse
>>> from server.storage import open_store
>>> window = StoredMovingWindow(open_store(f"sqlite:///{tempfile.mkdtemp(prefix='rubricate-rw-')}/r.db"))
>>> [window.hit(parse("2/minute"), "auth", "10.0.0.1") for _ in range(3)], window.test(parse("2/minute"), "auth", "x")
([True, True, False], True)
"""

from __future__ import annotations

import time

from limits import RateLimitItem
from limits.util import WindowStats

from server.storage import Repository, Store


class StoredMovingWindow:
    """Moving windows kept in the store; each hit is one short write transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count one hit; True while within the limit (a refused hit is not counted)."""
        with self.store.write() as session:
            return Repository(session).acquire_hit(
                item.key_for(*identifiers), limit=item.amount, expiry=item.get_expiry(), now=time.time(), amount=cost
            )

    def _window(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> tuple[float, int]:
        with self.store.read() as session:
            return Repository(session).moving_window(
                item.key_for(*identifiers), expiry=item.get_expiry(), now=time.time()
            )

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """True if `cost` more hits would be within the limit; counts nothing."""
        return self._window(item, identifiers)[1] <= item.amount - cost

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """(when the oldest hit leaves the window, hits left)."""
        start, count = self._window(item, identifiers)
        return WindowStats(start + item.get_expiry(), item.amount - count)
