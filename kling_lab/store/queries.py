"""History filters as SQLAlchemy expressions, and the reads every part of the store shares."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, false, or_, select, true

from kling_lab.store.database import unstorable
from kling_lab.store.records import JobRecord, job_from_row
from kling_lab.store.schema import UNFINISHED_STATES, batches, jobs, review_picks, take_statuses

NO_STATUS = "none"
"""In `JobQuery.review_statuses`: takes nobody has approved, asked changes of or rejected."""


@dataclass(frozen=True)
class JobQuery:
    """History filters; a None field does not filter."""

    text: str | None = None
    providers: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    duration: int | None = None
    audio: bool | None = None
    aspect_ratio: str | None = None
    starred_only: bool = False
    picked_only: bool = False
    review_statuses: tuple[str, ...] = ()
    """Takes whose review status is one of these ("approved", "changes", "rejected", or "none": no status)."""
    batch_id: str | None = None
    include_deleted: bool = False


def job_filter(query: JobQuery) -> ColumnElement[bool]:
    """Every set filter of `query`, ANDed, over `jobs` left-joined to `batches` (see `history_select`)."""
    clauses: list[ColumnElement[bool]] = []
    if not query.include_deleted:
        clauses.append(jobs.c.deleted_at.is_(None))
    if query.text and unstorable(query.text):
        clauses.append(false())  # no stored prompt, label or note holds a NUL: nothing matches, nothing is asked
    elif query.text and query.text.strip():
        # Case-insensitive on both backends, with an escape so % and _ typed by a person match themselves.
        needle = query.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{needle}%"
        clauses.append(or_(*(column.ilike(pattern, escape="\\")
                             for column in (jobs.c.prompt, jobs.c.label, jobs.c.notes))))
    if query.providers:
        clauses.append(jobs.c.provider.in_(query.providers))
    if query.states:
        clauses.append(jobs.c.state.in_(query.states))
    if query.since is not None:
        clauses.append(jobs.c.created_at >= query.since)
    if query.until is not None:
        clauses.append(jobs.c.created_at < query.until)
    if query.duration is not None:
        clauses.append(jobs.c.duration == query.duration)
    if query.audio is not None:
        clauses.append(jobs.c.audio == int(query.audio))
    if query.aspect_ratio:
        clauses.append(jobs.c.aspect_ratio == query.aspect_ratio)
    if query.starred_only:
        clauses.append(jobs.c.starred == 1)
    if query.picked_only:
        picked_in_review = exists().where(review_picks.c.job_id == jobs.c.id)
        clauses.append(or_(batches.c.winner_job_id == jobs.c.id, picked_in_review))
    if query.review_statuses:
        clauses.append(_status_filter(query.review_statuses))
    if query.batch_id:
        clauses.append(jobs.c.batch_id == query.batch_id)
    return and_(true(), *clauses)


def _status_filter(wanted: tuple[str, ...]) -> ColumnElement[bool]:
    """Takes whose status is one of `wanted`; "none" matches a take with no status row."""
    named = [w for w in wanted if w != NO_STATUS]
    options: list[ColumnElement[bool]] = []
    if named:
        options.append(exists().where(take_statuses.c.job_id == jobs.c.id, take_statuses.c.status.in_(named)))
    if NO_STATUS in wanted:
        options.append(~exists().where(take_statuses.c.job_id == jobs.c.id))
    return or_(*options)


def history_select(*columns: object, query: JobQuery) -> Select:
    """SELECT `columns` FROM jobs LEFT JOIN batches WHERE the query's filters."""
    return select(*columns).select_from(jobs.outerjoin(batches, batches.c.id == jobs.c.batch_id)).where(
        job_filter(query)
    )


def unfinished() -> ColumnElement[bool]:
    return jobs.c.state.in_(UNFINISHED_STATES)


def fetch_job(conn: Connection, job_id: str) -> JobRecord | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return job_from_row(row) if row else None
