"""Jobs: start drafting or judging for a project (authors, admins); read any job's progress and errors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from server.api.deps import CurrentUser, Heavy, ReadSession, SettingsDep, StoreDep, check_project
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.schemas import JobPublic
from server.api.visibility import check_labels
from server.jobs import DraftRequest, JudgeRequest, draft_job, judge_job, start_in_background
from server.llm import allowed_model, make_backend
from server.settings import Settings
from server.storage import Repository, Store
from server.storage.repos.annotators import Person

router = APIRouter(tags=["jobs"])


class JobStarted(BaseModel):
    job: str
    kind: str
    progress: str


def _start(
    kind: str,
    job: Any,
    project_id: int,
    body: DraftRequest | JudgeRequest,
    user: Person,
    store: Store,
    settings: Settings,
) -> JobStarted:
    """Check that the caller may run jobs in the project (author or admin there), then start `job`."""
    with store.read() as session:
        project = check_project(Repository(session), user, project_id, "author")
    if not allowed_model(settings, body.model):
        raise HTTPException(
            422, f"model: {body.model!r} is not allowed; the operator lists allowed ones in RUBRICATE_ALLOWED_MODELS"
        )
    backend = make_backend(settings, store, body.model)
    job_id = start_in_background(lambda on_start: job(store, project, backend, body, actor=user, on_start=on_start))
    return JobStarted(job=job_id, kind=kind, progress=f"/jobs/{job_id}")


@router.post(
    "/projects/{project_id}/jobs/draft",
    response_model=JobStarted,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def start_draft(
    project_id: Id, body: DraftRequest, user: CurrentUser, store: StoreDep, settings: SettingsDep
) -> JobStarted:
    """Draft candidates in the background; a job with the same parameters resumes where it stopped."""
    return _start("draft", draft_job, project_id, body, user, store, settings)


@router.post(
    "/projects/{project_id}/jobs/judge",
    response_model=JobStarted,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def start_judge(
    project_id: Id, body: JudgeRequest, user: CurrentUser, store: StoreDep, settings: SettingsDep
) -> JobStarted:
    """Judge pairs under a rubric version in the background (both orders by default); with `"mode": "pointwise"`
    score each response 1..N per criterion instead (a rubric with levels, e.g. sft-quality)."""
    try:
        return _start("judge", judge_job, project_id, body, user, store, settings)
    except ValueError as exc:  # a request that does not fit the rubric (pointwise under a pairwise-only rubric)
        raise HTTPException(422, str(exc)) from None


@router.get("/jobs/{job_id}", response_model=JobPublic, responses=error_responses(401, 403, 404))
def get_job(job_id: str, user: CurrentUser, session: ReadSession) -> JobPublic:
    """Progress (`total`, `done`, `failed`, `status`) and one recorded error per failed item."""
    repo = Repository(session)
    job = repo.job(job_id)
    if job.project_id is not None:
        check_labels(repo, user, job.project_id, f"job {job_id!r}")
    errors = [{"item": e.item, "error": e.error} for e in repo.job_errors(job_id)]
    return JobPublic.of(job, errors)
