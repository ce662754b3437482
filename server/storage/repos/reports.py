"""Stored reports and the label state they are fingerprinted with.

Part of :class:`server.storage.repository.Repository`, over its one session. A stored report is derived
data (not audited, like the LLM cache); the label state is read in a few index-only aggregate queries,
never row by row, so checking whether a million-ranking project's report is still current is cheap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.storage.repos.base import UnitOfWork
from server.storage.tables import (
    Adjudication,
    AuditEvent,
    Calibration,
    Pair,
    Ranking,
    RoutingDecision,
    RubricVersion,
    StoredReport,
    Verdict,
    utcnow,
)

LABEL_TABLES = {
    "pairs": Pair,
    "rankings": Ranking,
    "verdicts": Verdict,
    "calibrations": Calibration,
    "routing_decisions": RoutingDecision,
}
"""Tables with a project column whose rows a report reads; their audit events also count."""
CHANGED = (*LABEL_TABLES, "adjudications")  # audit object types whose writes change what a report says


class Reports(UnitOfWork):
    """Stored reports and the label state they are fingerprinted with."""

    def label_state(self, project_id: int) -> dict[str, list[int]]:
        """(rows, newest id) of each label table of a project, and (events, newest id) of its audit events
        per label table: inserts show in the tables (however they were written), in-place changes and
        deletions in the audit log (every ORM write appends one event)."""
        state: dict[str, list[int]] = {}
        for name, table in LABEL_TABLES.items():
            count, newest = self.session.execute(
                select(func.count(), func.max(table.id)).where(table.project_id == project_id)
            ).one()
            state[name] = [count, newest or 0]
        count, newest = self.session.execute(
            select(func.count(), func.max(Adjudication.id))
            .join(Pair, Pair.id == Adjudication.pair_id)
            .where(Pair.project_id == project_id)
        ).one()
        state["adjudications"] = [count, newest or 0]
        count, newest = self.session.execute(select(func.count(), func.max(RubricVersion.id))).one()
        state["rubric_versions"] = [count, newest or 0]  # a bare rubric NAME resolves to its newest version
        for kind in CHANGED:
            count, newest = self.session.execute(
                select(func.count(), func.max(AuditEvent.id)).where(
                    AuditEvent.project_id == project_id, AuditEvent.object_type == kind
                )
            ).one()
            state[f"audit.{kind}"] = [count, newest or 0]
        return state

    def stored_report(self, project_id: int, kind: str, params_key: str) -> StoredReport | None:
        return self.session.scalar(
            select(StoredReport).where(
                StoredReport.project_id == project_id, StoredReport.kind == kind, StoredReport.params_key == params_key
            )
        )

    def store_report(
        self,
        *,
        project_id: int,
        kind: str,
        params_key: str,
        params: dict[str, Any],
        fingerprint: str,
        value: dict[str, Any],
        job_id: str | None,
        read_s: float,
        compute_s: float,
    ) -> None:
        """Keep a computed report, replacing the one stored for the same project, kind and parameters."""
        fields = {
            "params": params, "fingerprint": fingerprint, "value": value, "job_id": job_id,
            "read_s": read_s, "compute_s": compute_s, "computed_at": utcnow(),
        }  # fmt: skip
        row = self.stored_report(project_id, kind, params_key)
        if row is None:
            self.session.add(StoredReport(project_id=project_id, kind=kind, params_key=params_key, **fields))
        else:
            for name, value_ in fields.items():
                setattr(row, name, value_)
