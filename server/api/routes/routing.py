"""Certified routing: calibrations (authors make them; viewers, authors and admins read them), routing and
estimates. Reviewers get 403 on every read here: a calibration, an estimate and the routing status are
reports built from other people's labels and the judges' verdicts (server.api.visibility)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from server.api.deps import CurrentUser, ReadSession, StoreDep, check_project
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.visibility import check_labels
from server.routing.service import (
    CalibrateRequest,
    EstimateReport,
    RoutingResult,
    RoutingStatus,
    calibrate_project,
    estimate_project,
    route_project,
    routing_status,
)
from server.routing.store import CalibrationRecord, calibration_record, calibration_records
from server.storage import Repository

router = APIRouter(tags=["routing"])


def _author(store: StoreDep, user: CurrentUser, project_id: int) -> None:
    with store.read() as session:
        check_project(Repository(session), user, project_id, "author")


@router.post(
    "/projects/{project_id}/calibrations",
    status_code=201,
    response_model=CalibrationRecord,
    responses=error_responses(401, 403, 404, 422),
)
def create_calibration(project_id: Id, body: CalibrateRequest, user: CurrentUser, store: StoreDep) -> CalibrationRecord:
    """Calibrate a threshold per judge (a cascade, cheapest first) on the project's human-labelled pairs."""
    _author(store, user, project_id)
    try:
        return calibrate_project(store, project_id, body, actor=user)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get(
    "/projects/{project_id}/calibrations",
    response_model=list[CalibrationRecord],
    responses=error_responses(401, 403, 404),
)
def list_calibrations(project_id: Id, user: CurrentUser, session: ReadSession) -> list[CalibrationRecord]:
    check_labels(Repository(session), user, project_id)
    return calibration_records(session, project_id)


@router.get(
    "/projects/{project_id}/calibrations/{calibration_id}",
    response_model=CalibrationRecord,
    responses=error_responses(401, 403, 404),
)
def get_calibration(project_id: Id, calibration_id: Id, user: CurrentUser, session: ReadSession) -> CalibrationRecord:
    check_labels(Repository(session), user, project_id)
    return calibration_record(session, project_id, calibration_id)


@router.post(
    "/projects/{project_id}/calibrations/{calibration_id}/route",
    response_model=RoutingResult,
    responses=error_responses(401, 403, 404, 422),
)
def route(project_id: Id, calibration_id: Id, user: CurrentUser, store: StoreDep) -> RoutingResult:
    """Accept or escalate every pair without a human reference; replaces the project's earlier routing."""
    _author(store, user, project_id)
    try:
        return route_project(store, project_id, calibration_id, actor=user)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get(
    "/projects/{project_id}/calibrations/{calibration_id}/estimate",
    response_model=EstimateReport,
    responses=error_responses(401, 403, 404, 422),
)
def estimate(
    project_id: Id,
    calibration_id: Id,
    user: CurrentUser,
    store: StoreDep,
    delta: float = Query(0.1, gt=0, lt=1, description="Intervals at two-sided level 1−δ."),
) -> EstimateReport:
    """Outcome shares with PPI++ intervals beside human-only and judge-only, and what the judge was worth."""
    with store.read() as session:
        check_labels(Repository(session), user, project_id)
    try:
        return estimate_project(store, project_id, calibration_id, delta=delta)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/projects/{project_id}/routing", response_model=RoutingStatus, responses=error_responses(401, 403, 404))
def status(project_id: Id, user: CurrentUser, store: StoreDep) -> RoutingStatus:
    """The project's current routing: its calibration, coverage per judge, and the human labels it saves."""
    with store.read() as session:
        check_labels(Repository(session), user, project_id)
    return routing_status(store, project_id)
