"""certified routing: immutable calibrations and each pair's routing decision

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=True),
        sa.Column("rubric", sa.String(length=260), nullable=True),
        sa.Column("signal", sa.String(length=40), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("min_n", sa.Integer(), nullable=False),
        sa.Column("include_assisted", sa.Boolean(), nullable=False),
        sa.Column("n_calibration", sa.Integer(), nullable=False),
        sa.Column("promise", sa.String(length=16), nullable=False),
        sa.Column("judge_models", sa.JSON(), nullable=False),
        sa.Column("judges", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["annotators.id"], name=op.f("fk_calibrations_created_by_annotators")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_calibrations_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_versions.id"],
            name=op.f("fk_calibrations_rubric_version_id_rubric_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibrations")),
    )
    with op.batch_alter_table("calibrations") as batch:
        batch.create_index(batch.f("ix_calibrations_project_id"), ["project_id"], unique=False)
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("calibration_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("judge", sa.String(length=420), nullable=True),
        sa.Column("outcome", sa.String(length=4), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("uncertainty", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calibration_id"],
            ["calibrations.id"],
            name=op.f("fk_routing_decisions_calibration_id_calibrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pairs.id"], name=op.f("fk_routing_decisions_pair_id_pairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_routing_decisions_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
        sa.UniqueConstraint("pair_id", name=op.f("uq_routing_decisions_pair_id")),
    )
    with op.batch_alter_table("routing_decisions") as batch:
        batch.create_index(batch.f("ix_routing_decisions_calibration_id"), ["calibration_id"], unique=False)
        batch.create_index(batch.f("ix_routing_decisions_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.drop_index(batch.f("ix_routing_decisions_project_id"))
        batch.drop_index(batch.f("ix_routing_decisions_calibration_id"))
    op.drop_table("routing_decisions")
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_index(batch.f("ix_calibrations_project_id"))
    op.drop_table("calibrations")
