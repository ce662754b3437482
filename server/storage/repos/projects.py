"""Projects, their members and settings.

Part of :class:`server.storage.repository.Repository`, over its one session; reads and writes return frozen
records (:mod:`server.storage.records`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, select

from server.storage import records
from server.storage.repos.annotators import Person
from server.storage.repos.base import ROLES, Conflict, NotFound, UnitOfWork
from server.storage.tables import (
    Annotator,
    Membership,
    Pair,
    Project,
    Prompt,
    Ranking,
    Response,
    RoutingDecision,
    Verdict,
)

_PR, _M, _RD = Project.__table__, Membership.__table__, RoutingDecision.__table__
_MEMBER = (_M.c.project_id == _PR.c.id) & (_M.c.annotator_id == bindparam("annotator"))
_ACCESS = (
    select(_PR, _M.c.role.label("member_role"), exists().where(_RD.c.project_id == _PR.c.id).label("routed"))
    .select_from(_PR.outerjoin(_M, _MEMBER))
    .where(_PR.c.id == bindparam("project"))
)
# FOR NO KEY UPDATE OF projects (see `project_access`); the membership row and the routing check are not locked.
_ACCESS_LOCKED = _ACCESS.with_for_update(key_share=True, of=_PR)


@dataclass(frozen=True, slots=True)
class Access:
    """A project as one annotator reaches it: their role there (None: not a member) and whether the project
    is routed (has routing decisions, so its queue follows them), read in one statement."""

    project: records.Project
    role: str | None
    routed: bool


class Projects(UnitOfWork):
    """Projects, their members and settings."""

    def create_project(
        self, name: str, description: str = "", settings: dict[str, Any] | None = None
    ) -> records.Project:
        if self.session.scalar(select(Project).where(Project.name == name)):
            raise Conflict(f"project {name!r} already exists")
        project = Project(name=name, description=description, settings=settings or {})
        self.session.add(project)
        self.session.flush()
        return records.Project.of(project)

    def get_or_create_project(self, name: str) -> records.Project:
        project = self.session.scalar(select(Project).where(Project.name == name))
        return records.Project.of(project) if project else self.create_project(name)

    def project_by_name(self, name: str) -> records.Project:
        project = self.session.scalar(select(Project).where(Project.name == name))
        if project is None:
            raise NotFound(f"project {name!r} not found")
        return records.Project.of(project)

    def _project_row(self, project_id: int) -> Project:
        project = self.session.get(Project, project_id)
        if project is None:
            raise NotFound(f"project {project_id} not found")
        return project

    def project(self, project_id: int) -> records.Project:
        return records.Project.of(self._project_row(project_id))

    def projects_for(self, annotator: Person) -> list[records.Project]:
        """Every project for admins; member projects for everyone else."""
        query = select(Project).order_by(Project.id)
        if annotator.role != "admin":
            query = query.join(Membership).where(Membership.annotator_id == annotator.id)
        return [records.Project.of(p) for p in self.session.scalars(query)]

    def projects_for_all(self) -> list[records.Project]:
        return [records.Project.of(p) for p in self.session.scalars(select(Project).order_by(Project.id))]

    def project_and_role(self, project_id: int, annotator_id: int) -> tuple[records.Project, str | None]:
        """The project and the annotator's role in it (None for a non-member), read in one query."""
        access = self.project_access(project_id, annotator_id)
        return access.project, access.role

    def project_access(self, project_id: int, annotator_id: int, *, lock: bool = False) -> Access:
        """:class:`Access` to a project. `lock` serialises assignment-making per project: a row lock on
        PostgreSQL (SQLite's IMMEDIATE write transaction already holds the database's one write lock).

        FOR NO KEY UPDATE: it excludes every other assignment-maker (and a settings change) like FOR UPDATE,
        but not the FOR KEY SHARE that each insert referencing the project takes for its foreign key, so
        rankings and skips in other processes are stored while a queue decision is being made. Under READ
        COMMITTED each statement after the lock sees what the previous holder committed.
        """
        found = self.session.execute(
            _ACCESS_LOCKED if lock else _ACCESS, {"project": project_id, "annotator": annotator_id}
        ).first()
        if found is None:
            raise NotFound(f"project {project_id} not found")
        return Access(records.Project.of(found), found.member_role, bool(found.routed))

    def membership(self, project_id: int, annotator_id: int) -> records.Membership | None:
        return records.Membership.of_optional(self.session.get(Membership, (project_id, annotator_id)))

    def add_member(self, project: records.Project, annotator: Person, role: str | None = None) -> records.Membership:
        """Give an annotator access to a project (idempotent); the role defaults to theirs."""
        role = role or annotator.role
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
        existing = self.membership(project.id, annotator.id)
        if existing:
            return existing
        member = Membership(project_id=project.id, annotator_id=annotator.id, role=role)
        self.session.add(member)
        self.session.flush()
        return records.Membership.of(member)

    def set_member_role(self, project_id: int, annotator_id: int, role: str) -> records.Membership:
        """Change a member's role in the project."""
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
        member = self.session.get(Membership, (project_id, annotator_id))
        if member is None:
            raise NotFound("member not found")
        member.role = role
        self.session.flush()
        return records.Membership.of(member)

    def remove_member(self, project_id: int, annotator_id: int) -> None:
        """Take an annotator out of the project (their rankings stay, with their provenance)."""
        member = self.session.get(Membership, (project_id, annotator_id))
        if member is None:
            raise NotFound("member not found")
        self.session.delete(member)
        self.session.flush()

    def shares_project(self, annotator_id: int, other_id: int) -> bool:
        """True when the two annotators are members of at least one common project."""
        mine = select(Membership.project_id).where(Membership.annotator_id == annotator_id)
        found = self.session.scalar(
            select(Membership.project_id).where(Membership.annotator_id == other_id, Membership.project_id.in_(mine))
        )
        return found is not None

    def members(self, project_id: int) -> list[tuple[str, Person]]:
        """(role in the project, person) for every member."""
        rows = self.session.execute(
            select(Membership, Annotator).join(Annotator).where(Membership.project_id == project_id)
        )
        return [(m.role, Person.of(a)) for m, a in rows]

    def project_counts(self, project_id: int) -> dict[str, int]:
        """How many of each stored thing a project holds."""

        def count(model: Any) -> int:
            return (
                self.session.scalar(select(func.count()).select_from(model).where(model.project_id == project_id)) or 0
            )

        responses = (
            self.session.scalar(
                select(func.count()).select_from(Response).join(Prompt).where(Prompt.project_id == project_id)
            )
            or 0
        )
        failed = (
            self.session.scalar(
                select(func.count())
                .select_from(Verdict)
                .where(Verdict.project_id == project_id, Verdict.error.is_not(None))
            )
            or 0
        )
        return {
            "prompts": count(Prompt),
            "responses": responses,
            "pairs": count(Pair),
            "rankings": count(Ranking),
            "verdicts": count(Verdict),
            "failed_verdicts": failed,
            "annotators": len(self.members(project_id)),
        }

    def update_project_settings(self, project: records.Project, changes: dict[str, Any]) -> records.Project:
        """Merge `changes` into the project's settings (top-level keys replace theirs)."""
        row = self._project_row(project.id)
        row.settings = {**row.settings, **changes}
        self.session.flush()
        return records.Project.of(row)
