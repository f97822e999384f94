"""Schema 2: filter columns on jobs (backfilled from the stored request), history indexes, reviews.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_SECONDS = sa.Float().with_variant(sa.REAL(), "sqlite")  # epoch seconds

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BACKFILL = {
    "sqlite": """
        UPDATE jobs SET duration = json_extract(request_json, '$.duration'),
                        audio = json_extract(request_json, '$.audio'),
                        aspect_ratio = json_extract(request_json, '$.aspect_ratio')
    """,
    "postgresql": """
        UPDATE jobs SET duration = (request_json::json ->> 'duration')::integer,
                        audio = CASE (request_json::json ->> 'audio')::boolean WHEN true THEN 1 WHEN false THEN 0 END,
                        aspect_ratio = request_json::json ->> 'aspect_ratio'
    """,
}


def upgrade() -> None:
    op.add_column("jobs", sa.Column("duration", sa.Integer))
    op.add_column("jobs", sa.Column("audio", sa.Integer))
    op.add_column("jobs", sa.Column("aspect_ratio", sa.Text))
    op.execute(_BACKFILL[op.get_bind().dialect.name])
    op.create_index("jobs_provider_created", "jobs", ["provider", sa.text("created_at DESC")])
    op.create_index("jobs_state_created", "jobs", ["state", sa.text("created_at DESC")])
    op.create_index("jobs_starred_created", "jobs", ["starred", sa.text("created_at DESC")])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.Text, sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("job_id", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("at", _SECONDS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("reviews_batch", "reviews", ["batch_id", "at"])


def downgrade() -> None:
    op.drop_table("reviews")
    for index in ("jobs_starred_created", "jobs_state_created", "jobs_provider_created"):
        op.drop_index(index, table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in ("aspect_ratio", "audio", "duration"):
            batch.drop_column(column)
