"""Rubrics: list, show, validate, publish (authors and admins) and the semantic diff."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from rubrics.diff import RubricDiff, diff_rubrics
from rubrics.loader import RubricError, load_rubric_text
from rubrics.render import render_guidelines
from rubrics.schema import Rubric
from server.api.deps import CurrentUser, ReadSession, StoreDep, require_role
from server.api.errors import error_responses
from server.api.limits import Stamp
from server.rubric_registry import Published, publish, resolve
from server.storage import Repository
from server.storage.records import RubricVersion

router = APIRouter(tags=["rubrics"])


class RubricText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(max_length=1_000_000, description="The rubric file's text.")
    source: str = Field(default="<request>", max_length=200, description="A name for error messages.")


class RubricSummary(BaseModel):
    name: str
    versions: list[str]


class RubricVersionPublic(BaseModel):
    ref: str
    sha256: str
    published_at: Stamp
    rubric: dict[str, Any]
    guidelines: str


class Validation(BaseModel):
    ok: bool
    ref: str | None = None
    error: str | None = None
    line: int | None = None
    field: str | None = None


@router.get("/rubrics", response_model=list[RubricSummary], responses=error_responses(401))
def list_rubrics(_: CurrentUser, session: ReadSession) -> list[RubricSummary]:
    repo = Repository(session)
    return [RubricSummary(name=n, versions=[v.version for v in repo.rubric_versions(n)]) for n in repo.rubric_names()]


def _resolve(repo: Repository, ref: str) -> tuple[RubricVersion, Rubric]:
    try:
        return resolve(repo, ref)
    except ValueError as exc:  # a malformed reference (NotFound, a LookupError, passes through as 404)
        raise HTTPException(422, str(exc)) from None


@router.get("/rubrics/diff", response_model=RubricDiff, responses=error_responses(401, 404, 422))
def diff(
    _: CurrentUser,
    session: ReadSession,
    old: str = Query(description="NAME@VERSION"),
    new: str = Query(description="NAME@VERSION"),
) -> RubricDiff:
    """What changed from `old` to `new`: criteria added, removed, changed (which fields), and the rest."""
    repo = Repository(session)
    return diff_rubrics(_resolve(repo, old)[1], _resolve(repo, new)[1])


@router.get("/rubrics/{ref}", response_model=RubricVersionPublic, responses=error_responses(401, 404))
def show(ref: str, _: CurrentUser, session: ReadSession) -> RubricVersionPublic:
    """`ref` is `NAME@VERSION`, or `NAME` for the newest published version."""
    row, rubric = _resolve(Repository(session), ref)
    return RubricVersionPublic(
        ref=rubric.ref,
        sha256=row.content_hash,
        published_at=row.published_at,
        rubric=rubric.model_dump(mode="json"),
        guidelines=render_guidelines(rubric),
    )


@router.post("/rubrics/validate", response_model=Validation, responses=error_responses(401, 422))
def validate(body: RubricText, _: CurrentUser) -> Validation:
    try:
        rubric = load_rubric_text(body.yaml, source=body.source)
    except RubricError as exc:
        return Validation(ok=False, error=str(exc), line=exc.line, field=exc.field)
    return Validation(ok=True, ref=rubric.ref)


@router.post("/rubrics", response_model=Published, status_code=201, responses=error_responses(401, 403, 409, 422))
def publish_rubric(body: RubricText, user: CurrentUser, store: StoreDep) -> Published:
    """Publish; the same content again answers `status: unchanged`; changed content under a published
    version is refused (409) until the version is bumped."""
    require_role(user, "author")
    try:
        rubric = load_rubric_text(body.yaml, source=body.source)
    except RubricError as exc:
        raise HTTPException(422, str(exc)) from None
    return publish(store, rubric, user)
