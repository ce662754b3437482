"""Request dependencies: the store, the signed-in annotator, and project access by role.

A project that the caller may not see answers 404, the same as one that does not exist, so ids
of other teams' projects leak nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from server.api.rate_limits import RateLimits, RateLimitsDep, client_of
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


class BadToken(Exception):
    """Raised by :meth:`SignIn.person` inside a transaction; :func:`signing_in` answers it once that has ended."""


@dataclass(frozen=True)
class SignIn:
    """A request's bearer token and address, not yet looked up.

    Most routes take :data:`CurrentUser`, which looks the token up in a read of its own. The review turn's
    two routes take :data:`SignInDep` and call :meth:`person` inside their one write transaction instead:
    one transaction per click, not two.
    """

    token: str
    client: str
    limits: RateLimits

    def person(self, repo: Repository) -> Person:
        """The token's person; 429 while the address is over its failed sign-ins, :class:`BadToken` if unknown."""
        if self.limits.auth_blocked(self.client):
            raise self.limits.refuse_auth(self.client)
        found = repo.annotator_by_token(self.token)
        if found is None:
            raise BadToken
        return found

    def refused(self) -> HTTPException:
        """Count the failed sign-in (its own write, so after the failed transaction) and say 401, or 429 once
        another process has filled the address's budget since the check."""
        if not self.limits.failed_auth(self.client):
            return self.limits.refuse_auth(self.client)
        return HTTPException(401, "invalid, revoked or expired token")


@contextmanager
def signing_in(sign_in: SignIn) -> Iterator[None]:
    """Answer a :class:`BadToken` raised in the block, outside it: ``with signing_in(s), store.write() as session``."""
    try:
        yield
    except BadToken:
        raise sign_in.refused() from None


async def sign_in_of(
    request: Request, limits: RateLimitsDep, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> SignIn:
    """The request's :class:`SignIn`; 401 without a bearer token."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)")
    return SignIn(credentials.credentials, client_of(request), limits)


SignInDep = Annotated[SignIn, Depends(sign_in_of)]


def current_user(sign_in: SignInDep, store: StoreDep) -> Person:
    """The signed-in person; 401 for a bad token, 429 for an address over its failed sign-ins."""
    with signing_in(sign_in), store.read() as session:
        return sign_in.person(Repository(session))


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
