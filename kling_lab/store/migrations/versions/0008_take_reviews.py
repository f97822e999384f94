"""Schema 8: comments at a time or range of a take, and one status per take (approved, changes, rejected).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_SECONDS = sa.Float().with_variant(sa.REAL(), "sqlite")  # epoch seconds

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "take_comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("at_seconds", _SECONDS, nullable=False),
        sa.Column("until_seconds", _SECONDS),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author_name", sa.Text, nullable=False),
        sa.Column("author_kind", sa.Text, nullable=False),
        sa.Column("author_key", sa.Text, nullable=False),
        sa.Column("link_id", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
        sa.Column("deleted_at", _SECONDS),
        sqlite_autoincrement=True,
    )
    op.create_index("take_comments_batch", "take_comments", ["batch_id", "job_id", "at_seconds"])
    op.create_table(
        "take_statuses",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("set_by", sa.Text, nullable=False),
        sa.Column("author_key", sa.Text, nullable=False, server_default=""),
        sa.Column("set_at", _SECONDS, nullable=False),
    )
    op.create_index("take_statuses_batch", "take_statuses", ["batch_id"])


def downgrade() -> None:
    op.drop_index("take_statuses_batch", table_name="take_statuses")
    op.drop_table("take_statuses")
    op.drop_index("take_comments_batch", table_name="take_comments")
    op.drop_table("take_comments")
