"""Schema 7: sequences of shots, and which shot a batch and its takes were made for (with each take's lineage).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_SECONDS = sa.Float().with_variant(sa.REAL(), "sqlite")  # epoch seconds

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sequences",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("project", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
    )
    op.create_index("sequences_name", "sequences", ["name_key"], unique=True)
    op.create_index("sequences_project", "sequences", ["project", "name_key"])
    op.create_table(
        "shots",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("sequence_id", sa.Text, sa.ForeignKey("sequences.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("pick_job_id", sa.Text),
        sa.Column("pick_by", sa.Text, nullable=False, server_default=""),
        sa.Column("pick_at", _SECONDS),
        sa.Column("trim_in", sa.Integer),
        sa.Column("trim_out", sa.Integer),
        sa.Column("start_frame_json", sa.Text),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
    )
    op.create_index("shots_sequence", "shots", ["sequence_id", "position"])
    op.create_index("shots_number", "shots", ["sequence_id", "number"], unique=True)
    op.add_column("batches", sa.Column("shot_id", sa.Text))
    op.create_index("batches_shot", "batches", ["shot_id", "created_at"])
    op.add_column("jobs", sa.Column("shot_id", sa.Text))
    op.add_column("jobs", sa.Column("take_number", sa.Integer))
    op.add_column("jobs", sa.Column("parent_job_id", sa.Text))
    op.add_column("jobs", sa.Column("lineage", sa.Text, nullable=False, server_default=""))
    op.create_index("jobs_shot_take", "jobs", ["shot_id", "take_number"])


def downgrade() -> None:
    op.drop_index("jobs_shot_take", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in ("lineage", "parent_job_id", "take_number", "shot_id"):
            batch.drop_column(column)
    op.drop_index("batches_shot", table_name="batches")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("shot_id")
    op.drop_index("shots_number", table_name="shots")
    op.drop_index("shots_sequence", table_name="shots")
    op.drop_table("shots")
    op.drop_index("sequences_project", table_name="sequences")
    op.drop_index("sequences_name", table_name="sequences")
    op.drop_table("sequences")
