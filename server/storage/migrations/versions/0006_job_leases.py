"""job leases: durable jobs claimed by workers with a lease, one active job per identical request

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ACTIVE_JOBS = "status IN ('queued', 'running', 'cancelling', 'interrupted')"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(120), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(
        "uq_jobs_active_digest", "jobs", ["digest"], unique=True,
        sqlite_where=sa.text(ACTIVE_JOBS), postgresql_where=sa.text(ACTIVE_JOBS),
    )  # fmt: skip
    op.create_index("ix_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status", "jobs")
    op.drop_index("uq_jobs_active_digest", "jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in ("attempts", "heartbeat_at", "lease_expires_at", "lease_owner", "request", "digest"):
            batch.drop_column(column)
