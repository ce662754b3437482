"""The unit of work the storage aggregates share: one session, one actor, one transaction.

Every aggregate (:mod:`server.storage.repos.annotators`, ``projects``, ``pairs``, ``labels``,
``assignments``, ``rubrics``, ``jobs``) is a :class:`UnitOfWork` over the same session; their union is
:class:`server.storage.repository.Repository`. Reads hand out frozen records (:mod:`server.storage.records`),
never live rows; rows they write are audited by the store's flush hook.

>>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
True
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.storage import records
from server.storage.audit import operation_event, set_actor
from server.storage.tables import AuditEvent

if TYPE_CHECKING:
    from server.storage.repos.annotators import Person

ROLES = ("admin", "author", "reviewer", "viewer")
TOKEN_PREFIX = "rbk_"


class NotFound(LookupError):
    """The object does not exist, or the caller may not see it."""


class Conflict(ValueError):
    """The write would contradict something already stored."""


def digest(value: Any) -> str:
    """sha256 of a JSON-canonical value: the content address used for idempotent keys.

    >>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
    True
    """
    blob = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class UnitOfWork:
    """One session (one transaction from `Store.read()` / `Store.write()`) and who acts in it."""

    def __init__(self, session: Session, actor: Person | None = None) -> None:
        self.session = session
        self.actor = actor
        set_actor(session, actor.id if actor else None)

    def act_as(self, actor: Person) -> None:
        """Name the actor once the transaction has found out who it is (a sign-in read in it)."""
        self.actor = actor
        set_actor(self.session, actor.id)

    # --- audit: every row written is audited by the flush hook in server.storage.audit --------
    def record(
        self, action: str, obj: Any, *, project_id: int | None = None, after: dict[str, Any] | None = None
    ) -> None:
        """One summary event for an operation that is more than its rows (an import); rows audit themselves."""
        operation_event(self.session, action, obj, project_id=project_id, after=after)

    def audit_events(self, *, limit: int = 100) -> list[records.AuditEvent]:
        rows = self.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
        return [records.AuditEvent.of(row) for row in rows]
