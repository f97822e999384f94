"""Schema 4: the one-row ledger lock a budget check holds on PostgreSQL (first release on Alembic).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table("ledger_lock", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    op.bulk_insert(table, [{"id": 1}])


def downgrade() -> None:
    op.drop_table("ledger_lock")
