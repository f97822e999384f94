"""Schema 5: review links (made, expiring, revocable; never the key) and one pick per reviewer per batch.

Revision ID: 0005
Revises: 0004

Picks move out of `reviews` (which piled up a row per click) into `review_picks`,
keyed by batch and reviewer: each name's latest pick on a batch is kept.
`reviews` keeps the comments.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_SECONDS = sa.Float().with_variant(sa.REAL(), "sqlite")  # epoch seconds

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LATEST_PICKS = """
    SELECT r.batch_id, r.name, r.job_id, r.at FROM reviews r
    WHERE r.kind = 'pick' AND r.id = (
        SELECT MAX(o.id) FROM reviews o WHERE o.kind = 'pick' AND o.batch_id = r.batch_id AND o.name = r.name
    )
"""


def upgrade() -> None:
    op.create_table(
        "review_links",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("created_at", _SECONDS, nullable=False),
        sa.Column("expires_at", _SECONDS, nullable=False),
        sa.Column("revoked_at", _SECONDS),
        sa.Column("created_by", sa.Text, nullable=False, server_default=""),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("review_links_target", "review_links", ["kind", "target", "created_at"])
    picks = op.create_table(
        "review_picks",
        sa.Column("batch_id", sa.Text, sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("link_id", sa.Text, nullable=False, server_default=""),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("at", _SECONDS, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "reviewer", name="review_picks_pkey"),
    )
    bind = op.get_bind()
    rows, seen = [], set()
    for batch_id, name, job_id, at in bind.execute(sa.text(_LATEST_PICKS)).all():
        reviewer = ":" + " ".join(name.split()).casefold()  # no link id: made before links existed
        if job_id is None or (batch_id, reviewer) in seen:
            continue
        seen.add((batch_id, reviewer))
        rows.append({"batch_id": batch_id, "reviewer": reviewer, "link_id": "", "name": name,
                     "job_id": job_id, "at": at})
    if rows:
        op.bulk_insert(picks, rows)
    op.execute("DELETE FROM reviews WHERE kind = 'pick'")


def downgrade() -> None:
    op.execute("INSERT INTO reviews (batch_id, job_id, name, kind, text, at) "
               "SELECT batch_id, job_id, name, 'pick', '', at FROM review_picks")
    op.drop_table("review_picks")
    op.drop_index("review_links_target", table_name="review_links")
    op.drop_table("review_links")
