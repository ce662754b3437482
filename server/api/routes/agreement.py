"""Agreement: the project's report (people with each other, judges with people, bias, anchoring) and
the comparison of two rubric versions. Viewers, authors and admins of the project read them;
reviewers do not (see server.api.visibility)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from server.agreement.reports import AgreementReport, CompareReport, ReportOptions, agreement_report, compare_report
from server.api.deps import CurrentUser, Heavy, ReadSession
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.visibility import check_labels
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


@router.get(
    "/projects/{project_id}/agreement",
    response_model=AgreementReport,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def agreement(
    project_id: Id,
    user: CurrentUser,
    session: ReadSession,
    rubric: str | None = Query(default=None, description="NAME@VERSION (or NAME: its newest version)."),
    criterion: Criterion = None,
    failed: Failed = "tie",
    resamples: Resamples = 1000,
    confidence: Confidence = 0.95,
    seed: Seed = 0,
    hotspots: int = Query(default=20, ge=0, le=1000, description="How many disagreement hotspots to list."),
) -> AgreementReport:
    """The agreement report; see `server.agreement.reports` for what counts."""
    repo = Repository(session)
    check_labels(repo, user, project_id)
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
        return agreement_report(repo, project_id, options)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


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
