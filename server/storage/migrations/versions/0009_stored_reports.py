"""stored reports: a computed agreement report kept with its inputs' fingerprint; an audit index for it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("params_key", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("read_s", sa.Float(), nullable=False),
        sa.Column("compute_s", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_stored_reports_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_reports")),
        sa.UniqueConstraint("project_id", "kind", "params_key", name=op.f("uq_stored_reports_project_id")),
    )
    op.create_index(op.f("ix_stored_reports_project_id"), "stored_reports", ["project_id"], unique=False)
    # a plain CREATE INDEX: the append-only audit table must never be copied by a batch rebuild
    op.create_index("ix_audit_events_project_change", "audit_events", ["project_id", "object_type", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_project_change", table_name="audit_events")
    op.drop_table("stored_reports")
