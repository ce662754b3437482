"""API tokens: rotate (a new token, shown once), revoke, and set an expiry. Admins act for anyone;
everyone else for their own token only (another name answers 404, as a name that does not exist).
Each action appends an audit event (`token.rotate`, `token.revoke`, `token.expire`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server.api.deps import CurrentUser, StoreDep
from server.api.errors import error_responses
from server.api.limits import Stamp, utc
from server.api.schemas import Body
from server.storage import NotFound, Repository
from server.storage.repos.annotators import Person

router = APIRouter(tags=["tokens"])


class TokenRotate(Body):
    expires_at: datetime | None = Field(default=None, description="When the new token stops working (None: never).")


class TokenExpiry(Body):
    expires_at: datetime | None = Field(description="When the token stops working (None: never).")


class TokenIssued(BaseModel):
    name: str
    token: str = Field(description="Shown once; only its hash is stored.")
    expires_at: Stamp | None


class TokenState(BaseModel):
    name: str
    expires_at: Stamp | None


def _target(repo: Repository, user: Person, name: str) -> Person:
    found = repo.annotator_by_name(name)
    if found is None or (user.role != "admin" and found.id != user.id):
        raise NotFound(f"annotator {name!r} not found")
    return found


@router.post(
    "/annotators/{name}/token",
    status_code=201,
    response_model=TokenIssued,
    responses=error_responses(401, 404, 409, 422),
)
def rotate(name: str, body: TokenRotate, user: CurrentUser, store: StoreDep) -> TokenIssued:
    """Replace the token with a new one (the old one stops working at once)."""
    expires = utc(body.expires_at) if body.expires_at else None
    with store.write() as session:
        repo = Repository(session, user)
        token = repo.rotate_token(_target(repo, user, name).id, expires)
    return TokenIssued(name=name, token=token, expires_at=expires)


@router.delete("/annotators/{name}/token", status_code=204, responses=error_responses(401, 404, 409))
def revoke(name: str, user: CurrentUser, store: StoreDep) -> None:
    """Revoke the token: it stops working at once (rotate to make a new one)."""
    with store.write() as session:
        repo = Repository(session, user)
        repo.revoke_token(_target(repo, user, name).id)


@router.put(
    "/annotators/{name}/token/expiry", response_model=TokenState, responses=error_responses(401, 404, 409, 422)
)
def expire(name: str, body: TokenExpiry, user: CurrentUser, store: StoreDep) -> TokenState:
    """Set when the token stops working (a time in the past: now)."""
    expires = utc(body.expires_at) if body.expires_at else None
    with store.write() as session:
        repo = Repository(session, user)
        repo.expire_token(_target(repo, user, name).id, expires)
    return TokenState(name=name, expires_at=expires)
