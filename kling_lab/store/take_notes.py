"""Timecoded comments on takes and each take's one review status (schema 8).

A comment is kept with its take, its batch (so a board reads its batch's in one
query), its time or range in seconds of the take's clip, and its author: the
name shown, the kind of actor, and the key that decides who may edit it (a
reviewer's `reviewer_key`, a person's kind and name). A delete is soft
(`deleted_at`): the row stays for the record, and no read returns it. A status
is one row per take, replaced when set again, removed when cleared. The door
checks every rule before anything reaches here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update

from kling_lab.store.database import Database
from kling_lab.store.records import (
    TakeCommentRecord,
    TakeStatusRecord,
    take_comment_from_row,
    take_status_from_row,
)
from kling_lab.store.schema import jobs, take_comments, take_statuses


class TakeNotes:
    """Take comments and statuses, over the store's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- comments ------------------------------------------------------------------------------

    def add_comment(self, job_id: str, batch_id: str, *, at: float, until: float | None, text: str,
                    author_name: str, author_kind: str, author_key: str, link_id: str = "",
                    now: float | None = None) -> TakeCommentRecord:
        """Keep a comment as given (the door has checked it); returns it as stored."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            result = conn.execute(insert(take_comments).values(
                job_id=job_id, batch_id=batch_id, at_seconds=at, until_seconds=until, text=text,
                author_name=author_name, author_kind=author_kind, author_key=author_key, link_id=link_id,
                created_at=now, updated_at=now))
            comment_id = result.inserted_primary_key[0]
        comment = self.comment(int(comment_id))
        if comment is None:  # pragma: no cover - the row was just written
            raise KeyError(comment_id)
        return comment

    def comment(self, comment_id: int, *, deleted: bool = False) -> TakeCommentRecord | None:
        """A comment that is not deleted (with `deleted=True`, one that is too), or None."""
        statement = select(take_comments).where(take_comments.c.id == comment_id)
        if not deleted:
            statement = statement.where(take_comments.c.deleted_at.is_(None))
        with self._db.read() as conn:
            row = conn.execute(statement).mappings().first()
        return take_comment_from_row(row) if row else None

    def is_deleted(self, comment_id: int) -> bool:
        """True for a comment that was deleted (False for a live one, and for one never made)."""
        with self._db.read() as conn:
            return conn.execute(select(take_comments.c.id).where(
                take_comments.c.id == comment_id, take_comments.c.deleted_at.is_not(None))).first() is not None

    def edit_comment(self, comment_id: int, text: str, now: float | None = None) -> TakeCommentRecord | None:
        """Replace a comment's text (its time and author stay); None when it is deleted or was never made."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            conn.execute(update(take_comments).where(take_comments.c.id == comment_id,
                                                     take_comments.c.deleted_at.is_(None))
                         .values(text=text, updated_at=now))
        return self.comment(comment_id)

    def delete_comment(self, comment_id: int, now: float | None = None) -> bool:
        """Mark a comment deleted; False when it already was, or never existed."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            result = conn.execute(update(take_comments).where(take_comments.c.id == comment_id,
                                                              take_comments.c.deleted_at.is_(None))
                                  .values(deleted_at=now, updated_at=now))
        return result.rowcount > 0

    def for_batch(self, batch_id: str) -> list[TakeCommentRecord]:
        """A batch's comments, by take (in the batch's order), then by time."""
        joined = take_comments.outerjoin(jobs, jobs.c.id == take_comments.c.job_id)
        statement = (select(take_comments).select_from(joined)
                     .where(take_comments.c.batch_id == batch_id, take_comments.c.deleted_at.is_(None))
                     .order_by(jobs.c.position, take_comments.c.job_id, take_comments.c.at_seconds,
                               take_comments.c.id))
        with self._db.read() as conn:
            rows = conn.execute(statement).mappings().all()
        return [take_comment_from_row(r) for r in rows]

    def for_jobs(self, job_ids: Sequence[str]) -> list[TakeCommentRecord]:
        """The comments on these takes, in the order the ids are given, then by time."""
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return []
        with self._db.read() as conn:
            rows = conn.execute(select(take_comments).where(take_comments.c.job_id.in_(ids),
                                                            take_comments.c.deleted_at.is_(None))).mappings().all()
        place = {job_id: index for index, job_id in enumerate(ids)}
        records = [take_comment_from_row(r) for r in rows]
        return sorted(records, key=lambda c: (place[c.job_id], c.at, c.id))

    # -- statuses ------------------------------------------------------------------------------

    def set_status(self, job_id: str, batch_id: str, status: str, *, set_by: str, author_key: str = "",
                   now: float | None = None) -> TakeStatusRecord:
        """Make `status` the take's one status, with who set it and when; returns it as stored."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            conn.execute(delete(take_statuses).where(take_statuses.c.job_id == job_id))
            conn.execute(insert(take_statuses).values(job_id=job_id, batch_id=batch_id, status=status,
                                                      set_by=set_by, author_key=author_key, set_at=now))
        return TakeStatusRecord(job_id, batch_id, status, set_by, now)

    def clear_status(self, job_id: str) -> None:
        """The take has no status any more."""
        with self._db.write() as conn:
            conn.execute(delete(take_statuses).where(take_statuses.c.job_id == job_id))

    def status(self, job_id: str) -> TakeStatusRecord | None:
        with self._db.read() as conn:
            row = conn.execute(select(take_statuses).where(take_statuses.c.job_id == job_id)).mappings().first()
        return take_status_from_row(row) if row else None

    def statuses_for_batch(self, batch_id: str) -> dict[str, TakeStatusRecord]:
        """A batch's statuses, by job id."""
        with self._db.read() as conn:
            rows = conn.execute(select(take_statuses).where(take_statuses.c.batch_id == batch_id)).mappings().all()
        return {r["job_id"]: take_status_from_row(r) for r in rows}

    def statuses_for_jobs(self, job_ids: Sequence[str]) -> dict[str, TakeStatusRecord]:
        """These takes' statuses, by job id (a take without one is absent)."""
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return {}
        with self._db.read() as conn:
            rows = conn.execute(select(take_statuses).where(take_statuses.c.job_id.in_(ids))).mappings().all()
        return {r["job_id"]: take_status_from_row(r) for r in rows}
