"""Exports: write a TRL-ready dataset for a project and download it as a zip."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException
from fastapi.responses import FileResponse

from server.api.deps import CurrentUser, Heavy, ReadSession, SettingsDep, StoreDep, check_project
from server.api.errors import error_responses
from server.api.limits import Id
from server.api.visibility import check_labels
from server.export.stored import ExportOptions, export_project
from server.storage import NotFound, Repository

router = APIRouter(tags=["export"])


@router.post(
    "/projects/{project_id}/exports",
    status_code=201,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Heavy],
)
def create_export(
    project_id: Id, body: ExportOptions, user: CurrentUser, store: StoreDep, settings: SettingsDep
) -> dict[str, Any]:
    """Export now (it takes seconds for tens of thousands of pairs); the reply holds the manifest."""
    with store.read() as session:
        project = check_project(Repository(session), user, project_id, "author")
    out = settings.home / "exports" / project.name / uuid.uuid4().hex[:12]
    try:
        job_id, manifest = export_project(store, project, body, out, actor=user)
    except ValueError as exc:  # options that do not fit the project's data (an unknown judge, …)
        raise HTTPException(422, str(exc)) from None
    return {"job": job_id, "manifest": manifest.model_dump(mode="json")}


@router.get(
    "/exports/{job_id}/download",
    response_class=FileResponse,
    responses=error_responses(401, 403, 404, 429),
    dependencies=[Heavy],
)
def download(job_id: str, user: CurrentUser, session: ReadSession, tasks: BackgroundTasks) -> FileResponse:
    """The export's folder (dataset, Parquet, JSONL, manifest) as one zip file."""
    repo = Repository(session)
    job = repo.job(job_id)
    if job.kind != "export" or job.status != "done" or job.project_id is None:
        raise NotFound(f"export {job_id} not found")
    check_labels(repo, user, job.project_id, f"export {job_id}")
    folder = Path(job.result["out"])
    if not folder.is_dir():
        raise NotFound(f"export {job_id}: its files are gone from {folder}")
    scratch = Path(tempfile.mkdtemp(prefix="rubricate-zip-"))
    archive = shutil.make_archive(str(scratch / folder.name), "zip", root_dir=folder)
    tasks.add_task(shutil.rmtree, scratch, ignore_errors=True)
    return FileResponse(archive, media_type="application/zip", filename=f"{job_id}.zip")
