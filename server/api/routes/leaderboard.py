"""The model leaderboard of a project: who reads it is who reads the agreement report (server.api.visibility)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from server.api.deps import CurrentUser, Heavy, ReadSession
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.visibility import check_labels
from server.leaderboard.models import Leaderboard, LeaderboardOptions, Source
from server.leaderboard.stored import leaderboard as project_leaderboard
from server.storage import Repository

router = APIRouter(tags=["leaderboard"])


@router.get(
    "/projects/{project_id}/leaderboard",
    response_model=Leaderboard,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def leaderboard(
    project_id: Id,
    user: CurrentUser,
    session: ReadSession,
    source: Annotated[Source, Query(description="humans | judge | certified, as the export reads labels.")] = "humans",
    judge: Annotated[str | None, Query(max_length=200, description="Judge model for source=judge.")] = None,
    rubric: Annotated[str | None, Query(max_length=300, description="NAME@VERSION (or NAME: its newest).")] = None,
    baseline: Annotated[str | None, Query(max_length=200, description="Win rates against this model.")] = None,
    resamples: Annotated[int, Query(ge=0, le=2_000, description="Bootstrap resamples of the ratings.")] = 1000,
    confidence: Annotated[float, Query(gt=0.5, lt=1, description="Coverage of the intervals.")] = 0.95,
    seed: Annotated[int, Query(description="Seed of the bootstrap.")] = 0,
    calibration: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Add PPI++ win rates.")] = None,
    delta: Annotated[float, Query(gt=0, lt=1, description="PPI intervals at level 1−δ.")] = 0.1,
) -> Leaderboard:
    """Per pair of models (win, lose, tie); per model a Bradley–Terry rating with its interval and win rates."""
    repo = Repository(session)
    check_labels(repo, user, project_id)
    options = LeaderboardOptions(
        source=source,
        judge=judge,
        rubric=rubric,
        baseline=baseline,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        calibration=calibration,
        delta=delta,
    )
    try:
        return project_leaderboard(repo, project_id, options)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
