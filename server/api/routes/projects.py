"""Projects, their members, import and paginated pairs with labels."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from server.api.deps import (
    CurrentUser,
    Heavy,
    ReadSession,
    SettingsDep,
    StoreDep,
    check_project,
    check_within,
    project_role,
    require_role,
)
from server.api.errors import error_responses
from server.api.limits import Id, Offset
from server.api.schemas import (
    AnnotatorCreate,
    AnnotatorCreated,
    AnnotatorPublic,
    ImportRequest,
    Page,
    PairPublic,
    ProjectCreate,
    ProjectPublic,
)
from server.api.visibility import may_read_labels
from server.imports.schema import ImportSummary
from server.imports.service import import_rows
from server.routing.store import decisions
from server.storage import Repository

router = APIRouter(tags=["projects"])


@router.get("/projects", response_model=list[ProjectPublic], responses=error_responses(401))
def list_projects(user: CurrentUser, session: ReadSession) -> list[ProjectPublic]:
    repo = Repository(session)
    return [
        ProjectPublic(id=p.id, name=p.name, description=p.description, role=project_role(repo, user, p.id)[1])
        for p in repo.projects_for(user)
    ]


@router.post("/projects", status_code=201, response_model=ProjectPublic, responses=error_responses(401, 403, 409, 422))
def create_project(body: ProjectCreate, user: CurrentUser, store: StoreDep) -> ProjectPublic:
    require_role(user, "author")
    with store.write() as session:
        repo = Repository(session, user)
        project = repo.create_project(body.name, body.description)
        repo.add_member(project, user)
        return ProjectPublic(id=project.id, name=project.name, description=project.description, role=user.role)


@router.get("/projects/{project_id}", response_model=ProjectPublic, responses=error_responses(401, 404))
def get_project(project_id: Id, user: CurrentUser, session: ReadSession) -> ProjectPublic:
    repo = Repository(session)
    project, role = project_role(repo, user, project_id)
    return ProjectPublic(
        id=project.id,
        name=project.name,
        description=project.description,
        role=role,
        counts=repo.project_counts(project.id),
    )


@router.post(
    "/projects/{project_id}/import",
    response_model=ImportSummary,
    responses=error_responses(401, 403, 404, 413, 422, 429),
    dependencies=[Heavy],
)
def import_into(
    project_id: Id, body: ImportRequest, user: CurrentUser, store: StoreDep, settings: SettingsDep
) -> ImportSummary:
    with store.read() as session:
        project = check_project(Repository(session), user, project_id, "author")
    if body.labels_as_accounts:
        require_role(user, "admin")
    scrub = None
    if body.deidentify:  # Presidio and spaCy load only when asked for
        from server.imports.deidentify import deidentifier

        scrub = deidentifier(settings.deidentify_names_model)
    return import_rows(
        store,
        [(f"rows[{i}]", row) for i, row in enumerate(body.rows)],
        project=project.name,
        actor=user,
        labels_as_accounts=body.labels_as_accounts,
        deidentify=scrub,
    )


@router.get("/projects/{project_id}/pairs", response_model=Page, responses=error_responses(401, 404))
def list_pairs(
    project_id: Id,
    user: CurrentUser,
    session: ReadSession,
    offset: Offset = 0,
    limit: int = Query(50, ge=1, le=500),
) -> Page:
    repo = Repository(session)
    _, role = project_role(repo, user, project_id)
    with_labels = may_read_labels(role)  # reviewers: no one's rankings, no verdicts (server.api.visibility)
    views = repo.pair_views(repo.pairs(project_id, offset=offset, limit=limit))
    # a routing decision names the judge's outcome: a label, so reviewers do not get it either
    routed = decisions(session, project_id, [v.pair.id for v in views]) if with_labels else {}
    return Page(
        items=[PairPublic.of(v, with_labels=with_labels, routing=routed.get(v.pair.id)) for v in views],
        total=repo.count_pairs(project_id),
        offset=offset,
        limit=limit,
    )


@router.get("/pairs/{pair_id}", response_model=PairPublic, responses=error_responses(401, 404))
def get_pair(pair_id: Id, user: CurrentUser, session: ReadSession) -> PairPublic:
    repo = Repository(session)
    pair = repo.pair(pair_id)
    check_within(repo, user, pair.project_id, f"pair {pair_id}")
    _, role = project_role(repo, user, pair.project_id)
    with_labels = may_read_labels(role)
    routed = decisions(session, pair.project_id, [pair.id]).get(pair.id) if with_labels else None
    return PairPublic.of(repo.pair_views([pair])[0], with_labels=with_labels, routing=routed)


@router.post(
    "/annotators",
    status_code=201,
    response_model=AnnotatorCreated,
    responses=error_responses(401, 403, 409, 422),
)
def create_annotator(body: AnnotatorCreate, user: CurrentUser, store: StoreDep) -> AnnotatorCreated:
    require_role(user, "admin")
    with store.write() as session:
        annotator, token = Repository(session, user).create_annotator(body.name, body.role)
    if token is None:
        raise HTTPException(500, "no token was made")
    return AnnotatorCreated(id=annotator.id, name=annotator.name, role=annotator.role, token=token)


@router.get("/me", response_model=AnnotatorPublic, responses=error_responses(401))
def me(user: CurrentUser) -> AnnotatorPublic:
    return AnnotatorPublic(id=user.id, name=user.name, role=user.role)
