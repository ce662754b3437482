"""The durable job queue on the job table: submit, claim with a lease, heartbeat, fence, finish, cancel.

A draft or judge job is a row. :meth:`JobQueue.submit_job` adds it `queued` (or returns the active job
of the same kind and parameters: the partial unique index ``uq_jobs_active_digest`` lets the database,
not a process, hold one queued/running job per identical request). A worker claims it for a lease
(``lease_owner``, ``lease_expires_at``), renews the lease while it runs (:meth:`renew_leases`, the
heartbeat), and every write it makes for the job is fenced by :meth:`hold_job`: a worker whose lease
expired and was claimed by another writes nothing more. A dead worker's job is claimed again once its
lease has expired, and resumes (finished items are stored and skipped).

Claims: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never take or wait on the same
row; on SQLite a write transaction is ``BEGIN IMMEDIATE`` (one writer at a time across processes), so the
select and the update of a claim are one atomic step, as one conditional ``UPDATE`` would be, and both
go through the ORM so the audit flush hook records every claim (a Core ``UPDATE`` would bypass it). Only
the heartbeat is a Core ``UPDATE``: it moves the lease expiry, bookkeeping the audit skips.

Why not ``procrastinate``: it is PostgreSQL-only (no SQLite connector, and SQLite is our default store),
so SQLite would need this table anyway; two queues would mean two code paths, two schemas (its own SQL
migrations beside Alembic) and job writes outside our storage layer and its audit hook. Its queueing
lock bounds only *waiting* jobs, where we need one job per identical request queued *or running*.

>>> sorted(ACTIVE)
['cancelling', 'interrupted', 'queued', 'running']
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.storage import records
from server.storage.repos.base import Conflict, NotFound, UnitOfWork, digest
from server.storage.tables import Job, utcnow

ACTIVE = ("queued", "running", "cancelling", "interrupted")  # tables.ACTIVE_JOBS: one per digest
LEASED = ("running", "cancelling")  # a worker holds these
FINAL = ("done", "failed", "cancelled")


class LeaseLost(RuntimeError):
    """This worker no longer holds the job: its lease expired and another worker claimed it."""


@dataclass(frozen=True)
class JobCounts:
    """A job's progress as its worker writes it: items in all, done so far, failed among them."""

    total: int
    done: int
    failed: int


@dataclass(frozen=True)
class Submitted:
    """What submitting a job did: its id, whether the row is new, whether the caller now holds it."""

    id: str
    created: bool
    claimed: bool
    status: str


def job_digest(kind: str, project_id: int | None, params: dict[str, Any]) -> str:
    """The identity of a request: kind, project and parameters (the active job with it is reused)."""
    return digest({"kind": kind, "project": project_id, "params": params})


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands DateTime values back without their zone; they are stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _expired(now: datetime) -> ColumnElement[bool]:
    return or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now)


def _claimable(now: datetime, waiting: tuple[str, ...] = ("queued",)) -> ColumnElement[bool]:
    """Waiting for a worker, or running under a lease that has run out (its worker died)."""
    return or_(Job.status.in_(waiting), and_(Job.status == "running", _expired(now)))


class JobQueue(UnitOfWork):
    """The job table as a queue of leased work; every method runs in the caller's transaction."""

    def _active(self, key: str) -> Job | None:
        query = select(Job).where(Job.digest == key, Job.status.in_(ACTIVE)).execution_options(populate_existing=True)
        return self.session.scalars(query).first()

    def _take(self, job: Job, owner: str, lease_s: float, now: datetime) -> None:
        job.status, job.lease_owner, job.heartbeat_at = "running", owner, now
        job.lease_expires_at = now + timedelta(seconds=lease_s)
        job.attempts = (job.attempts or 0) + 1
        job.updated_at = now

    def submit_job(
        self,
        kind: str,
        project_id: int | None,
        params: dict[str, Any],
        request: dict[str, Any],
        *,
        total: int = 0,
        owner: str | None = None,
        lease_s: float = 30.0,
    ) -> Submitted:
        """Queue a job, or find the active one with the same kind, project and parameters; with `owner`,
        also claim it for `owner` when it is free (the CLI runs its job in its own process)."""
        key = job_digest(kind, project_id, params)
        job = self._active(key)
        if job is None:
            job = Job(id=str(uuid.uuid4()), kind=kind, project_id=project_id, params=params, request=request,
                      digest=key, total=total, status="queued", attempts=0,
                      created_by=self.actor.id if self.actor else None)  # fmt: skip
            if owner is not None:
                self._take(job, owner, lease_s, utcnow())
            try:
                with self.session.begin_nested():
                    self.session.add(job)
            except IntegrityError:  # another process inserted the same request first: that one is the job
                job = self._active(key)
                if job is None:
                    raise
            else:
                return Submitted(job.id, True, owner is not None, job.status)
        claimed = owner is not None and self.claim_job(job.id, owner, lease_s)
        if not claimed and job.status == "interrupted":
            job.status = "queued"  # asked for again: a worker resumes it
        return Submitted(job.id, False, claimed, job.status)

    def claim_job(self, job_id: str, owner: str, lease_s: float) -> bool:
        """Claim this job for `owner` if it is free: queued, interrupted, or its worker's lease ran out."""
        now = utcnow()
        query = select(Job).where(Job.id == job_id, _claimable(now, ("queued", "interrupted"))).with_for_update()
        job = self.session.scalars(query.execution_options(populate_existing=True)).first()
        if job is None:
            return False
        self._take(job, owner, lease_s, now)
        return True

    def claim_next(self, owner: str, lease_s: float, kinds: tuple[str, ...]) -> str | None:
        """Claim the oldest job of these kinds that waits for a worker (or whose worker died); its id."""
        now = utcnow()
        for abandoned in self.session.scalars(
            select(Job).where(Job.status == "cancelling", _expired(now)).with_for_update(skip_locked=True)
        ):
            abandoned.status, abandoned.lease_owner = "cancelled", None  # cancelled, and its worker is gone
        query = (
            select(Job)
            .where(Job.kind.in_(kinds), Job.digest.is_not(None), _claimable(now))
            .order_by(Job.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        job = self.session.scalars(query.execution_options(populate_existing=True)).first()
        if job is None:
            return None
        self._take(job, owner, lease_s, now)
        return job.id

    def has_claimable_job(self, kinds: tuple[str, ...]) -> bool:
        """A read, for idle workers: is there anything to claim (so they take the write lock only then)?"""
        now = utcnow()
        waiting = and_(Job.kind.in_(kinds), Job.digest.is_not(None), _claimable(now))
        abandoned = and_(Job.status == "cancelling", _expired(now))
        return self.session.scalars(select(Job.id).where(or_(waiting, abandoned)).limit(1)).first() is not None

    def renew_leases(self, owner: str, lease_s: float, job_ids: list[str] | None = None) -> dict[str, str]:
        """The heartbeat: extend the leases `owner` holds (only these jobs, if named: the ones it is still
        running); the jobs it still holds, with their status."""
        now = utcnow()
        mine = and_(Job.lease_owner == owner, Job.status.in_(LEASED))
        if job_ids is not None:
            mine = and_(mine, Job.id.in_(job_ids))
        self.session.execute(
            update(Job)
            .where(mine)
            .values(lease_expires_at=now + timedelta(seconds=lease_s), heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        return {row.id: row.status for row in self.session.execute(select(Job.id, Job.status).where(mine))}

    def hold_job(self, job_id: str, owner: str) -> str:
        """The fence before a worker writes for a job: its status (the row locked on PostgreSQL) if `owner`
        holds it, else LeaseLost. Two columns, not the row: it runs once per item."""
        query = select(Job.lease_owner, Job.status).where(Job.id == job_id).with_for_update()
        row = self.session.execute(query).first()
        if row is None:
            raise NotFound(f"job {job_id!r} not found")
        if row.lease_owner != owner or row.status not in LEASED:
            raise LeaseLost(f"job {job_id} is held by {row.lease_owner or 'nobody'} ({row.status}), not {owner}")
        return str(row.status)

    def _progress(self, job_id: str, owner: str, counts: JobCounts | None) -> Job:
        self.hold_job(job_id, owner)
        job = self.session.scalars(select(Job).where(Job.id == job_id).execution_options(populate_existing=True)).one()
        if counts is not None:
            job.total, job.done, job.failed = counts.total, counts.done, counts.failed
        job.updated_at = utcnow()
        return job

    def record_progress(self, job_id: str, owner: str, counts: JobCounts) -> records.Job:
        """Write a held job's progress; raises LeaseLost if `owner` does not hold it."""
        return records.Job.of(self._progress(job_id, owner, counts))

    def end_lease(
        self,
        job_id: str,
        owner: str,
        status: str,
        counts: JobCounts | None = None,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> records.Job:
        """A held job ends (done, failed, cancelled) or goes back (queued, interrupted): the lease is freed.

        A job cancelled while it was held ends `cancelled` unless it ended anyway (done or failed).
        """
        job = self._progress(job_id, owner, counts)
        if result is not None:
            job.result = result
        if error is not None:
            job.error = error
        if job.status == "cancelling" and status not in ("done", "failed"):
            status = "cancelled"
        job.status, job.lease_owner, job.lease_expires_at = status, None, None
        return records.Job.of(job)

    def cancel_job(self, job_id: str) -> records.Job:
        """Cancel a job: at once if no worker runs it, else `cancelling` until its worker stops at the next item."""
        job = self.session.scalars(
            select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
        ).first()
        if job is None:
            raise NotFound(f"job {job_id!r} not found")
        if job.status in FINAL:
            raise Conflict(f"job {job_id} is already {job.status}")
        lease_over = (expiry := _aware(job.lease_expires_at)) is None or expiry < utcnow()
        if job.status in ("queued", "interrupted") or (job.status in LEASED and lease_over):
            job.status, job.lease_owner, job.lease_expires_at = "cancelled", None, None
        elif job.status == "running":
            job.status = "cancelling"
        job.updated_at = utcnow()
        return records.Job.of(job)
