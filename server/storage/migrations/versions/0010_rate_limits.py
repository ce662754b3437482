"""rate limits: one row per limited key, shared by every API process (serve --workers N, several hosts)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_windows")),
    )
    op.create_index(op.f("ix_rate_windows_until"), "rate_windows", ["until"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_windows_until"), table_name="rate_windows")
    op.drop_table("rate_windows")
