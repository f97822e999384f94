"""The store as a queue: leases, state transitions and cancel requests.

A runner claims unfinished jobs with a lease (so two runners never drive one
job) and writes every state transition here before taking the next step.
On PostgreSQL a claim selects `FOR UPDATE SKIP LOCKED`, so app servers and
workers claiming at once each get different jobs without waiting on each
other; a transition locks its job's row before it checks the lease. On SQLite
the immediate write transaction gives the same guarantees for one file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from kling_lab.domain.jobs import FINAL_STATES, JobState, canceled_unsent_sentence
from kling_lab.store.database import Database
from kling_lab.store.errors import BudgetExceeded, LeaseLost
from kling_lab.store.ledger import committed_in
from kling_lab.store.queries import fetch_job, unfinished
from kling_lab.store.records import JobRecord, decimal_text, retry_sends_create
from kling_lab.store.schema import UNFINISHED_STATES, events, jobs

RetryCheck = Callable[[JobRecord, Decimal, Decimal], "str | None"]
"""(job, today's committed spend, the batch's committed spend, neither counting the job) -> a refusal or None."""


class JobQueue:
    """Claims, leases and transitions of jobs in one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim_jobs(
        self, owner: str, *, lease_seconds: float = 60, limit: int = 50, now: float | None = None
    ) -> list[str]:
        """Lease up to `limit` unfinished jobs nobody holds (or whose lease ran out); returns their ids."""
        now = time.time() if now is None else now
        claimable = (
            unfinished()
            & jobs.c.deleted_at.is_(None)
            & or_(jobs.c.lease_owner.is_(None), jobs.c.lease_owner == owner, jobs.c.lease_until < now)
        )
        # A plain read first: most ticks find nothing, and they shouldn't take the write lock for it.
        with self._db.read() as conn:
            if conn.execute(select(jobs.c.id).where(claimable).limit(1)).first() is None:
                return []
        with self._db.write() as conn:
            ids = list(conn.execute(
                select(jobs.c.id).where(claimable).order_by(jobs.c.created_at, jobs.c.position).limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars())
            if ids:
                conn.execute(update(jobs).where(jobs.c.id.in_(ids))
                             .values(lease_owner=owner, lease_until=now + lease_seconds))
        return ids

    def renew_leases(self, owner: str, job_ids: Sequence[str], *, lease_seconds: float = 60) -> set[str]:
        """Extend this owner's leases; returns the ids it still holds."""
        if not job_ids:
            return set()
        now = time.time()
        with self._db.write() as conn:
            held = conn.execute(
                update(jobs).where(jobs.c.id.in_(list(job_ids)), jobs.c.lease_owner == owner)
                .values(lease_until=now + lease_seconds).returning(jobs.c.id)
            ).scalars()
            return set(held)

    def release(self, owner: str, job_id: str) -> None:
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.lease_owner == owner)
                         .values(lease_owner=None, lease_until=None))

    def transition(
        self,
        job_id: str,
        to_state: JobState,
        *,
        owner: str | None,
        detail: str = "",
        **fields: Any,
    ) -> JobRecord:
        """Move a job to `to_state` with field updates and an event, in one transaction.

        With an `owner`, the write happens only while that owner holds the
        lease (LeaseLost otherwise). A final state releases the lease.
        """
        with self._db.write() as conn:
            return _transition(conn, job_id, to_state, owner=owner, detail=detail, fields=fields)

    def request_cancel(self, job_id: str, *, now: float | None = None) -> JobRecord:
        """Record that a person asked to cancel a job; cancel it at once when nobody drives it yet.

        A queued job that no runner holds is canceled here (nothing was sent).
        Otherwise the flag is left for the runner that holds the job, in this
        process or another (the app, a worker, the CLI), which acts on it before
        its next create or status request. A finished job is left as it is.
        Raises KeyError for an unknown job.
        """
        now = time.time() if now is None else now
        with self._db.write() as conn:
            row = conn.execute(
                select(jobs.c.state, jobs.c.lease_owner, jobs.c.lease_until).where(jobs.c.id == job_id)
                .with_for_update()
            ).first()
            if row is None:
                raise KeyError(job_id)
            if row.state in UNFINISHED_STATES:
                conn.execute(update(jobs).where(jobs.c.id == job_id).values(cancel_requested_at=now))
            unheld = row.lease_owner is None or (row.lease_until or 0) < now
        if row.state == JobState.QUEUED.value and unheld:
            with self._db.read() as conn:
                queued = fetch_job(conn, job_id)
            sentence = canceled_unsent_sentence(queued.host_extra if queued else None, queued.attempts if queued else 0)
            return self.transition(job_id, JobState.CANCELED, owner=None, detail="canceled before sending",
                                   error=sentence)
        with self._db.read() as conn:
            job = fetch_job(conn, job_id)
        assert job is not None
        return job

    def clear_cancel_request(self, job_id: str) -> None:
        """The cancel was tried and could not stop the job (no cancel call, or the call failed): forget it."""
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(cancel_requested_at=None))

    def cancel_requested(self, job_id: str) -> bool:
        """True when someone asked to cancel this job and it has not ended."""
        with self._db.read() as conn:
            value = conn.execute(select(jobs.c.cancel_requested_at).where(jobs.c.id == job_id)).scalar()
        return value is not None

    def update_progress(self, job_id: str, progress: float | None, *, owner: str) -> None:
        """Record progress without an event (it changes often)."""
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.lease_owner == owner)
                         .values(progress=progress, updated_at=time.time()))

    def retry(self, job_id: str, *, refuse: RetryCheck | None = None, now: float | None = None) -> JobRecord:
        """Retry a failed, canceled or unknown job, without paying twice for a clip the host made.

        A job whose host task finished but whose download or save failed goes
        back to following that task (fetch again, no new create), and so does
        one that Kling Lab itself failed (an internal error) after the host
        accepted it. Anything else is queued for a fresh create: for an
        `unknown` job that is the user's explicit choice after checking the host.

        `refuse(job, spent_today, spent_in_batch)` is asked, for a retry that
        sends a new create, inside the same write transaction with the ledger
        locked (as a new batch is checked), so two retries or a retry and a
        submit can't pass one budget together; it returns a sentence to refuse
        with (BudgetExceeded, nothing changes) or None.
        """
        now = time.time() if now is None else now
        with self._db.write() as conn:
            if refuse is not None:
                self._db.lock_ledger(conn)
            conn.execute(select(jobs.c.id).where(jobs.c.id == job_id).with_for_update())
            job = fetch_job(conn, job_id)
            if job is None:
                raise KeyError(job_id)
            if job.state not in (JobState.FAILED, JobState.CANCELED, JobState.UNKNOWN):
                raise ValueError(
                    f"Only a failed, canceled or unknown job can be retried; this one is {job.state.value}."
                )
            again = {"error": None, "error_kind": None, "finished_at": None, "attempts": job.attempts + 1,
                     "cancel_requested_at": None}
            if not retry_sends_create(job) and job.error_kind in ("download", "storage"):
                return _transition(conn, job_id, JobState.DOWNLOADING, owner=None, detail="retry download",
                                   fields=again)
            if not retry_sends_create(job):
                # The host has (or had) the paid task; our own error must not cost a second create.
                return _transition(conn, job_id, JobState.SUBMITTED, owner=None,
                                   detail="retry: follow the same host task", fields=again)
            if refuse is not None:
                refusal = refuse(job, *committed_in(conn, job_id, job.batch_id, now))
                if refusal:
                    raise BudgetExceeded(refusal)
            return _transition(conn, job_id, JobState.QUEUED, owner=None, detail="retry requested", fields={
                **again, "host_task_id": None, "host_extra": {}, "progress": None, "submitted_at": None,
            })


def _transition(conn: Connection, job_id: str, to_state: JobState, *, owner: str | None, detail: str,
                fields: dict[str, Any]) -> JobRecord:
    """`JobQueue.transition` inside the caller's write transaction."""
    now = time.time()
    updates: dict[str, Any] = {"state": to_state.value, "updated_at": now}
    for key, value in fields.items():
        if key in ("host_extra", "details"):
            updates[f"{key}_json"] = json.dumps(value or {}, sort_keys=True)
        elif key in ("actual_cost", "estimated_cost"):
            updates[key] = decimal_text(value)
        elif key == "has_audio":
            updates[key] = None if value is None else int(bool(value))
        else:
            updates[key] = value
    if to_state == JobState.SUBMITTED and "submitted_at" not in updates:
        updates["submitted_at"] = now
    if to_state in FINAL_STATES:
        updates.setdefault("finished_at", now)
        updates["lease_owner"] = None
        updates["lease_until"] = None
    row = conn.execute(
        select(jobs.c.state, jobs.c.batch_id, jobs.c.lease_owner).where(jobs.c.id == job_id).with_for_update()
    ).first()
    if row is None:
        raise KeyError(job_id)
    if owner is not None and row.lease_owner != owner:
        raise LeaseLost(job_id)
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(**updates))
    if row.state != to_state.value or detail:
        _add_event(conn, job_id, row.batch_id, now, row.state, to_state.value, detail)
    job = fetch_job(conn, job_id)
    assert job is not None
    return job


def _add_event(conn: Connection, job_id: str, batch_id: str, at: float, from_state: str | None, to_state: str,
               detail: str) -> None:
    conn.execute(insert(events).values(job_id=job_id, batch_id=batch_id, at=at, from_state=from_state,
                                       to_state=to_state, detail=detail))
