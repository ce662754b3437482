"""Request dependencies: the store, the signed-in annotator, and project access by role.

A project that the caller may not see answers 404, the same as one that does not exist, so ids
of other teams' projects leak nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from server.api.rate_limits import RateLimitsDep, client_of
from server.settings import Settings
from server.storage import NotFound, Repository, Store
from server.storage.records import Project
from server.storage.repos.annotators import Person
from server.storage.repos.projects import Access

RANK = {"viewer": 0, "reviewer": 1, "author": 2, "admin": 3}
bearer = HTTPBearer(auto_error=False, description="An API token from `rubricate init` or `rubricate annotator add`")


async def get_store(request: Request) -> Store:  # async: FastAPI runs a sync dependency on the threadpool
    return request.app.state.store


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_user(
    request: Request,
    store: StoreDep,
    limits: RateLimitsDep,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Person:
    """The signed-in person; 401 for a bad token, 429 for an address over its failed sign-ins."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)")
    client = client_of(request)
    if limits.auth_blocked(client):
        raise limits.refuse_auth(client)
    with store.read() as session:
        annotator = Repository(session).annotator_by_token(credentials.credentials)
    if annotator is None:
        if not limits.failed_auth(client):  # over the budget since the check above (another process counted)
            raise limits.refuse_auth(client)
        raise HTTPException(401, "invalid, revoked or expired token")
    return annotator


CurrentUser = Annotated[Person, Depends(current_user)]


def heavy(user: CurrentUser, limits: RateLimitsDep) -> None:
    """A route dependency: count the request against the caller's heavy-route limit (429 over it)."""
    limits.heavy_hit(f"annotator/{user.id}")


Heavy = Depends(heavy)


def read_session(store: StoreDep) -> Iterator[Session]:
    with store.read() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]


def require_role(user: Person, minimum: str) -> None:
    """Refuse (403) a caller whose global role is below `minimum`."""
    if RANK[user.role] < RANK[minimum]:
        raise HTTPException(403, f"this needs the {minimum} role or higher; you are {user.role}")


def project_role(repo: Repository, user: Person, project_id: int) -> tuple[Project, str]:
    """The project and the caller's role in it; 404 for non-members (admins see everything)."""
    if user.role == "admin":
        return repo.project(project_id), "admin"
    project, role = repo.project_and_role(project_id, user.id)
    if role is None:
        raise NotFound(f"project {project_id} not found")
    return project, role


def check_project(repo: Repository, user: Person, project_id: int, minimum: str = "viewer") -> Project:
    """The project if the caller is a member with at least `minimum` there, else 404/403."""
    project, role = project_role(repo, user, project_id)
    return check_access(user, Access(project, role, routed=False), minimum)


def check_access(user: Person, access: Access, minimum: str, what: str | None = None) -> Project:
    """`check_project` on an :class:`Access` already read (a review turn reads it with its lock): 404 for a
    non-member (naming `what` instead of the project when given), 403 below `minimum`; admins pass."""
    role = "admin" if user.role == "admin" else access.role
    if role is None:
        raise NotFound(f"{what} not found" if what else f"project {access.project.id} not found")
    if RANK[role] < RANK[minimum]:
        raise HTTPException(403, f"this needs the {minimum} role in project {access.project.name}; you are {role}")
    return access.project


def check_within(repo: Repository, user: Person, project_id: int, what: str, minimum: str = "viewer") -> Project:
    """`check_project` for an object (`what`, e.g. "pair 7") that lives in the project: a caller who may
    not see the project gets "`what` not found", which names neither the project nor its id."""
    try:
        return check_project(repo, user, project_id, minimum)
    except NotFound:
        raise NotFound(f"{what} not found") from None
