"""Schema 3: a cancel request any process can leave for the runner that drives the job.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_SECONDS = sa.Float().with_variant(sa.REAL(), "sqlite")  # epoch seconds

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("cancel_requested_at", _SECONDS))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancel_requested_at")
