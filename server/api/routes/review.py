"""Review: the reviewer's queue, ranking and skip submissions, gold items, disputes and adjudication."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from rubrics.outcomes import Outcome
from rubrics.render import render_guidelines
from rubrics.schema import Rubric
from server.api.deps import (
    CurrentUser,
    ReadSession,
    SignIn,
    SignInDep,
    StoreDep,
    check_access,
    check_project,
    check_within,
    signing_in,
)
from server.api.errors import error_responses
from server.api.limits import Id, Stamp
from server.review import (
    RankingSubmission,
    ReviewSettings,
    SkipReason,
    SkipSubmission,
    assign_next,
    assisted_hint,
    disputes,
    review_settings,
    signed_in,
    skip_assignment,
    submit_ranking,
)
from server.routing.queue import reason as routing_reason
from server.rubric_registry import resolve
from server.storage import Repository, Store
from server.storage.records import Assignment, Ranking
from server.storage.repos.annotators import Person
from server.storage.repos.projects import Access

router = APIRouter(tags=["review"])
T = TypeVar("T")


class Shown(BaseModel):
    text: str


class AssignmentPublic(BaseModel):
    """A pair as one reviewer sees it: A left, B right, in the order the server drew."""

    id: int
    project_id: int
    mode: str
    prompt: list[dict[str, str]]
    response_a: Shown
    response_b: Shown
    judge: dict[str, Any] | None = Field(description="Assisted mode only: the judge's verdict as shown.")
    rubric: str | None = Field(description="The rubric version the ranking will reference (NAME@VERSION).")
    guidelines: str | None = Field(description="The rubric's reviewer guidelines (markdown).")
    criteria: list[dict[str, str]] = Field(description="The rubric's criteria: id, title, description.")
    reason: Literal["escalated", "audit"] | None = Field(
        default=None,
        description="Why the pair is here under certified routing: escalated (no judge could be trusted on it) "
        "or an audit of an accepted judge label; null otherwise (gold items are not told apart).",
    )
    created_at: Stamp


class Queue(BaseModel):
    assignment: AssignmentPublic | None
    progress: dict[str, int]


class RankingReceipt(BaseModel):
    id: int
    pair_id: int
    assignment_id: int | None
    created: bool


class AdjudicationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    note: str = Field(default="", max_length=5000)
    reason: SkipReason | None = Field(
        default=None,
        description="Why the pair needed a ruling (the error taxonomy): unclear_guideline, "
        "ambiguous_item, broken_item or other; none given counts as other.",
    )


class GoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome | None = Field(description="The gold outcome; null removes the pair from the gold set.")


@functools.lru_cache(maxsize=256)
def _rubric_shown(content: str) -> tuple[str, str, tuple[tuple[str, str, str], ...]]:
    """A rubric version as reviewers see it (ref, guidelines, criteria), rendered once per version's content."""
    rubric = Rubric.model_validate_json(content)
    return rubric.ref, render_guidelines(rubric), tuple((c.id, c.title, c.description) for c in rubric.criteria)


def _public(repo: Repository, assignment: Assignment, routed: bool) -> AssignmentPublic:
    """The assignment as its reviewer sees it; the pair's labels are read only for an assisted item with
    verdicts, its routing decision only in a `routed` project."""
    texts = repo.shown_pair(assignment.pair_id)
    left, right = (texts.response_b, texts.response_a) if assignment.swapped else (texts.response_a, texts.response_b)
    version = repo.rubric_version(assignment.rubric_version_id) if assignment.rubric_version_id else None
    ref, guidelines, criteria = _rubric_shown(json.dumps(version.content, sort_keys=True)) if version else (None,) * 3
    judge = None
    if assignment.mode == "assisted" and texts.judged:
        judge = assisted_hint(repo, repo.pair_views([repo.pair(assignment.pair_id)])[0], assignment)
    return AssignmentPublic(
        id=assignment.id,
        project_id=assignment.project_id,
        mode=assignment.mode,
        prompt=texts.messages,
        response_a=Shown(text=left),
        response_b=Shown(text=right),
        judge=judge,
        rubric=ref,
        guidelines=guidelines,
        criteria=[{"id": i, "title": t, "description": d} for i, t, d in criteria or ()],
        reason=routing_reason(repo.session, assignment.pair_id) if routed and not assignment.is_gold else None,
        created_at=assignment.created_at,
    )


@router.get(
    "/projects/{project_id}/review/settings", response_model=ReviewSettings, responses=error_responses(401, 404)
)
def get_review_settings(project_id: Id, user: CurrentUser, session: ReadSession) -> ReviewSettings:
    return review_settings(check_project(Repository(session), user, project_id).settings)


@router.put(
    "/projects/{project_id}/review/settings",
    response_model=ReviewSettings,
    responses=error_responses(401, 403, 404, 422),
)
def put_review_settings(project_id: Id, body: ReviewSettings, user: CurrentUser, store: StoreDep) -> ReviewSettings:
    with store.write() as session:
        repo = Repository(session, user)
        project = check_project(repo, user, project_id, "author")
        if body.rubric:  # pin the exact version, so rankings keep their meaning when the rubric moves on
            body = body.model_copy(update={"rubric": resolve(repo, body.rubric)[1].ref})
        repo.update_project_settings(project, {"review": body.model_dump()})
    return body


async def _review_turn(request: Request, work: Callable[[], T]) -> T:
    """Run a review turn's transaction on one of the app's RUBRICATE_REVIEW_THREADS, not the general pool.

    On SQLite turns queue on the store's one write lock anyway; each SQLite call inside it lets go of the
    GIL, and with many threads around, the writer waits for it again after every statement while holding
    the lock (measured: 1 turn thread ~190 turns/s, 2 ~140, the general pool of 8 ~130). Other routes keep
    the general pool, so a long report does not hold up the reviewers.
    """
    state = request.app.state
    if getattr(state, "review_limiter", None) is None:  # made in the loop, on first use (no await before set)
        threads = state.settings.review_threads or (1 if state.store.dialect == "sqlite" else 4)
        state.review_limiter = anyio.CapacityLimiter(threads)
    return await anyio.to_thread.run_sync(work, limiter=state.review_limiter)


@router.post("/projects/{project_id}/assignments/next", response_model=Queue, responses=error_responses(401, 403, 404))
async def next_item(project_id: Id, sign_in: SignInDep, store: StoreDep, request: Request) -> Response:
    """The caller's pending or new assignment, in one write transaction: sign-in, access check, the queue's
    choice, and the reads that show it."""
    return _as_json(await _review_turn(request, functools.partial(_next_item, project_id, sign_in, store)))


def _as_json(model: BaseModel, status_code: int = 200) -> Response:
    """A review turn's answer, serialised once: the model was validated when built, so FastAPI's second
    validation against `response_model` (which still documents it) is skipped."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def _next_item(project_id: int, sign_in: SignIn, store: Store) -> Queue:
    seen: dict[str, Any] = {}
    with signing_in(sign_in), store.write() as session:
        repo = Repository(session)
        user = signed_in(repo, sign_in.person)

        def authorize(user: Person, access: Access) -> None:
            seen["settings"] = review_settings(check_access(user, access, "reviewer").settings)
            seen["routed"] = access.routed

        assignment = assign_next(repo, project_id, user, authorize=authorize)
        progress = repo.assignment_progress(project_id, user.id, seen["settings"].overlap)
        shown = _public(repo, assignment, seen["routed"]) if assignment else None
        return Queue(assignment=shown, progress=progress)


@router.post(
    "/assignments/{assignment_id}/ranking",
    response_model=RankingReceipt,
    status_code=201,
    responses=error_responses(401, 404, 409, 422),
)
async def rank(
    assignment_id: Id,
    body: RankingSubmission,
    sign_in: SignInDep,
    store: StoreDep,
    request: Request,
    idempotency_key: Annotated[str, Header(min_length=8, max_length=200, description="Same key, same ranking.")],
) -> Response:
    """Store the ranking; sign-in, access check and the write are one transaction."""

    def authorize(user: Person, access: Access) -> None:
        check_access(user, access, "reviewer", f"assignment {assignment_id}")

    def answer() -> tuple[Ranking, bool]:
        with signing_in(sign_in):
            return submit_ranking(store, assignment_id, sign_in.person, body, idempotency_key, authorize=authorize)

    ranking, created = await _review_turn(request, answer)
    receipt = RankingReceipt(
        id=ranking.id, pair_id=ranking.pair_id, assignment_id=ranking.assignment_id, created=created
    )
    return _as_json(receipt, 201 if created else 200)


@router.post("/assignments/{assignment_id}/skip", status_code=204, responses=error_responses(401, 404, 409, 422))
def skip(assignment_id: Id, body: SkipSubmission, user: CurrentUser, store: StoreDep) -> None:
    with store.read() as session:
        repo = Repository(session)
        check_within(repo, user, repo.assignment(assignment_id).project_id, f"assignment {assignment_id}", "reviewer")
    skip_assignment(store, assignment_id, user, body)


@router.get("/projects/{project_id}/disputes", responses=error_responses(401, 403, 404))
def list_disputes(
    project_id: Id, user: CurrentUser, session: ReadSession, limit: Annotated[int, Query(ge=1, le=10_000)] = 200
) -> list[dict[str, Any]]:
    repo = Repository(session)
    check_project(repo, user, project_id, "author")
    return disputes(repo, project_id, limit=limit)


@router.post("/pairs/{pair_id}/adjudication", status_code=201, responses=error_responses(401, 403, 404, 422))
def adjudicate(pair_id: Id, body: AdjudicationBody, user: CurrentUser, store: StoreDep) -> dict[str, Any]:
    with store.write() as session:
        repo = Repository(session, user)
        pair = repo.pair(pair_id)
        check_within(repo, user, pair.project_id, f"pair {pair_id}", "author")
        adjudication = repo.set_adjudication(pair, user, body.outcome, body.note, body.reason)
        return {
            "pair_id": pair_id,
            "outcome": adjudication.outcome,
            "note": adjudication.note,
            "reason": adjudication.reason,
        }


@router.put("/pairs/{pair_id}/gold", responses=error_responses(401, 403, 404, 422))
def set_gold(pair_id: Id, body: GoldBody, user: CurrentUser, store: StoreDep) -> dict[str, Any]:
    with store.write() as session:
        repo = Repository(session, user)
        pair = repo.pair(pair_id)
        check_within(repo, user, pair.project_id, f"pair {pair_id}", "author")
        repo.set_gold(pair, body.outcome)
        return {"pair_id": pair_id, "is_gold": pair.is_gold, "gold_outcome": pair.gold_outcome}
