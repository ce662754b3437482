"""People and their tokens; reads give frozen :class:`Person` records, never live rows.

Part of :class:`server.storage.repository.Repository`, over its one session.

>>> Person(id=1, name="rita", role="reviewer").role
'reviewer'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from server.storage.repos.base import ROLES, Conflict, UnitOfWork, hash_token, new_token
from server.storage.tables import Annotator, utcnow

_BY_TOKEN = select(Annotator.__table__).where(Annotator.__table__.c.token_hash == bindparam("token_hash"))


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value else None


@dataclass(frozen=True, slots=True)
class Person:
    """An annotator as the service reads one: who, with which role (the token hash stays in storage)."""

    id: int
    name: str
    role: str
    created_at: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> Person:
        return cls(id=row.id, name=row.name, role=row.role, created_at=row.created_at)


class Annotators(UnitOfWork):
    """People and their tokens."""

    def create_annotator(self, name: str, role: str, *, with_token: bool = True) -> tuple[Person, str | None]:
        """Create a person; returns the plain token once (only its hash is stored)."""
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
        if with_token and "/" in name:
            raise ValueError(f"name: {name!r} has a '/', which is kept for import-only annotators")
        if self.session.scalar(select(Annotator).where(Annotator.name == name)):
            raise Conflict(f"annotator {name!r} already exists")
        token = new_token() if with_token else None
        annotator = Annotator(name=name, role=role, token_hash=hash_token(token) if token else None)
        self.session.add(annotator)
        self.session.flush()
        return Person.of(annotator), token

    def is_import_only(self, annotator_id: int) -> bool:
        """True for an annotator made by an import: no token, so no one signs in as them."""
        row = self.session.get(Annotator, annotator_id)
        return row is not None and row.token_hash is None

    def annotator_by_token(self, token: str) -> Person | None:
        """The token's person; None for an unknown, revoked or expired token."""
        row = self.session.execute(_BY_TOKEN, {"token_hash": hash_token(token)}).first()
        if row is None or (row.token_expires_at is not None and utc(row.token_expires_at) <= utcnow()):
            return None
        return Person.of(row)

    def _account(self, annotator_id: int) -> Annotator:
        row = self.session.get(Annotator, annotator_id)
        if row is None or (row.token_hash is None and row.name.count("/")):
            raise Conflict("import-only annotators have no token")
        return row

    def rotate_token(self, annotator_id: int, expires_at: datetime | None = None) -> str:
        """A new token for the person (the old one stops working); returned once, stored as its hash."""
        row = self._account(annotator_id)
        token = new_token()
        row.token_hash, row.token_expires_at = hash_token(token), expires_at
        self.session.flush()
        self.record("token.rotate", row, after={"annotator": row.name, "expires_at": _iso(expires_at)})
        return token

    def revoke_token(self, annotator_id: int) -> None:
        """The person's token stops working; a rotation gives them a new one."""
        row = self._account(annotator_id)
        row.token_hash, row.token_expires_at = None, None
        self.session.flush()
        self.record("token.revoke", row, after={"annotator": row.name})

    def expire_token(self, annotator_id: int, at: datetime | None) -> None:
        """The person's token stops working at `at` (None: never)."""
        row = self._account(annotator_id)
        if row.token_hash is None:
            raise Conflict(f"{row.name} has no token (revoked); rotate to make one")
        row.token_expires_at = at
        self.session.flush()
        self.record("token.expire", row, after={"annotator": row.name, "expires_at": _iso(at)})

    def annotator_by_name(self, name: str) -> Person | None:
        row = self.session.scalar(select(Annotator).where(Annotator.name == name))
        return Person.of(row) if row else None

    def person(self, annotator_id: int) -> Person | None:
        """The person with this id (a job's worker acts as the person who asked for the job)."""
        row = self.session.get(Annotator, annotator_id)
        return Person.of(row) if row else None

    def list_annotators(self) -> list[Person]:
        return [Person.of(row) for row in self.session.scalars(select(Annotator).order_by(Annotator.id))]

    def count_admins(self) -> int:
        return self.session.scalar(select(func.count()).where(Annotator.role == "admin")) or 0
