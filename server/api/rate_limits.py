"""Rate limits with `limits`' moving-window semantics, counted in the store (shared by every API process).

Two limits: failed sign-ins per client address (a wrong or expired token; while over the limit the
client gets 429 even with a good token, so guessing costs time), and heavy routes per token (reports,
imports, exports, jobs). Both answer 429 in the one error shape with `Retry-After`. The hits live in the database
(:mod:`server.api.rate_window`), not in a process's memory, so `rubricate serve --workers N` and several
hosts on one PostgreSQL share one budget per client. A process that finds a client clean trusts that for
:data:`CLEAN_FOR_S` before it reads the store again (every request signs in; a reviewer team behind one
address would otherwise read the window on each click), and forgets it at the client's next failed sign-in:
so a wrong token always meets the shared budget, and a good one may pass for up to a second after another
process blocked its address.

>>> import tempfile
>>> from server.storage import open_store
>>> home = tempfile.mkdtemp(prefix="rubricate-limits-")
>>> limits = RateLimits(
...     Settings(home=home, rate_failed_auth="2/minute", rate_heavy="1/minute"), open_store(f"sqlite:///{home}/r.db")
... )
>>> limits.failed_auth("10.0.0.1"), limits.failed_auth("10.0.0.1"), limits.auth_blocked("10.0.0.1")
(True, True, True)
"""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from limits import parse

from server.api.rate_window import StoredMovingWindow
from server.settings import Settings
from server.storage import Store

CLEAN_FOR_S = 1.0
_REMEMBERED = 4096  # clients whose clean check a process keeps before dropping the expired ones


class RateLimits:
    """The app's limiters (one per app, on `app.state.rate_limits`)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.window = StoredMovingWindow(store)
        self.auth = parse(settings.rate_failed_auth)
        self.heavy = parse(settings.rate_heavy)
        self._clean_until: dict[str, float] = {}  # client -> monotonic time its clean check expires

    def _retry_after(self, item: object, key: str) -> int:
        reset = self.window.get_window_stats(item, key).reset_time  # type: ignore[arg-type]
        return max(1, math.ceil(reset - time.time()))

    def auth_blocked(self, client: str) -> bool:
        """True while the client is over its failed sign-ins (a clean answer is reused for CLEAN_FOR_S)."""
        now = time.monotonic()
        if self._clean_until.get(client, 0.0) > now:
            return False
        blocked = not self.window.test(self.auth, "auth", client)
        if not blocked:
            if len(self._clean_until) >= _REMEMBERED:
                self._clean_until = {c: t for c, t in self._clean_until.items() if t > now}
            self._clean_until[client] = now + CLEAN_FOR_S
        return blocked

    def failed_auth(self, client: str) -> bool:
        """Count one failed sign-in; True while still within the limit."""
        self._clean_until.pop(client, None)
        return self.window.hit(self.auth, "auth", client)

    def refuse_auth(self, client: str) -> HTTPException:
        return HTTPException(
            429,
            "too many failed sign-ins from this address; wait and try again",
            headers={"Retry-After": str(self._retry_after(self.auth, f"auth/{client}"))},
        )

    def heavy_hit(self, who: str) -> None:
        """Count one heavy request for `who`; 429 when over the limit."""
        if not self.window.hit(self.heavy, "heavy", who):
            raise HTTPException(
                429,
                f"too many heavy requests (limit {self.heavy}); wait and try again",
                headers={"Retry-After": str(self._retry_after(self.heavy, f"heavy/{who}"))},
            )


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def rate_limits(request: Request) -> RateLimits:  # async: no threadpool hop for an attribute read
    return request.app.state.rate_limits


RateLimitsDep = Annotated[RateLimits, Depends(rate_limits)]
