"""review indexes: the review queue reads a pair's reviewer count from an index instead of counting assignments

`pairs.reviewers` is the number of the pair's assignments that are not skipped (backfilled here, then kept
by the assignment writes), so the queue's "next open pair" and "open pairs" are index range reads.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pairs") as batch:
        batch.add_column(sa.Column("reviewers", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE pairs SET reviewers = (SELECT count(*) FROM assignments "
        "WHERE assignments.pair_id = pairs.id AND assignments.status != 'skipped')"
    )
    op.create_index("ix_pairs_queue", "pairs", ["project_id", "is_gold", "reviewers", "id"])
    op.create_index("ix_assignments_queue", "assignments", ["project_id", "pair_id", "status"])
    op.create_index("ix_assignments_reviewer", "assignments", ["annotator_id", "project_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_assignments_reviewer", table_name="assignments")
    op.drop_index("ix_assignments_queue", table_name="assignments")
    op.drop_index("ix_pairs_queue", table_name="pairs")
    with op.batch_alter_table("pairs") as batch:
        batch.drop_column("reviewers")
