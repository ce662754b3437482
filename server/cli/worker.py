"""`rubricate worker`: run queued draft and judge jobs; `rubricate job cancel|show`: a job by its id."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from server.api.schemas import JobPublic
from server.cli.common import JsonOpt, emit, out, settings, store, user_errors
from server.jobs import Worker
from server.llm import make_backend
from server.storage import Repository

job_app = typer.Typer(no_args_is_help=True, help="One job by its id: show or cancel it.")


def worker(
    once: Annotated[bool, typer.Option("--once", help="Wait for one job, run it, exit.")] = False,
    lease_s: Annotated[float | None, typer.Option("--lease-s", help="Lease length (RUBRICATE_JOB_LEASE_S).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Jobs at once (RUBRICATE_WORKER_JOBS).")] = None,
    poll_s: Annotated[float, typer.Option("--poll-s", help="How often an idle worker looks for work.")] = 1.0,
) -> None:
    """Claim queued jobs (and jobs whose worker died) and run them under a lease; SIGTERM gives them back."""
    config = settings()
    db = store()
    runner = Worker(db, lambda model: make_backend(config, db, model), lease_s=lease_s or config.job_lease_s,
                    slots=jobs or config.worker_jobs, poll_s=poll_s)  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger(__name__).info("worker %s on %s", runner.owner, config.database_url)

    async def serve() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, runner.stop)
        return await runner.serve(once=once)

    started = asyncio.run(serve())
    out.print(f"worker {runner.owner} stopped after {started} job(s)")


def _show(job_id: str) -> JobPublic:
    with store().read() as session:
        repo = Repository(session)
        job = repo.job(job_id)
        return JobPublic.of(job, [{"item": e.item, "error": e.error} for e in repo.job_errors(job_id)])


def _line(job: JobPublic) -> None:
    holder = f", held by {job.lease_owner}" if job.lease_owner else ""
    out.print(f"{job.kind} job {job.id} {job.status}: {job.done}/{job.total} done, {job.failed} failed, "
              f"claimed {job.attempts} time(s){holder}")  # fmt: skip


@job_app.command("show")
def show(job_id: str, as_json: JsonOpt = False) -> None:
    """A job's status, progress, lease and recorded errors."""
    with user_errors():
        job = _show(job_id)
    emit(job, as_json, lambda: _line(job))


@job_app.command("cancel")
def cancel(job_id: str, as_json: JsonOpt = False) -> None:
    """Cancel a job: a queued one at once, a running one at its next item (finished items stay stored)."""
    with user_errors(), store().write() as session:
        job = JobPublic.of(Repository(session).cancel_job(job_id))
    emit(job, as_json, lambda: _line(job))
