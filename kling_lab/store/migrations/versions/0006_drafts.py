"""Schema 6: Compose drafts (the whole Compose state as JSON, whose it is, when), kept across reloads and restarts.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_SECONDS = sa.Float().with_variant(sa.REAL(), "sqlite")  # epoch seconds

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner_kind", sa.Text, nullable=False),
        sa.Column("owner_name", sa.Text, nullable=False, server_default=""),
        sa.Column("state_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("origin", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("updated_at", _SECONDS, nullable=False),
    )
    op.create_index("drafts_owner_updated", "drafts", ["owner_kind", "owner_name", sa.text("updated_at DESC")])


def downgrade() -> None:
    op.drop_index("drafts_owner_updated", table_name="drafts")
    op.drop_table("drafts")
