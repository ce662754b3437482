"""Agreement reports kept in the store with their inputs' fingerprint, served until the labels change.

A report over a million rankings takes minutes to read and compute, and is read far more often
than the labels under it change. So a computed report is stored (table ``stored_reports``, one row per
project and parameters) with the **fingerprint** of what it was computed from: its parameters, the
report format, and :meth:`~server.storage.repos.reports.Reports.label_state` — rows and newest id of the
project's pairs, rankings, verdicts, adjudications, calibrations and routing decisions, the audit events
and newest event id of each (so a label changed in place, an adjudication overturned, a failed verdict
answered again or a pair marked gold counts too), and the published rubric versions. A request serves
the stored report while the store's fingerprint still matches; otherwise the report is stale and the
agreement job (:mod:`server.jobs.agreement`) recomputes it.

>>> fingerprint({"rankings": [3, 7]}, ReportOptions()) == fingerprint({"rankings": [3, 7]}, ReportOptions())
True
>>> fingerprint({"rankings": [3, 7]}, ReportOptions()) == fingerprint({"rankings": [4, 8]}, ReportOptions())
False
>>> fingerprint({"rankings": [3, 7]}, ReportOptions()) == fingerprint({"rankings": [3, 7]}, ReportOptions(seed=1))
False
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from server.agreement.items import Progress
from server.agreement.models import AgreementReport, ReportOptions, StoredRef
from server.agreement.reports import finish_report, read_project
from server.storage import Repository
from server.storage.records import StoredReport
from server.storage.repos.annotators import utc
from server.storage.repos.base import digest

KIND = "agreement"
FORMAT = 1  # bump when what a report says or its shape changes: every stored report is then stale


def report_params(options: ReportOptions) -> dict[str, Any]:
    """The parameters a stored report is kept under (its job's parameters too)."""
    return {"format": FORMAT, **options.model_dump()}


def fingerprint(state: dict[str, Any], options: ReportOptions) -> str:
    """Digest of a label state (:meth:`Reports.label_state`) and the report's parameters."""
    return digest({"params": report_params(options), "labels": state})


def current_fingerprint(repo: Repository, project_id: int, options: ReportOptions) -> str:
    """The fingerprint a report computed now would carry (a few aggregate queries over indexes)."""
    return fingerprint(repo.label_state(project_id), options)


@dataclass(frozen=True)
class Computed:
    """A report just computed, the fingerprint of what it read, and where its time went."""

    report: AgreementReport
    fingerprint: str
    read_s: float
    compute_s: float


def compute(repo: Repository, project_id: int, options: ReportOptions, progress: Progress | None = None) -> Computed:
    """Read the labels and compute the report, the fingerprint taken first.

    Labels written while it reads can only make the stored report stale, never fresh with old numbers.
    """
    taken = current_fingerprint(repo, project_id, options)
    started = time.perf_counter()
    project, rubric = read_project(repo, project_id, options, progress)
    read = time.perf_counter()
    found = finish_report(repo, project, options, rubric)
    return Computed(found, taken, read - started, time.perf_counter() - read)


def keep(repo: Repository, project_id: int, options: ReportOptions, computed: Computed, job_id: str | None) -> None:
    """Store a computed report under its parameters, replacing the one stored before."""
    params = report_params(options)
    repo.store_report(
        project_id=project_id,
        kind=KIND,
        params_key=digest(params),
        params=params,
        fingerprint=computed.fingerprint,
        value=computed.report.model_dump(mode="json", exclude={"stored"}),
        job_id=job_id,
        read_s=round(computed.read_s, 3),
        compute_s=round(computed.compute_s, 3),
    )


@dataclass(frozen=True)
class Found:
    """The stored report for some parameters, and whether the labels changed since it was computed."""

    row: StoredReport
    stale: bool

    def report(self, refresh: str | None = None) -> AgreementReport:
        """The stored report as served, its `stored` part saying where it came from."""
        row = self.row
        ref = StoredRef(
            fingerprint=row.fingerprint,
            computed_at=utc(row.computed_at),  # SQLite hands back naive UTC
            job=row.job_id,
            read_s=row.read_s,
            compute_s=row.compute_s,
            stale=self.stale,
            refresh=refresh,
        )
        return AgreementReport.model_validate({**row.value, "stored": ref})


def find(repo: Repository, project_id: int, options: ReportOptions) -> Found | None:
    """The stored report for these parameters (None: never computed), fresh or stale."""
    row = repo.stored_report(project_id, KIND, digest(report_params(options)))
    if row is None:
        return None
    return Found(row, stale=row.fingerprint != current_fingerprint(repo, project_id, options))
