"""People and their tokens.

Part of :class:`server.storage.repository.Repository`, over its one session.
"""

from __future__ import annotations

from sqlalchemy import func, select

from server.storage.repos.base import ROLES, Conflict, UnitOfWork, hash_token, new_token
from server.storage.tables import (
    Annotator,
)


class Annotators(UnitOfWork):
    """People and their tokens."""

    def create_annotator(self, name: str, role: str, *, with_token: bool = True) -> tuple[Annotator, str | None]:
        """Create a person; returns the plain token once (only its hash is stored)."""
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
        if self.session.scalar(select(Annotator).where(Annotator.name == name)):
            raise Conflict(f"annotator {name!r} already exists")
        token = new_token() if with_token else None
        annotator = Annotator(name=name, role=role, token_hash=hash_token(token) if token else None)
        self.session.add(annotator)
        self.session.flush()
        return annotator, token

    def annotator_by_token(self, token: str) -> Annotator | None:
        return self.session.scalar(select(Annotator).where(Annotator.token_hash == hash_token(token)))

    def annotator_by_name(self, name: str) -> Annotator | None:
        return self.session.scalar(select(Annotator).where(Annotator.name == name))

    def list_annotators(self) -> list[Annotator]:
        return list(self.session.scalars(select(Annotator).order_by(Annotator.id)))

    def count_admins(self) -> int:
        return self.session.scalar(select(func.count()).where(Annotator.role == "admin")) or 0
