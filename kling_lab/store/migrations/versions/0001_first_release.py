"""Schema 1, the first release: batches, jobs, events and the meta table.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_SECONDS = sa.Float().with_variant(sa.REAL(), "sqlite")  # epoch seconds

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False, server_default="app"),
        sa.Column("estimated_total", sa.Text, nullable=False, server_default="0"),
        sa.Column("settings_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("winner_job_id", sa.Text),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("batch_id", sa.Text, sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("request_json", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("host_task_id", sa.Text),
        sa.Column("host_extra_json", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("error_kind", sa.Text),
        sa.Column("estimated_cost", sa.Text),
        sa.Column("actual_cost", sa.Text),
        sa.Column("progress", _SECONDS),
        sa.Column("video_path", sa.Text),
        sa.Column("thumb_path", sa.Text),
        sa.Column("video_bytes", sa.Integer),
        sa.Column("video_duration", _SECONDS),
        sa.Column("video_width", sa.Integer),
        sa.Column("video_height", sa.Integer),
        sa.Column("has_audio", sa.Integer),
        sa.Column("details_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
        sa.Column("submitted_at", _SECONDS),
        sa.Column("finished_at", _SECONDS),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", _SECONDS),
        sa.Column("starred", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("rating", sa.Integer),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("deleted_at", _SECONDS),
    )
    op.create_index("jobs_batch", "jobs", ["batch_id", "position"])
    op.create_index("jobs_state", "jobs", ["state"])
    op.create_index("jobs_created", "jobs", [sa.text("created_at DESC")])
    op.create_index("jobs_task", "jobs", ["provider", "host_task_id"])
    op.create_index("batches_created", "batches", [sa.text("created_at DESC")])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("at", _SECONDS, nullable=False),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sqlite_autoincrement=True,
    )
    op.create_index("events_job", "events", ["job_id", "id"])


def downgrade() -> None:
    for table in ("events", "jobs", "batches", "meta"):
        op.drop_table(table)
