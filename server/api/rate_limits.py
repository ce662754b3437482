"""Rate limits with `limits`' moving-window semantics, counted in the store (shared by every API process).

Two limits: failed sign-ins per client address (a wrong or expired token; while over the limit the
client gets 429 even with a good token, so guessing costs time), and heavy routes per token (reports,
imports, exports, jobs). Both answer 429 in the one error shape with `Retry-After`. The hits live in the database
(:mod:`server.api.rate_window`), not in a process's memory, so `rubricate serve --workers N` and several
hosts on one PostgreSQL share one budget per client.

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


class RateLimits:
    """The app's limiters (one per app, on `app.state.rate_limits`)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.window = StoredMovingWindow(store)
        self.auth = parse(settings.rate_failed_auth)
        self.heavy = parse(settings.rate_heavy)

    def _retry_after(self, item: object, key: str) -> int:
        reset = self.window.get_window_stats(item, key).reset_time  # type: ignore[arg-type]
        return max(1, math.ceil(reset - time.time()))

    def auth_blocked(self, client: str) -> bool:
        """True while the client is over its failed sign-ins."""
        return not self.window.test(self.auth, "auth", client)

    def failed_auth(self, client: str) -> bool:
        """Count one failed sign-in; True while still within the limit."""
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


def rate_limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


RateLimitsDep = Annotated[RateLimits, Depends(rate_limits)]
