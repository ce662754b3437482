"""The tables the audit leaves out (:data:`server.storage.audit.NOT_AUDITED`): derived data and counters.

The LLM cache and stored reports are recomputable from audited rows; rate-limit windows are counters
every API process shares. Nobody writes them as a decision, so they carry no audit events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.storage.schema import Base, utcnow


class CacheEntry(Base):
    """Content-addressed LLM results, so a re-run pays nothing for work already done."""

    __tablename__ = "llm_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredReport(Base):
    """A computed report kept with its inputs' fingerprint, served until the labels change (issue 14).

    Derived data like the LLM cache (not audited): one row per project, kind and parameters, replaced
    when a job recomputes it. `params_key` is the digest of `params`; `fingerprint` the digest of the
    label state it was computed from (server/agreement/stored.py).
    """

    __tablename__ = "stored_reports"
    __table_args__ = (UniqueConstraint("project_id", "kind", "params_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    params_key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column()
    fingerprint: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, Any]] = mapped_column()
    job_id: Mapped[str | None] = mapped_column(String(36))
    read_s: Mapped[float] = mapped_column(Float, default=0.0)
    compute_s: Mapped[float] = mapped_column(Float, default=0.0)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RateWindow(Base):
    """One rate-limit key's recent hits (epoch seconds, newest last), shared by every API process.

    Counters, not something anyone wrote: not audited. `until` is when the newest hit leaves the window,
    so stale keys are found by index and pruned.
    """

    __tablename__ = "rate_windows"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    hits: Mapped[list[Any]] = mapped_column()
    until: Mapped[float] = mapped_column(Float, index=True)
