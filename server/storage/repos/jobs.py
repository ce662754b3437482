"""Job rows, their errors, and the LLM result cache the jobs fill.

Part of :class:`server.storage.repository.Repository`, over its one session; reads and writes return frozen
records (:mod:`server.storage.records`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.storage import records
from server.storage.repos.base import NotFound, UnitOfWork
from server.storage.tables import (
    CacheEntry,
    Job,
    JobError,
    utcnow,
)


class Jobs(UnitOfWork):
    """Job rows, their errors, and the LLM result cache the jobs fill."""

    def create_job(
        self, job_id: str, kind: str, project_id: int | None, params: dict[str, Any], total: int = 0
    ) -> records.Job:
        job = Job(
            id=job_id,
            kind=kind,
            project_id=project_id,
            params=params,
            total=total,
            created_by=self.actor.id if self.actor else None,
        )
        self.session.add(job)
        self.session.flush()
        return records.Job.of(job)

    def _job_row(self, job_id: str) -> Job:
        job = self.session.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} not found")
        return job

    def job(self, job_id: str) -> records.Job:
        return records.Job.of(self._job_row(job_id))

    def update_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        total: int | None = None,
        done: int | None = None,
        failed: int | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> records.Job:
        """Record a job's progress or end: only the fields given change."""
        job = self._job_row(job_id)
        changes = {"status": status, "total": total, "done": done, "failed": failed, "result": result, "error": error}
        for name, value in changes.items():
            if value is not None:
                setattr(job, name, value)
        job.updated_at = utcnow()
        self.session.flush()
        return records.Job.of(job)

    def add_job_error(self, job_id: str, item: str, error: str) -> None:
        self.session.add(JobError(job_id=job_id, item=item, error=error))

    def job_errors(self, job_id: str) -> list[records.JobError]:
        rows = self.session.scalars(select(JobError).where(JobError.job_id == job_id).order_by(JobError.id))
        return [records.JobError.of(row) for row in rows]

    def jobs(self, project_id: int | None = None) -> list[records.Job]:
        query = select(Job).order_by(Job.created_at.desc())
        if project_id is not None:
            query = query.where(Job.project_id == project_id)
        return [records.Job.of(row) for row in self.session.scalars(query)]

    def cache_get(self, key: str) -> dict[str, Any] | None:
        entry = self.session.get(CacheEntry, key)
        return entry.value if entry else None

    def cache_put(self, key: str, value: dict[str, Any]) -> None:
        if self.session.get(CacheEntry, key) is None:
            self.session.add(CacheEntry(key=key, value=value))
