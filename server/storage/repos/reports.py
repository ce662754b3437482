"""Stored reports and the label state they are fingerprinted with.

Part of :class:`server.storage.repository.Repository`, over its one session. A stored report is derived
data (not audited, like the LLM cache); the label state is read in a few index-only aggregate queries,
never row by row, so checking whether a million-ranking project's report is still current is cheap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.storage import records
from server.storage.repos.base import UnitOfWork
from server.storage.tables import (
    Adjudication,
    AuditEvent,
    Calibration,
    Pair,
    Ranking,
    RoutingDecision,
    RubricVersion,
    Score,
    StoredReport,
    Verdict,
    utcnow,
)

LABEL_TABLES = {
    "pairs": Pair,
    "rankings": Ranking,
    "verdicts": Verdict,
    "scores": Score,
    "calibrations": Calibration,
    "routing_decisions": RoutingDecision,
}
"""Tables with a project column whose rows a report reads; their audit events also count."""
CHANGED = (*LABEL_TABLES, "adjudications")  # audit object types whose writes change what a report says


class Reports(UnitOfWork):
    """Stored reports and the label state they are fingerprinted with."""

    def label_state(self, project_id: int) -> dict[str, list[int]]:
        """Newest id (and on PostgreSQL the row count) of each label table of a project and of its audit
        events per label table.

        Inserts show in the tables however they were written; in-place changes and deletions in the
        audit log, which every ORM write appends to and nothing deletes from. On SQLite, with its one
        writer, ids grow in commit order, so the newest audit id per table moves with every committed
        write: a few index steps, whatever the size. PostgreSQL commits concurrent writers out of id
        order (an older id can become visible after a newer one), so there the counts are taken too.
        """
        counted = self.session.get_bind().dialect.name != "sqlite"

        def state(table: Any, *where: Any, join: Any = None) -> list[int]:
            columns = (func.count(), func.max(table.id)) if counted else (func.max(table.id),)
            query = select(*columns)
            if join is not None:
                query = query.join(*join)
            found = self.session.execute(query.where(*where)).one()
            return [value or 0 for value in found]

        labels = {name: state(table, table.project_id == project_id) for name, table in LABEL_TABLES.items()}
        labels["adjudications"] = state(
            Adjudication, Pair.project_id == project_id, join=(Pair, Pair.id == Adjudication.pair_id)
        )
        labels["rubric_versions"] = state(RubricVersion)  # a bare rubric NAME resolves to its newest version
        for kind in CHANGED:
            labels[f"audit.{kind}"] = state(
                AuditEvent, AuditEvent.project_id == project_id, AuditEvent.object_type == kind
            )
        return labels

    def stored_report(self, project_id: int, kind: str, params_key: str) -> records.StoredReport | None:
        return records.StoredReport.of_optional(self._stored_row(project_id, kind, params_key))

    def _stored_row(self, project_id: int, kind: str, params_key: str) -> StoredReport | None:
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
        row = self._stored_row(project_id, kind, params_key)
        if row is None:
            self.session.add(StoredReport(project_id=project_id, kind=kind, params_key=params_key, **fields))
        else:
            for name, value_ in fields.items():
                setattr(row, name, value_)
