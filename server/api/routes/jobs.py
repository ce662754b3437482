"""Jobs: queue drafting or judging for a project (authors, admins), cancel it; read any job's progress.

A job asked for is a row in the durable queue (:mod:`server.storage.repos.job_queue`); the API's own
worker (unless `RUBRICATE_API_WORKER=false`) or any `rubricate worker` runs it. The same request while
that job is queued or running answers with the same job.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from server.api.deps import CurrentUser, Heavy, ReadSession, SettingsDep, StoreDep, check_project, check_within
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.schemas import JobPublic
from server.api.visibility import check_labels
from server.jobs import DraftRequest, DraftSpec, JudgeRequest, enqueue, judge_spec
from server.llm import allowed_model, make_backend
from server.settings import Settings
from server.storage import Repository, Store
from server.storage.repos.annotators import Person

router = APIRouter(tags=["jobs"])


class JobStarted(BaseModel):
    job: str
    kind: str
    progress: str
    status: str


def _start(
    kind: str,
    spec_of: Any,
    project_id: int,
    body: DraftRequest | JudgeRequest,
    user: Person,
    request: Request,
    store: Store,
    settings: Settings,
) -> JobStarted:
    """Check that the caller may run jobs in the project (author or admin there), then queue the job; the
    API's worker takes it at once when it has room."""
    with store.read() as session:
        project = check_project(Repository(session), user, project_id, "author")
    if not allowed_model(settings, body.model):
        raise HTTPException(
            422, f"model: {body.model!r} is not allowed; the operator lists allowed ones in RUBRICATE_ALLOWED_MODELS"
        )
    spec = spec_of(store, project, make_backend(settings, store, body.model), body)  # an unknown rubric: 404 here
    submitted = enqueue(store, spec, project.id, user, getattr(request.app.state, "worker", None), settings.job_lease_s)
    return JobStarted(job=submitted.id, kind=kind, progress=f"/jobs/{submitted.id}", status=submitted.status)


@router.post(
    "/projects/{project_id}/jobs/draft",
    response_model=JobStarted,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def start_draft(
    project_id: Id, body: DraftRequest, user: CurrentUser, request: Request, store: StoreDep, settings: SettingsDep
) -> JobStarted:
    """Draft candidates in the background; a job with the same parameters resumes where it stopped."""
    return _start("draft", DraftSpec, project_id, body, user, request, store, settings)


@router.post(
    "/projects/{project_id}/jobs/judge",
    response_model=JobStarted,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def start_judge(
    project_id: Id, body: JudgeRequest, user: CurrentUser, request: Request, store: StoreDep, settings: SettingsDep
) -> JobStarted:
    """Judge pairs under a rubric version in the background (both orders by default); with `"mode": "pointwise"`
    score each response 1..N per criterion instead (a rubric with levels, e.g. sft-quality)."""
    try:
        return _start("judge", judge_spec, project_id, body, user, request, store, settings)
    except ValueError as exc:  # a request that does not fit the rubric (pointwise under a pairwise-only rubric)
        raise HTTPException(422, str(exc)) from None


@router.get("/jobs/{job_id}", response_model=JobPublic, responses=error_responses(401, 403, 404))
def get_job(job_id: str, user: CurrentUser, session: ReadSession) -> JobPublic:
    """Progress (`total`, `done`, `failed`, `status`, the lease) and one recorded error per failed item."""
    repo = Repository(session)
    job = repo.job(job_id)
    if job.project_id is not None:
        check_labels(repo, user, job.project_id, f"job {job_id!r}")
    errors = [{"item": e.item, "error": e.error} for e in repo.job_errors(job_id)]
    return JobPublic.of(job, errors)


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic, responses=error_responses(401, 403, 404, 409))
def cancel_job(job_id: str, user: CurrentUser, store: StoreDep) -> JobPublic:
    """Cancel a job (authors and admins of its project): a queued one at once, a running one at its next
    item (`cancelling` until its worker stops). Finished items stay stored; asking again starts afresh."""
    with store.write() as session:
        repo = Repository(session, user)
        job = repo.job(job_id)
        if job.project_id is None:
            if user.role != "admin":
                raise HTTPException(403, "only an admin may cancel a job outside a project")
        else:
            check_within(repo, user, job.project_id, f"job {job_id!r}", "author")
        return JobPublic.of(repo.cancel_job(job_id))
