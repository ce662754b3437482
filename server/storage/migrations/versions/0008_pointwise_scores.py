"""pointwise scores: humans' 1..N scores of one response (`scores`), and judge scores found by response

A judge's pointwise score is a verdict (kind ``pointwise``, ``response_id`` set, ``pair_id`` null, the
per-criterion levels in ``scores``): the verdicts table has carried those columns since 0001, so judge
scores keep the pairwise verdicts' provenance, failures and natural keys. What was missing is an index
to find a response's verdicts, and a place for people's scores, which (like rankings) belong to an
annotator, not a judge model.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("overall", sa.Integer(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_scores_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["responses.id"], name=op.f("fk_scores_response_id_responses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["annotator_id"], ["annotators.id"], name=op.f("fk_scores_annotator_id_annotators")),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"], ["rubric_versions.id"], name=op.f("fk_scores_rubric_version_id_rubric_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint("response_id", "annotator_id", "rubric_version_id", name=op.f("uq_scores_response_id")),
    )
    with op.batch_alter_table("scores") as batch:
        batch.create_index(batch.f("ix_scores_project_id"), ["project_id"], unique=False)
    with op.batch_alter_table("verdicts") as batch:
        batch.create_index(batch.f("ix_verdicts_response_id"), ["response_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_index(batch.f("ix_verdicts_response_id"))
    with op.batch_alter_table("scores") as batch:
        batch.drop_index(batch.f("ix_scores_project_id"))
    op.drop_table("scores")
