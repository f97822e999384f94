"""Reviews of a batch: comments (a list), one pick per reviewer (changeable, deletable), and the review links.

A reviewer is the review link they came through and the name they typed
(`reviewer_key`): the pick survives a reload and another device with the same
link and name, and two links never share a pick. A link row keeps what it
opens, when it expires and whether it was revoked; never the signing key.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, insert, select, update

from kling_lab.store.database import Database
from kling_lab.store.records import (
    MAX_TEXT_CHARS,
    LinkRecord,
    ReviewRecord,
    link_from_row,
    review_from_row,
    reviewer_key,
)
from kling_lab.store.schema import review_links, review_picks, reviews

MAX_NAME_CHARS = 80


def _name(name: str) -> str:
    return " ".join(name.split())[:MAX_NAME_CHARS] or "anonymous"


class ReviewBook:
    """Comments, picks and review links, over the store's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_comment(self, batch_id: str, *, name: str, text: str, job_id: str | None = None) -> None:
        with self._db.write() as conn:
            conn.execute(insert(reviews).values(batch_id=batch_id, job_id=job_id, name=_name(name), kind="comment",
                                                text=text[:MAX_TEXT_CHARS], at=time.time()))

    def set_pick(self, batch_id: str, *, link_id: str, name: str, job_id: str | None) -> None:
        """Make `job_id` this reviewer's one pick on the batch; None takes their pick back."""
        name = _name(name)
        key = reviewer_key(link_id, name)
        with self._db.write() as conn:
            conn.execute(delete(review_picks).where(review_picks.c.batch_id == batch_id,
                                                    review_picks.c.reviewer == key))
            if job_id is not None:
                conn.execute(insert(review_picks).values(batch_id=batch_id, reviewer=key, link_id=link_id,
                                                         name=name, job_id=job_id, at=time.time()))

    def pick_of(self, batch_id: str, *, link_id: str, name: str) -> str | None:
        """The clip this reviewer picked on the batch, or None."""
        with self._db.read() as conn:
            return conn.execute(select(review_picks.c.job_id).where(
                review_picks.c.batch_id == batch_id,
                review_picks.c.reviewer == reviewer_key(link_id, _name(name)))).scalar()

    def for_batch(self, batch_id: str) -> list[ReviewRecord]:
        """Comments and every reviewer's current pick, oldest first."""
        with self._db.read() as conn:
            comments = conn.execute(select(reviews).where(reviews.c.batch_id == batch_id)
                                    .order_by(reviews.c.at, reviews.c.id)).mappings().all()
            picks = conn.execute(select(review_picks).where(review_picks.c.batch_id == batch_id)
                                 .order_by(review_picks.c.at)).mappings().all()
        records = [review_from_row(r) for r in comments]
        records += [ReviewRecord(p["batch_id"], p["job_id"], p["name"], "pick", "", p["at"]) for p in picks]
        return sorted(records, key=lambda r: r.at)

    # -- links -------------------------------------------------------------------------------

    def add_link(self, link: LinkRecord) -> None:
        with self._db.write() as conn:
            conn.execute(insert(review_links).values(
                id=link.id, kind=link.kind, target=link.target, created_at=link.created_at,
                expires_at=link.expires_at, revoked_at=link.revoked_at, created_by=link.created_by[:200],
                label=link.label[:200]))

    def link(self, link_id: str) -> LinkRecord | None:
        with self._db.read() as conn:
            row = conn.execute(select(review_links).where(review_links.c.id == link_id)).mappings().first()
        return link_from_row(row) if row else None

    def links_for(self, kind: str, target: str) -> list[LinkRecord]:
        """Every link made for a target, newest first."""
        with self._db.read() as conn:
            rows = conn.execute(select(review_links).where(review_links.c.kind == kind,
                                                           review_links.c.target == target)
                                .order_by(review_links.c.created_at.desc())).mappings().all()
        return [link_from_row(r) for r in rows]

    def revoke(self, link_id: str, now: float | None = None) -> LinkRecord | None:
        """Mark a link revoked (revoking twice keeps the first time); None when there is no such link."""
        with self._db.write() as conn:
            conn.execute(update(review_links).where(review_links.c.id == link_id, review_links.c.revoked_at.is_(None))
                         .values(revoked_at=time.time() if now is None else now))
        return self.link(link_id)

    def is_revoked(self, link_id: str) -> bool:
        """True for a revoked link, and for a link id this store never made (a token from elsewhere)."""
        link = self.link(link_id)
        return link is None or link.revoked_at is not None
