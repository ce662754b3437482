"""Agreement: the project's report (people with each other, judges with people, bias, anchoring) and
the comparison of two rubric versions. Viewers, authors and admins of the project read them;
reviewers do not (see server.api.visibility). The report is computed by the agreement job and served
from storage until the labels change (server.agreement.stored)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from server.agreement.reports import AgreementReport, CompareReport, ReportOptions, compare_report
from server.agreement.stored import find
from server.api.deps import CurrentUser, Heavy, ReadSession, SettingsDep, StoreDep
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.visibility import check_labels
from server.jobs import enqueue
from server.jobs.agreement import AgreementSpec, served_report
from server.rubric_registry import resolve
from server.storage import Repository

router = APIRouter(tags=["agreement"])

Failed = Annotated[
    Literal["tie", "exclude"],
    Query(description="A pair whose judge verdicts all failed counts as a tie, or is left out."),
]
Resamples = Annotated[
    int, Query(ge=0, le=2_000, description="Bootstrap resamples for the intervals (0: none; the CLI allows more).")
]
Confidence = Annotated[float, Query(gt=0.5, lt=1, description="Coverage of the intervals.")]
Criterion = Annotated[str | None, Query(description="Score this criterion's outcomes instead of the overall outcome.")]
Seed = Annotated[int, Query(description="Seed of the bootstrap.")]


class RefreshStarted(BaseModel):
    """No report is stored for these parameters yet: the job computing one, to follow at `progress`."""

    job: str
    kind: str = "agreement"
    progress: str


@router.get(
    "/projects/{project_id}/agreement",
    response_model=AgreementReport,
    responses={**error_responses(401, 403, 404, 422, 429), 202: {"model": RefreshStarted}},
    dependencies=[Heavy],
)
def agreement(
    project_id: Id,
    user: CurrentUser,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    rubric: str | None = Query(default=None, description="NAME@VERSION (or NAME: its newest version)."),
    criterion: Criterion = None,
    failed: Failed = "tie",
    resamples: Resamples = 1000,
    confidence: Confidence = 0.95,
    seed: Seed = 0,
    hotspots: int = Query(default=20, ge=0, le=1000, description="How many disagreement hotspots to list."),
    wait: bool = Query(
        default=True,
        description="When the labels changed since the stored report: recompute before answering (true), or "
        "answer the stored report marked stale with the job recomputing it (false; 202 with the job when "
        "none is stored).",
    ),
) -> Any:
    """The agreement report, served from storage until the labels change; see `server.agreement.reports`
    for what counts and `server.agreement.stored` for when a stored report is current."""
    options = ReportOptions(
        rubric=rubric,
        criterion=criterion,
        failed=failed,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        hotspots=hotspots,
    )
    try:
        with store.read() as session:
            repo = Repository(session)
            check_labels(repo, user, project_id)
            if rubric:
                resolve(repo, rubric)  # an unknown version fails here, not in a job
            project, found = repo.project(project_id), find(repo, project_id, options)
            if found is not None and not found.stale:
                return found.report()
        if wait:
            return served_report(store, project_id, options, actor=user)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    spec = AgreementSpec(store, project.id, options)
    job_id = enqueue(store, spec, project.id, user, getattr(request.app.state, "worker", None), settings.job_lease_s).id
    if found is None:
        return JSONResponse(RefreshStarted(job=job_id, progress=f"/jobs/{job_id}").model_dump(), status_code=202)
    return found.report(refresh=job_id)


@router.get(
    "/projects/{project_id}/agreement/compare",
    response_model=CompareReport,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def compare(
    project_id: Id,
    user: CurrentUser,
    session: ReadSession,
    old: str = Query(description="NAME@VERSION before the edit."),
    new: str = Query(description="NAME@VERSION after the edit."),
    criterion: Criterion = None,
    failed: Failed = "tie",
    resamples: Resamples = 1000,
    confidence: Confidence = 0.95,
    seed: Seed = 0,
) -> CompareReport:
    """Each judge's change in agreement with the human reference from `old` to `new`, on the same pairs,
    with a paired bootstrap interval."""
    repo = Repository(session)
    check_labels(repo, user, project_id)
    options = ReportOptions(criterion=criterion, failed=failed, resamples=resamples, confidence=confidence, seed=seed)
    try:
        return compare_report(repo, project_id, old, new, options)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
