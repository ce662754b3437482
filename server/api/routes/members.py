"""Project membership: add, change the role of, and remove a member (project authors and admins).

A role granted is at most the granter's own role in the project, so authors cannot make admins.
Authors can name only people they already share a project with; anyone else answers the same 404 as
a name that does not exist, so the route does not tell which accounts exist. Admins name anyone.
Import-only annotators (no token) are not people and cannot be members by this route.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from pydantic import Field

from server.api.deps import RANK, CurrentUser, StoreDep, check_project, project_role
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.schemas import AnnotatorPublic, Body, MemberAdd, Role
from server.storage import NotFound, Repository
from server.storage.repos.annotators import Person

router = APIRouter(tags=["projects"])


class MemberRole(Body):
    role: Role = Field(description="The member's new role in this project.")


def _grantable(repo: Repository, user: Person, project_id: int, role: str) -> None:
    _, mine = project_role(repo, user, project_id)
    if RANK[role] > RANK[mine]:
        raise HTTPException(403, f"you can grant roles up to your own ({mine}) in this project, not {role}")


def _person(repo: Repository, user: Person, name: str) -> Person:
    """The named account, if the caller may name it; else the one 404 for "no such person"."""
    found = repo.annotator_by_name(name)
    hidden = found is None or repo.is_import_only(found.id)
    if found is not None and not hidden and user.role != "admin" and found.id != user.id:
        hidden = not repo.shares_project(user.id, found.id)
    if hidden or found is None:
        raise NotFound(f"annotator {name!r} not found")
    return found


@router.post(
    "/projects/{project_id}/members",
    status_code=201,
    response_model=AnnotatorPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def add_member(
    project_id: Id, body: MemberAdd, user: CurrentUser, store: StoreDep, response: Response
) -> AnnotatorPublic:
    """Add a member; the same person with the same role again answers 200, with another role 409."""
    with store.write() as session:
        repo = Repository(session, user)
        project = check_project(repo, user, project_id, "author")
        annotator = _person(repo, user, body.annotator)
        role = body.role or annotator.role
        _grantable(repo, user, project_id, role)
        existing = repo.membership(project_id, annotator.id)
        if existing is not None:
            if existing.role != role:
                raise HTTPException(
                    409, f"{annotator.name} is already a member as {existing.role}; PUT the member to change the role"
                )
            response.status_code = 200
        else:
            repo.add_member(project, annotator, role)
        return AnnotatorPublic(id=annotator.id, name=annotator.name, role=role)


@router.put(
    "/projects/{project_id}/members/{name}",
    response_model=AnnotatorPublic,
    responses=error_responses(401, 403, 404, 422),
)
def change_member(project_id: Id, name: str, body: MemberRole, user: CurrentUser, store: StoreDep) -> AnnotatorPublic:
    """Change a member's role (up to the caller's own)."""
    with store.write() as session:
        repo = Repository(session, user)
        check_project(repo, user, project_id, "author")
        annotator = _person(repo, user, name)
        _grantable(repo, user, project_id, body.role)
        member = repo.membership(project_id, annotator.id)
        if member is None:
            raise NotFound(f"annotator {name!r} not found")
        _grantable(repo, user, project_id, member.role)  # nor demote someone above you
        repo.set_member_role(project_id, annotator.id, body.role)
        return AnnotatorPublic(id=annotator.id, name=annotator.name, role=body.role)


@router.delete("/projects/{project_id}/members/{name}", status_code=204, responses=error_responses(401, 403, 404))
def remove_member(project_id: Id, name: str, user: CurrentUser, store: StoreDep) -> None:
    """Remove a member (their rankings stay, with their provenance)."""
    with store.write() as session:
        repo = Repository(session, user)
        check_project(repo, user, project_id, "author")
        annotator = _person(repo, user, name)
        member = repo.membership(project_id, annotator.id)
        if member is None:
            raise NotFound(f"annotator {name!r} not found")
        _grantable(repo, user, project_id, member.role)
        repo.remove_member(project_id, annotator.id)



