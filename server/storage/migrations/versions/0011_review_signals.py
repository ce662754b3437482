"""review signals: a typed reason on adjudications (the error taxonomy beside skip reasons)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # unclear_guideline | ambiguous_item | broken_item | other; null (older rows): the report counts "other"
    with op.batch_alter_table("adjudications") as batch:
        batch.add_column(sa.Column("reason", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adjudications") as batch:
        batch.drop_column("reason")
