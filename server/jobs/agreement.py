"""The agreement report as a job: computed from the store once, then kept with its inputs' fingerprint.

The runner's per-item model fits with one item, the project: a report is one computation over every
label (its intervals resample all pairs at once), so it cannot be cut into items that commit on their
own. The job row still gives it what every job has: one run per identical request, its status and
error at ``GET /jobs/{id}``, resume of an interrupted row. The item is pending only while the stored
report is stale, so a job run again with nothing changed does nothing.

:func:`served_report` is what the CLI and the API call: the stored report when it is current, else the
job run to the end and its report.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from server.agreement.items import Progress
from server.agreement.models import AgreementReport, ReportOptions
from server.agreement.stored import Computed, compute, find, keep, report_params
from server.jobs.runner import ItemOutcome, JobResult, run_job
from server.storage import Repository, Store
from server.storage.records import Project
from server.storage.repos.annotators import Person


@dataclass
class AgreementSpec:
    """A :class:`~server.jobs.runner.JobSpec` over one item: the project whose report is recomputed."""

    store: Store
    project_id: int
    options: ReportOptions
    progress: Progress | None = None  # pairs read, of all pairs
    kind: Literal["agreement"] = "agreement"
    produced: str = "reports"

    @property
    def params(self) -> dict[str, Any]:
        return {"report": report_params(self.options)}

    @property
    def pinned(self) -> dict[str, Any]:
        return self.params  # nothing to resolve: a worker rebuilds the spec from the parameters

    @classmethod
    def from_params(cls, store: Store, project_id: int, params: dict[str, Any]) -> AgreementSpec:
        """The spec a job row describes (a worker that picks up the row rebuilds it from this)."""
        options = {k: v for k, v in params["report"].items() if k != "format"}
        return cls(store, project_id, ReportOptions.model_validate(options))

    def items(self) -> list[int]:
        return [self.project_id]

    def pending(self, item: int) -> bool:
        with self.store.read() as session:
            found = find(Repository(session), item, self.options)
        return found is None or found.stale

    async def work(self, item: int, todo: bool) -> Computed:
        return await asyncio.to_thread(self._compute, item)

    def _compute(self, item: int) -> Computed:
        with self.store.read() as session:
            return compute(Repository(session), item, self.options, self.progress)

    def save(self, repo: Repository, job_id: str, item: int, todo: bool, done: Computed | None) -> ItemOutcome:
        if done is None:
            return ItemOutcome()
        keep(repo, item, self.options, done, job_id)
        counts = done.report.counts
        return ItemOutcome(counts={"reports": 1, "pairs": counts.pairs, "rankings": counts.rankings})

    def result(self, counts: Counter[str], failed_items: int) -> dict[str, int]:
        return {"failed": failed_items}


async def agreement_job(
    store: Store,
    project: Project,
    options: ReportOptions,
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
    on_start: Callable[[str], None] | None = None,
) -> JobResult:
    """Recompute and store a project's report unless the stored one is current."""
    spec = AgreementSpec(store, project.id, options, progress)
    return await run_job(store, project, spec, actor=actor, concurrency=1, on_start=on_start)


def _wait(store: Store, job_id: str, poll_s: float = 0.2) -> None:
    """Wait for a job this process runs on another thread (the runner ran it once, for its first caller)."""
    while True:
        with store.read() as session:
            if Repository(session).job(job_id).status != "running":
                return
        time.sleep(poll_s)


def served_report(
    store: Store,
    project_id: int,
    options: ReportOptions,
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
) -> AgreementReport:
    """The project's report: the stored one while the labels are unchanged, else recomputed by the job.

    Raises:
        NotFound: the project or the rubric version does not exist.
        ValueError: a bad rubric reference or an unknown criterion.
    """
    with store.read() as session:
        repo = Repository(session)
        project = repo.project(project_id)
        found = find(repo, project_id, options)
    if found is not None and not found.stale:
        return found.report()
    result = asyncio.run(agreement_job(store, project, options, actor=actor, progress=progress))
    if result.status == "running":
        _wait(store, result.job)
    with store.read() as session:
        found = find(Repository(session), project_id, options)
    if found is None:
        raise RuntimeError(f"agreement job {result.job} stored no report")
    return found.report()
