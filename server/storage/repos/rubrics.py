"""Published rubric versions.

Part of :class:`server.storage.repository.Repository`, over its one session; reads and writes return frozen
records (:mod:`server.storage.records`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.storage import records
from server.storage.repos.base import UnitOfWork
from server.storage.tables import (
    Rubric,
    RubricVersion,
)


class Rubrics(UnitOfWork):
    """Published rubric versions."""

    def rubric_version(self, version_id: int) -> records.RubricVersion | None:
        return records.RubricVersion.of_optional(self.session.get(RubricVersion, version_id))

    def rubric_versions(self, name: str) -> list[records.RubricVersion]:
        """Every published version of a rubric, oldest first by publication."""
        rows = self.session.scalars(
            select(RubricVersion).join(Rubric).where(Rubric.name == name).order_by(RubricVersion.id)
        )
        return [records.RubricVersion.of(row) for row in rows]

    def rubric_names(self) -> list[str]:
        return list(self.session.scalars(select(Rubric.name).order_by(Rubric.name)))

    def add_rubric_version(
        self, name: str, version: str, content: dict[str, Any], content_hash: str
    ) -> records.RubricVersion:
        """Store a published version (the caller has checked the publish rules)."""
        rubric = self.session.scalar(select(Rubric).where(Rubric.name == name))
        if rubric is None:
            rubric = Rubric(name=name)
            self.session.add(rubric)
            self.session.flush()
        row = RubricVersion(
            rubric_id=rubric.id,
            version=version,
            content=content,
            content_hash=content_hash,
            published_by=self.actor.id if self.actor else None,
        )
        self.session.add(row)
        self.session.flush()
        return records.RubricVersion.of(row)
